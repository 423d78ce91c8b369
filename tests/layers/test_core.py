"""Dense, Activation, InputLayer/Input: shapes, weights, config round trip and errors."""
import numpy as np
import pytest

import neuropil as keras
from neuropil import layers


def test_dense_computes_activation_of_xw_plus_b():
    dense = layers.Dense(2, activation="relu")
    dense.build((None, 3))
    kernel = np.array([[1.0, -1.0], [2.0, 0.5], [-1.0, 1.0]], "float32")
    bias = np.array([0.5, -3.0], "float32")
    dense.set_weights([kernel, bias])
    x = np.array([[1.0, 2.0, 3.0]], "float32")
    np.testing.assert_allclose(np.asarray(dense(x)), np.maximum(x @ kernel + bias, 0))


def test_dense_weight_count_is_inputs_plus_one_times_units():
    dense = layers.Dense(4)
    dense.build((None, 7))
    assert dense.count_params() == (7 + 1) * 4
    assert [w.shape for w in dense.weights] == [(7, 4), (4,)]
    no_bias = layers.Dense(4, use_bias=False)
    no_bias.build((None, 7))
    assert no_bias.count_params() == 28 and len(no_bias.weights) == 1


def test_dense_applies_to_the_last_axis_of_nd_input():
    out = layers.Dense(5)(np.ones((2, 3, 4), "float32"))
    assert out.shape == (2, 3, 5)


def test_dense_defaults_follow_keras():
    dense = layers.Dense(3)
    config = dense.get_config()
    assert config["activation"] == "linear" and config["use_bias"] is True
    assert config["kernel_initializer"]["class_name"] == "GlorotUniform"
    assert config["bias_initializer"]["class_name"] == "Zeros"
    assert dense.dtype == "float32"


def test_dense_config_round_trip_rebuilds_an_equal_layer():
    dense = layers.Dense(3, activation="tanh", use_bias=False, name="hidden",
                         kernel_initializer="he_normal",
                         kernel_regularizer=keras.regularizers.L2(0.1))
    clone = layers.Dense.from_config(dense.get_config())
    assert clone.get_config() == dense.get_config()
    assert clone.name == "hidden" and clone.units == 3


def test_dense_initializers_by_name_and_object():
    dense = layers.Dense(3, kernel_initializer=keras.initializers.Constant(0.5),
                         bias_initializer="ones")
    dense.build((None, 2))
    kernel, bias = dense.get_weights()
    assert np.all(kernel == 0.5) and np.all(bias == 1)


@pytest.mark.parametrize("units", [0, -3, 2.5, "10"])
def test_dense_rejects_bad_units(units):
    with pytest.raises(ValueError, match="units"):
        layers.Dense(units)


def test_dense_wrong_input_width_names_layer_and_shapes():
    dense = layers.Dense(3, name="d1")
    dense.build((None, 4))
    with pytest.raises(ValueError, match=r'"d1".*4.*\(2, 5\)'):
        dense(np.ones((2, 5), "float32"))


def test_unknown_activation_lists_valid_names():
    with pytest.raises(ValueError, match="Did you mean 'relu'.*sigmoid"):
        layers.Dense(2, activation="rleu")


@pytest.mark.parametrize("name, expected", [
    ("linear", lambda z: z),
    ("sigmoid", lambda z: 1 / (1 + np.exp(-z))),
    ("tanh", np.tanh),
    ("relu", lambda z: np.maximum(z, 0)),
])
def test_activation_layer(name, expected):
    z = np.array([[-2.0, -0.5, 0.0, 1.5]], "float32")
    np.testing.assert_allclose(np.asarray(layers.Activation(name)(z)), expected(z), rtol=1e-6)


def test_activation_layer_accepts_a_callable():
    layer = layers.Activation(keras.activations.relu)
    assert layer.get_config()["activation"] == "relu"
    np.testing.assert_array_equal(np.asarray(layer(np.array([-1.0, 2.0], "float32"))), [0, 2])


def test_input_makes_a_symbolic_tensor_with_batch_dimension():
    x = keras.Input(shape=(28, 28, 1), name="image")
    assert x.shape == (None, 28, 28, 1) and x.dtype == "float32"
    y = keras.Input(shape=(3,), batch_size=8, dtype="int32")
    assert y.shape == (8, 3) and y.dtype == "int32"


def test_input_layer_in_sequential_sets_the_input_shape():
    model = keras.Sequential([layers.InputLayer(shape=(5,)), layers.Dense(2)])
    assert model.built and model.count_params() == 12
