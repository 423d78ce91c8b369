"""keras.metrics: stateful accumulation over batches, Keras names, "accuracy" resolution."""
import numpy as np
import pytest

import neuropil as keras
from neuropil import layers, metrics


def test_accuracy_metrics_on_hand_examples():
    m = metrics.SparseCategoricalAccuracy()
    m.update_state([2, 0], [[0.1, 0.2, 0.7], [0.3, 0.6, 0.1]])
    assert float(m.result()) == pytest.approx(0.5)
    m = metrics.CategoricalAccuracy()
    m.update_state([[0, 0, 1], [1, 0, 0]], [[0.1, 0.2, 0.7], [0.8, 0.1, 0.1]])
    assert float(m.result()) == pytest.approx(1.0)
    m = metrics.BinaryAccuracy()
    m.update_state([[1], [0], [1]], [[0.7], [0.6], [0.2]])
    assert float(m.result()) == pytest.approx(1 / 3)
    m = metrics.Accuracy()
    m.update_state([1, 2, 3], [1, 2, 4])
    assert float(m.result()) == pytest.approx(2 / 3)


def test_state_accumulates_and_resets():
    m = metrics.MeanSquaredError()
    m.update_state([[0.0]], [[1.0]])
    m.update_state([[0.0], [0.0]], [[2.0], [0.0]])
    assert float(m.result()) == pytest.approx((1 + 4 + 0) / 3)
    m.reset_state()
    assert float(m.result()) == 0.0


def test_mean_absolute_error_and_rmse():
    y, p = np.array([[1.0, 2.0]]), np.array([[2.0, 4.0]])
    mae = metrics.MeanAbsoluteError()
    mae.update_state(y, p)
    assert float(mae.result()) == pytest.approx(1.5)
    rmse = metrics.RootMeanSquaredError()
    rmse.update_state(y, p)
    assert float(rmse.result()) == pytest.approx(np.sqrt(2.5))


def test_sample_weight():
    m = metrics.SparseCategoricalAccuracy()
    m.update_state([0, 1], [[0.9, 0.1], [0.9, 0.1]], sample_weight=[3.0, 1.0])
    assert float(m.result()) == pytest.approx(0.75)


def test_top_k():
    m = metrics.SparseTopKCategoricalAccuracy(k=2)
    m.update_state([2, 0], [[0.1, 0.5, 0.4], [0.1, 0.5, 0.4]])
    assert float(m.result()) == pytest.approx(0.5)


def test_names_and_get():
    assert metrics.SparseCategoricalAccuracy().name == "sparse_categorical_accuracy"
    assert isinstance(metrics.get("mae"), metrics.Metric) or callable(metrics.get("mae"))
    with pytest.raises(ValueError, match="Unknown metric"):
        metrics.get("acuracy")


@pytest.mark.parametrize("loss, units, activation, y, expected", [
    ("sparse_categorical_crossentropy", 3, "softmax", np.array([0, 1, 2, 1]),
     "SparseCategoricalAccuracy"),
    ("categorical_crossentropy", 3, "softmax", np.eye(3)[[0, 1, 2, 1]], "CategoricalAccuracy"),
    ("binary_crossentropy", 1, "sigmoid", np.array([[0.0], [1.0], [1.0], [0.0]]),
     "BinaryAccuracy"),
])
def test_accuracy_string_resolves_from_the_loss_like_keras(loss, units, activation, y, expected):
    model = keras.Sequential([keras.Input((2,)), layers.Dense(units, activation=activation)])
    model.compile("sgd", loss, metrics=["accuracy"])
    history = model.fit(np.ones((4, 2), "float32"), y, verbose=0)
    assert "accuracy" in history.history
    resolved = [type(getattr(m, "_fn", m)).__name__ for m in model.metrics]
    names = [m.name for m in model.metrics]
    assert "accuracy" in names
    evaluated = model.evaluate(np.ones((4, 2), "float32"), y, verbose=0, return_dict=True)
    predictions = model.predict(np.ones((4, 2), "float32"), verbose=0)
    if expected == "BinaryAccuracy":
        manual = np.mean((predictions > 0.5) == (y > 0.5))
    elif expected == "CategoricalAccuracy":
        manual = np.mean(predictions.argmax(1) == y.argmax(1))
    else:
        manual = np.mean(predictions.argmax(1) == y)
    assert evaluated["accuracy"] == pytest.approx(manual), resolved
