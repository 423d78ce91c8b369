"""The lecture's worked examples, checkable by hand."""
import math

import numpy as np
import pytest

import neuropil as keras
from neuropil import layers


def test_neuron_is_activation_of_w_dot_x_plus_b():
    neuron = layers.Dense(1, activation="sigmoid")
    neuron.build((None, 3))
    neuron.set_weights([np.array([[0.5], [-1.0], [2.0]], "float32"), np.array([0.1], "float32")])
    x = np.array([[1.0, 2.0, 0.5]], "float32")
    z = 0.5 * 1.0 - 1.0 * 2.0 + 2.0 * 0.5 + 0.1  # w·x + b = -0.4
    assert float(np.asarray(neuron(x))[0, 0]) == pytest.approx(1 / (1 + math.exp(-z)), rel=1e-6)


def test_four_input_forward_pass_by_hand():
    """x = (0, 1, 2, 3) -> ReLU layer (2, 10, 6) -> ReLU layer (0, 0) -> sigmoid(-1) = 0.269."""
    model = keras.Sequential([
        keras.Input((4,)),
        layers.Dense(3, activation="relu", name="hidden1"),
        layers.Dense(2, activation="relu", name="hidden2"),
        layers.Dense(1, activation="sigmoid", name="output"),
    ])
    w1 = np.array([[0, 0, 0], [2, 0, 0], [0, 2, 0], [0, 2, 2]], "float32")
    w2 = np.array([[-1, 0], [0, -1], [-1, -1]], "float32")
    w3 = np.array([[3], [5]], "float32")
    model.set_weights([w1, np.zeros(3, "float32"), w2, np.zeros(2, "float32"),
                       w3, np.array([-1], "float32")])
    x = np.array([[0, 1, 2, 3]], "float32")

    hidden1 = keras.Model(model.inputs, model.get_layer("hidden1").output).predict(x, verbose=0)
    hidden2 = keras.Model(model.inputs, model.get_layer("hidden2").output).predict(x, verbose=0)
    np.testing.assert_array_equal(hidden1, [[2, 10, 6]])
    np.testing.assert_array_equal(hidden2, [[0, 0]])  # (-8, -16) cut off by ReLU
    assert float(model.predict(x, verbose=0)[0, 0]) == pytest.approx(0.2689414, abs=1e-6)


def test_weight_counts_7_4_3_1():
    model = keras.Sequential([keras.Input((7,)), layers.Dense(4), layers.Dense(3),
                              layers.Dense(1)])
    # (inputs + 1) x neurons per layer
    assert [layer.count_params() for layer in model.layers] == [(7 + 1) * 4, (4 + 1) * 3,
                                                                (3 + 1) * 1]
    assert [layer.count_params() for layer in model.layers] == [32, 15, 4]
    assert model.count_params() == 51


@pytest.mark.parametrize("name, z, expected", [
    ("linear", [-2.0, 3.0], [-2.0, 3.0]),
    ("sigmoid", [0.0, -1.0], [0.5, 0.26894142]),
    ("tanh", [0.0, 1.0], [0.0, 0.76159416]),
    ("relu", [-2.0, 3.0], [0.0, 3.0]),
    ("softmax", [1.0, 2.0, 3.0], [0.09003057, 0.24472847, 0.66524096]),
])
def test_activation_functions_on_numbers(name, z, expected):
    function = keras.activations.get(name)
    np.testing.assert_allclose(np.asarray(function(np.array([z]))), [expected], rtol=1e-6)


def test_leaky_relu_with_the_course_slope():
    out = keras.activations.leaky_relu(np.array([-10.0, 5.0]), negative_slope=0.01)
    np.testing.assert_allclose(np.asarray(out), [-0.1, 5.0])


def test_one_hot_and_categorical_cross_entropy():
    one_hot = keras.utils.to_categorical([2, 0, 1], num_classes=3)
    np.testing.assert_array_equal(one_hot, [[0, 0, 1], [1, 0, 0], [0, 1, 0]])
    prediction = np.array([[0.1, 0.2, 0.7]], "float32")
    loss = keras.losses.CategoricalCrossentropy()(one_hot[:1], prediction)
    assert float(loss) == pytest.approx(-math.log(0.7), rel=1e-6)


def test_one_gradient_descent_step_by_hand():
    """w <- w - learning_rate * dL/dw for L = (w·x + b - y)^2 on one sample."""
    model = keras.Sequential([keras.Input((2,)), layers.Dense(1)])
    model.set_weights([np.array([[1.0], [2.0]], "float32"), np.array([0.5], "float32")])
    model.compile(keras.optimizers.SGD(learning_rate=0.1), "mse")
    x, y = np.array([[1.0, -1.0]], "float32"), np.array([[1.0]], "float32")
    # prediction 1 - 2 + 0.5 = -0.5, error -1.5, dL/dw = 2 * -1.5 * x = (-3, 3), dL/db = -3
    model.train_on_batch(x, y)
    kernel, bias = model.get_weights()
    np.testing.assert_allclose(kernel.ravel(), [1.3, 1.7], rtol=1e-6)
    np.testing.assert_allclose(bias, [0.8], rtol=1e-6)
