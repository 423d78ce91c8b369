"""gradient_check(model, x, y): every weight against float64 central differences."""
import numpy as np
import pytest

import neuropil as keras
from neuropil import layers
from neuropil.autodiff import Op
from neuropil.explain import ModelGradientCheck, gradient_check


class WrongSquare(Op):
    """x² with a deliberately wrong backward (x instead of 2x)."""

    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, grad):
        return (grad * self.x,)


class SquareScale(layers.Layer):
    """A custom layer: (x · w)², through the wrong op."""

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="w")

    def call(self, x):
        return WrongSquare()(x * self.w)


def small_cnn():
    keras.utils.set_random_seed(3)
    model = keras.Sequential([
        keras.Input((6, 6, 1)),
        layers.Conv2D(2, 3, activation="tanh", kernel_regularizer="l2", name="conv"),
        layers.BatchNormalization(name="bn"),
        layers.MaxPooling2D(name="pool"),
        layers.Flatten(),
        layers.Dense(3, activation="softmax", name="out"),
    ])
    model.compile("adam", "sparse_categorical_crossentropy")
    return model


def test_a_correct_model_passes_and_is_left_as_it_was():
    model = small_cnn()
    arrays = [w.data for w in model.weights]
    before = model.get_weights()
    x = np.random.default_rng(0).uniform(size=(4, 6, 6, 1))
    result = gradient_check(model, x, np.array([0, 1, 2, 1]))
    assert isinstance(result, ModelGradientCheck)
    assert result.ok, str(result)
    assert set(result.by_layer) == {"conv", "bn", "out"}
    assert max(worst for worst, _ in result.by_layer.values()) < 1e-6
    assert "passed" in str(result) and "worst relative error" in str(result)
    assert all(w.data is a for w, a in zip(model.weights, arrays))
    assert all(w.dtype == np.float32 and w.grad is None for w in model.weights)
    assert all(layer.dtype == "float32" for layer in model.layers)
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)


def test_a_wrong_op_inside_a_custom_layer_is_flagged():
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((3,)), layers.Dense(4, activation="tanh", name="d1"),
                              SquareScale(name="square"), layers.Dense(1, name="d2")])
    model.compile("sgd", "mse")
    rng = np.random.default_rng(0)
    result = gradient_check(model, rng.uniform(size=(5, 3)), rng.uniform(size=(5, 1)))
    assert not result.ok
    verdicts = {layer: ok for layer, (_, ok) in result.by_layer.items()}
    assert verdicts == {"d1": False, "square": False, "d2": True}  # wrong below the bad op
    worst, _ = result.by_layer["square"]
    assert worst == pytest.approx(0.5, rel=1e-4)  # x instead of 2x: half the true gradient
    text = str(result)
    assert "FAILED" in text and "WRONG" in text and "square/w" in text


def test_max_checks_samples_large_weights():
    model = small_cnn()
    x = np.random.default_rng(1).uniform(size=(2, 6, 6, 1))
    result = gradient_check(model, x, np.array([0, 2]), max_checks=5)
    kernel = next(w for w in result.weights if w.layer == "out" and w.name == "kernel")
    assert kernel.checked == 5 and kernel.shape == (8, 3)


def test_options_for_models_only():
    with pytest.raises(TypeError, match="max_checks"):
        gradient_check(lambda t: t * t, [1.0], max_checks=3)
