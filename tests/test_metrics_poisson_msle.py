"""keras.metrics.Poisson and keras.metrics.MeanSquaredLogarithmicError (and their functions
poisson, mean_squared_logarithmic_error): hand-worked values, agreement with the losses of
the same name, sample weights, names, configs, identifiers, saving and compile."""
import json
import math

import numpy as np
import pytest

import neuropil as keras
from neuropil import layers, metrics

Y_TRUE = [[0.0, 1.0], [0.0, 0.0]]
Y_PRED = [[1.0, 1.0], [0.0, 0.0]]
EPS = 1e-7


def test_poisson_hand_worked():
    # row 1: mean(1 - 0·log(1 + eps), 1 - 1·log(1 + eps)) = 1 - log(1 + eps) / 2 ≈ 1
    # row 2: mean(0 - 0, 0 - 0) = 0; the metric is the mean of the rows.
    row_1 = 1 - math.log(1 + EPS) / 2
    np.testing.assert_allclose(metrics.poisson(Y_TRUE, Y_PRED), [row_1, 0.0], rtol=1e-12)
    metric = metrics.Poisson()
    metric.update_state(Y_TRUE, Y_PRED)
    assert metric.result() == pytest.approx(row_1 / 2, rel=1e-12)   # Keras: 0.49999997
    metric.reset_state()
    metric.update_state(Y_TRUE, Y_PRED, sample_weight=[1, 0])
    assert metric.result() == pytest.approx(row_1, rel=1e-12)        # Keras: 0.99999994


def test_msle_hand_worked():
    # row 1: mean((log 2 - log(1 + eps))², (log 2 - log 2)²) ≈ (log 2)² / 2; row 2: 0
    row_1 = (math.log(2) - math.log1p(EPS)) ** 2 / 2
    np.testing.assert_allclose(metrics.mean_squared_logarithmic_error(Y_TRUE, Y_PRED),
                               [row_1, 0.0], rtol=1e-12)
    metric = metrics.MeanSquaredLogarithmicError()
    metric.update_state(Y_TRUE, Y_PRED)
    assert metric.result() == pytest.approx(row_1 / 2, rel=1e-12)   # Keras: 0.12011322
    metric.reset_state()
    metric.update_state(Y_TRUE, Y_PRED, sample_weight=[1, 0])
    assert metric.result() == pytest.approx(row_1, rel=1e-12)        # Keras: 0.24022643


def test_msle_floors_negative_values_at_epsilon():
    # -3 counts as eps, as Keras's max(x, eps): log(1 + eps) against log(1 + 1)
    value = metrics.mean_squared_logarithmic_error([[1.0]], [[-3.0]])
    assert value[0] == pytest.approx((math.log1p(EPS) - math.log(2)) ** 2, rel=1e-12)


@pytest.mark.parametrize("metric_cls, loss_cls", [
    (metrics.Poisson, keras.losses.Poisson),
    (metrics.MeanSquaredLogarithmicError, keras.losses.MeanSquaredLogarithmicError)])
def test_equals_the_loss_over_batches(metric_cls, loss_cls):
    rng = np.random.default_rng(0)
    y_true = rng.poisson(2.0, size=(12, 3)).astype("float32")
    y_pred = rng.uniform(0.1, 4.0, size=(12, 3)).astype("float32")
    weight = rng.uniform(0.0, 2.0, size=12).astype("float32")
    metric = metric_cls()
    metric.update_state(y_true[:5], y_pred[:5], sample_weight=weight[:5])
    metric.update_state(y_true[5:], y_pred[5:], sample_weight=weight[5:])
    loss = loss_cls(reduction="sum")(y_true, y_pred, sample_weight=weight)
    assert metric.result() == pytest.approx(float(loss.numpy()) / weight.sum(), rel=1e-5)


def test_rank_one_labels_against_a_column_of_predictions():
    value = metrics.poisson([1.0, 2.0], [[1.0], [2.0]])
    np.testing.assert_allclose(value, [1 - math.log(1 + EPS), 2 - 2 * math.log(2 + EPS)])


@pytest.mark.parametrize("cls, name", [(metrics.Poisson, "poisson"),
                                       (metrics.MeanSquaredLogarithmicError,
                                        "mean_squared_logarithmic_error")])
def test_names_config_direction_and_saving(cls, name):
    metric = cls()
    assert metric.name == name and metric._direction == "down"
    assert metric.get_config() == {"name": name, "dtype": "float32"}
    custom = cls(name="mine")
    config = json.loads(json.dumps(metrics.serialize(custom)))
    assert config["module"] == "keras.metrics" and config["class_name"] == cls.__name__
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(custom))
    assert type(restored) is cls and restored.name == "mine"
    assert type(metrics.deserialize(config)) is cls


@pytest.mark.parametrize("identifier, cls", [
    ("poisson", metrics.Poisson), ("Poisson", metrics.Poisson),
    ("msle", metrics.MeanSquaredLogarithmicError), ("MSLE", metrics.MeanSquaredLogarithmicError),
    ("mean_squared_logarithmic_error", metrics.MeanSquaredLogarithmicError),
    ("MeanSquaredLogarithmicError", metrics.MeanSquaredLogarithmicError),
    ("bce", metrics.BinaryCrossentropy), ("BCE", metrics.BinaryCrossentropy)])
def test_string_identifiers(identifier, cls):
    assert type(metrics.get(identifier)) is cls


@pytest.mark.parametrize("fn", [metrics.poisson, metrics.mean_squared_logarithmic_error])
def test_functions_serialize_by_name(fn):
    config = keras.saving.serialize_keras_object(fn)
    assert config == {"module": "keras.metrics", "class_name": "function",
                      "config": fn.__name__, "registered_name": fn.__name__}
    assert keras.saving.deserialize_keras_object(config) is fn


def test_compile_evaluate_save_load(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(16, 2)).astype("float32")
    y = rng.poisson(1.5, size=(16, 1)).astype("float32")
    model = keras.Sequential([keras.Input((2,)), layers.Dense(1, activation="softplus")])
    model.compile("sgd", "poisson", metrics=[metrics.Poisson(), "msle"])
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    probs = model.predict(x, verbose=0)
    assert logs["poisson"] == pytest.approx(float(np.mean(metrics.poisson(y, probs))), rel=1e-5)
    assert logs["msle"] == pytest.approx(  # a string metric logs under that string
        float(np.mean(metrics.mean_squared_logarithmic_error(y, probs))), rel=1e-5)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert loaded.evaluate(x, y, verbose=0, return_dict=True) == pytest.approx(logs)
