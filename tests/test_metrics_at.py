"""Keras 3's "one rate at a target of another" metrics: SensitivityAtSpecificity,
SpecificityAtSensitivity, PrecisionAtRecall, RecallAtPrecision.

Hand-worked values (Keras's documented examples, worked out below by hand), a brute-force
reference on random data (an explicit comparison at every threshold, then the constrained
maximum), thresholds, class_id, state, argument checks, configs, get / deserialize, and a
compile + save / load round trip.
"""
import json

import numpy as np
import pytest

import neuropil as keras
from neuropil import layers, metrics

Y_TRUE = [0, 0, 0, 1, 1]
DEFAULT_NAMES = {"SensitivityAtSpecificity": "sensitivity_at_specificity",
                 "SpecificityAtSensitivity": "specificity_at_sensitivity",
                 "PrecisionAtRecall": "precision_at_recall",
                 "RecallAtPrecision": "recall_at_precision"}
Y_PRED = [0, 0.3, 0.8, 0.3, 0.8]


def brute_force(kind, target, y_true, y_pred, n=200, weight=None, class_id=None):
    """Keras's definition spelled out: thresholds 0, 1/(n-1), ..., 1; positive above."""
    y_true, y_pred = np.asarray(y_true, float), np.clip(np.asarray(y_pred, float), 0, 1)
    w = np.ones_like(y_pred) if weight is None else \
        np.broadcast_to(np.asarray(weight, float).reshape(
            np.shape(weight) + (1,) * (y_pred.ndim - np.ndim(weight))), y_pred.shape)
    if class_id is not None:
        y_true, y_pred, w = y_true[:, class_id], y_pred[:, class_id], w[:, class_id]
    y_true, y_pred, w = (np.ravel(a) for a in (y_true, y_pred, w))
    thresholds = [0.5] if n == 1 else [i / (n - 1) for i in range(n)]
    best = 0.0
    for t in thresholds:
        above, positive = y_pred > t, y_true != 0
        tp, fp = w[above & positive].sum(), w[above & ~positive].sum()
        fn, tn = w[~above & positive].sum(), w[~above & ~positive].sum()
        rate = {"sensitivity": tp / (tp + fn) if tp + fn else 0.0,
                "specificity": tn / (tn + fp) if tn + fp else 0.0,
                "precision": tp / (tp + fp) if tp + fp else 0.0}
        constrained, maximized = {"SensitivityAtSpecificity": ("specificity", "sensitivity"),
                                  "SpecificityAtSensitivity": ("sensitivity", "specificity"),
                                  "PrecisionAtRecall": ("sensitivity", "precision"),
                                  "RecallAtPrecision": ("precision", "sensitivity")}[kind]
        if rate[constrained] >= target:
            best = max(best, rate[maximized])
    return best


# ---- hand-worked values ---------------------------------------------------------------
# Y_PRED against Y_TRUE: a threshold below 0.3 calls 4 samples positive (TP 2, FP 2, TN 1,
# FN 0); between 0.3 and 0.8 it calls 2 positive (TP 1, FP 1, TN 2, FN 1); from 0.8 on none
# (TP 0, FP 0, TN 3, FN 2). Rates (sensitivity, specificity, precision) per band:
# (1, 1/3, 1/2), (1/2, 2/3, 1/2), (0, 1, 0).
@pytest.mark.parametrize("cls, target, weight, expected", [
    # specificity >= 0.5 only in the middle and top bands: best sensitivity 1/2
    (metrics.SensitivityAtSpecificity, 0.5, None, 0.5),
    # weights [1, 1, 2, 2, 1]: middle band TP 1, FN 2, TN 2, FP 2: sens 1/3 at spec 1/2
    (metrics.SensitivityAtSpecificity, 0.5, [1, 1, 2, 2, 1], 1 / 3),
    # sensitivity >= 0.5 in the low and middle bands: best specificity 2/3
    (metrics.SpecificityAtSensitivity, 0.5, None, 2 / 3),
    # weights [1, 1, 2, 2, 2]: middle band TN 2, FP 2 -> 1/2 (TP 2, FN 2: sens 1/2)
    (metrics.SpecificityAtSensitivity, 0.5, [1, 1, 2, 2, 2], 0.5),
    # recall >= 0.5 in the low and middle bands, precision 1/2 in both
    (metrics.PrecisionAtRecall, 0.5, None, 0.5),
    # weights [2, 2, 2, 1, 1]: low band TP 2, FP 4 (1/3); middle TP 1, FP 2 (1/3)
    (metrics.PrecisionAtRecall, 0.5, [2, 2, 2, 1, 1], 1 / 3),
    # no band reaches precision 0.8 here: 0
    (metrics.RecallAtPrecision, 0.8, None, 0.0),
    # the top band has precision 0 (no positives called): only a reachable precision counts
    (metrics.RecallAtPrecision, 0.0, None, 1.0),
], ids=lambda v: getattr(v, "__name__", None))
def test_hand_worked_values(cls, target, weight, expected):
    metric = cls(target)
    metric.update_state(Y_TRUE, Y_PRED, sample_weight=weight)
    assert metric.result() == pytest.approx(expected, abs=1e-12)


def test_recall_at_precision_hand_worked():
    # labels [0, 0, 1, 1], scores [0, 0.5, 0.3, 0.9]: above 0.5 only the 0.9 positive is
    # called positive (precision 1, recall 1/2); between 0.3 and 0.5 precision is 1/2.
    metric = metrics.RecallAtPrecision(0.8)
    metric.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
    assert metric.result() == 0.5
    metric.reset_state()   # weight 0 on the 0.5 negative and the 0.3 positive: recall 1
    metric.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9], sample_weight=[1, 0, 0, 1])
    assert metric.result() == 1.0


@pytest.mark.parametrize("name", ["SensitivityAtSpecificity", "SpecificityAtSensitivity",
                                  "PrecisionAtRecall", "RecallAtPrecision"])
@pytest.mark.parametrize("n", [1, 2, 7, 200])
def test_matches_brute_force_on_random_data(name, n):
    rng = np.random.default_rng(n)
    for target in (0.0, 0.3, 0.7, 0.95, 1.0):
        metric = getattr(metrics, name)(target, num_thresholds=n)
        y_true, y_pred = rng.integers(0, 2, 60), rng.uniform(-0.2, 1.2, 60)
        weight = rng.uniform(0, 2, 60)
        metric.update_state(y_true[:25], y_pred[:25], sample_weight=weight[:25])
        metric.update_state(y_true[25:], y_pred[25:], sample_weight=weight[25:])
        assert metric.result() == pytest.approx(
            brute_force(name, target, y_true, y_pred, n, weight), abs=1e-12), target


def test_class_id_looks_at_one_column():
    rng = np.random.default_rng(3)
    y_true = np.eye(3)[rng.integers(0, 3, 40)]
    y_pred = rng.dirichlet(np.ones(3), 40)
    metric = metrics.PrecisionAtRecall(0.6, num_thresholds=50, class_id=1)
    metric.update_state(y_true, y_pred, sample_weight=np.arange(40) % 3)
    assert metric.result() == pytest.approx(
        brute_force("PrecisionAtRecall", 0.6, y_true, y_pred, 50, np.arange(40) % 3, 1))


def test_thresholds_state_and_reset():
    metric = metrics.SensitivityAtSpecificity(0.5, num_thresholds=5)
    assert metric.thresholds == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert metrics.SensitivityAtSpecificity(0.5, num_thresholds=1).thresholds == [0.5]
    assert [v.name for v in metric.variables] == [
        "true_positives", "false_positives", "true_negatives", "false_negatives"]
    metric.update_state(Y_TRUE, Y_PRED)
    # prediction 0.8 is above 0, 0.25, 0.5, 0.75; 0.3 above 0 and 0.25; 0 above none
    np.testing.assert_array_equal(metric.true_positives.numpy(), [2, 2, 1, 1, 0])
    np.testing.assert_array_equal(metric.true_negatives.numpy(), [1, 1, 2, 2, 3])
    metric.reset_state()
    assert all(not v.numpy().any() for v in metric.variables) and metric.result() == 0.0


def test_predictions_are_clipped_to_0_1():
    # 1.5 is clipped to 1, which is not above the threshold 1: as a prediction of 1.
    clipped, plain = (metrics.SpecificityAtSensitivity(0.0, num_thresholds=3)
                      for _ in range(2))
    clipped.update_state([1, 0, 0], [1.5, -0.5, 0.7])
    plain.update_state([1, 0, 0], [1.0, 0.0, 0.7])
    for a, b in zip(clipped.variables, plain.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("name, target", [
    ("SensitivityAtSpecificity", "specificity"), ("SpecificityAtSensitivity", "sensitivity"),
    ("PrecisionAtRecall", "recall"), ("RecallAtPrecision", "precision")])
def test_keras_signature_config_and_names(name, target):
    cls = getattr(metrics, name)
    metric = cls(0.25)
    assert metric.get_config() == {"name": DEFAULT_NAMES[name], "dtype": "float32",
                                   "class_id": None, "num_thresholds": 200, target: 0.25}
    assert getattr(metric, target) == 0.25 and metric._direction == "up"
    custom = cls(**{target: 0.7}, num_thresholds=11, class_id=2, name="mine")
    config = custom.get_config()
    assert config == {"name": "mine", "dtype": "float32", "class_id": 2, "num_thresholds": 11,
                      target: 0.7}
    assert cls.from_config(config).get_config() == config
    serialized = json.loads(json.dumps(metrics.serialize(custom)))
    assert serialized["module"] == "keras.metrics" and serialized["class_name"] == name
    for restored in (metrics.deserialize(serialized), metrics.get(serialized),
                     keras.saving.deserialize_keras_object(
                         keras.saving.serialize_keras_object(custom))):
        assert type(restored) is cls and restored.get_config() == config


@pytest.mark.parametrize("make, match", [
    (lambda: metrics.PrecisionAtRecall(1.5), r"`recall` must be in the range \[0, 1\]"),
    (lambda: metrics.RecallAtPrecision(-0.1), r"`precision` must be in the range"),
    (lambda: metrics.SensitivityAtSpecificity(2), r"`specificity` must be"),
    (lambda: metrics.SpecificityAtSensitivity(0.5, num_thresholds=0), "num_thresholds"),
    (lambda: metrics.SpecificityAtSensitivity(0.5, num_thresholds=2.5), "num_thresholds"),
])
def test_bad_arguments_are_refused_early(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_compile_fit_save_and_load(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 3)).astype("float32")
    y = (x[:, :1] > 0).astype("float32")
    model = keras.Sequential([keras.Input((3,)), layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy",
                  metrics=[metrics.PrecisionAtRecall(0.5), metrics.RecallAtPrecision(0.5),
                           metrics.SensitivityAtSpecificity(0.5, num_thresholds=50),
                           metrics.SpecificityAtSensitivity(0.5, name="spec")])
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    probs = model.predict(x, verbose=0)
    assert logs["precision_at_recall"] == pytest.approx(
        brute_force("PrecisionAtRecall", 0.5, y, probs), abs=1e-6)
    assert logs["spec"] == pytest.approx(
        brute_force("SpecificityAtSensitivity", 0.5, y, probs), abs=1e-6)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert loaded.evaluate(x, y, verbose=0, return_dict=True) == pytest.approx(logs)
