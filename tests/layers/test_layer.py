"""The Layer base: build once, add_weight, trainable, weights API, custom layers."""
import numpy as np
import pytest

import neuropil as keras
from neuropil import layers, ops


class Scale(keras.layers.Layer):
    """A learner's custom layer: y = x * w, one weight per feature."""

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="w")

    def call(self, inputs):
        return inputs * self.w


def test_custom_layer_builds_on_first_call_and_trains():
    layer = Scale()
    assert not layer.built
    out = layer(np.array([[1.0, 2.0]], "float32"))
    assert layer.built and out.shape == (1, 2)
    model = keras.Sequential([keras.Input((2,)), layer])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    x = np.ones((8, 2), "float32")
    model.fit(x, 3 * x, epochs=60, verbose=0)  # mse averages features: w -= 0.1·(w-3)
    np.testing.assert_allclose(layer.get_weights()[0], [3, 3], atol=0.05)


def test_layer_names_are_unique_snake_case():
    a, b = layers.Dense(1), layers.Dense(1)
    assert a.name != b.name and a.name.startswith("dense")
    assert Scale().name.startswith("scale")


def test_trainable_false_moves_weights_to_non_trainable():
    dense = layers.Dense(3)
    dense.build((None, 2))
    dense.trainable = False
    assert dense.trainable_weights == [] and len(dense.non_trainable_weights) == 2


def test_frozen_layer_does_not_change_in_fit():
    model = keras.Sequential([keras.Input((4,)), layers.Dense(3, name="frozen"), layers.Dense(1)])
    model.get_layer("frozen").trainable = False
    model.compile("sgd", "mse")
    before = model.get_layer("frozen").get_weights()
    after_last = model.layers[-1].get_weights()
    model.fit(np.ones((8, 4), "float32"), np.ones((8, 1), "float32"), epochs=2, verbose=0)
    for w0, w1 in zip(before, model.get_layer("frozen").get_weights()):
        np.testing.assert_array_equal(w0, w1)
    assert not np.allclose(after_last[0], model.layers[-1].get_weights()[0])


def test_set_weights_checks_count_and_shapes():
    dense = layers.Dense(3, name="d")
    dense.build((None, 2))
    with pytest.raises(ValueError, match="2"):
        dense.set_weights([np.zeros((2, 3))])
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(3, 3\)|\(3, 3\).*\(2, 3\)"):
        dense.set_weights([np.zeros((3, 3)), np.zeros(3)])


def test_get_weights_returns_copies():
    dense = layers.Dense(2)
    dense.build((None, 2))
    kernel = dense.get_weights()[0]
    kernel[:] = 99
    assert not np.any(dense.get_weights()[0] == 99)


def test_weights_are_variables_with_keras_paths():
    dense = layers.Dense(2, name="hidden")
    dense.build((None, 3))
    kernel, bias = dense.weights
    assert isinstance(kernel, keras.Variable)
    assert kernel.path == "hidden/kernel" and bias.path == "hidden/bias"
    assert kernel.dtype == "float32"


def test_layers_accept_input_shape_keyword():
    model = keras.Sequential([layers.Dense(4, input_shape=(7,)), layers.Dense(3), layers.Dense(1)])
    assert model.built and model.count_params() == 51


def test_call_casts_float64_input_to_float32():
    out = layers.Dense(2)(np.array([[1.0, 2.0, 3.0]]))
    assert out.shape == (1, 2) and out.dtype == np.float32


def test_ops_compose_inside_call():
    class Square(keras.layers.Layer):
        def call(self, inputs):
            return ops.square(inputs)

    np.testing.assert_array_equal(np.asarray(Square()(np.array([2.0, -3.0], "float32"))), [4, 9])


def test_creating_a_weight_in_call_says_where_to_move_it():
    class Sloppy(keras.layers.Layer):
        def call(self, inputs):
            w = self.add_weight(shape=(inputs.shape[-1],), initializer="ones", name="w")
            return inputs * w

    with pytest.raises(ValueError, match=r'"sloppy.*".*create a weight w in call\(\).*build'):
        Sloppy()(np.ones((2, 3), "float32"))
