"""Functional models: enough of the graph API to read activations and build small nets."""
import numpy as np
import pytest

import neuropil as keras
from neuropil import layers


def test_functional_model_runs_the_graph():
    inputs = keras.Input((4,), name="x")
    hidden = layers.Dense(8, activation="relu")(inputs)
    outputs = layers.Dense(2, activation="softmax")(hidden)
    model = keras.Model(inputs=inputs, outputs=outputs, name="clf")
    assert model.name == "clf" and model.count_params() == 40 + 18
    out = model.predict(np.ones((3, 4), "float32"), verbose=0)
    assert out.shape == (3, 2)
    np.testing.assert_allclose(out.sum(axis=1), 1, rtol=1e-6)


def test_symbolic_tensors_carry_shape_and_history():
    inputs = keras.Input((10,))
    hidden = layers.Dense(5)(inputs)
    assert isinstance(hidden, keras.KerasTensor) and hidden.shape == (None, 5)
    layer = hidden._keras_history[0]
    assert layer.input is inputs and layer.output is hidden


def test_functional_model_trains():
    inputs = keras.Input((2,))
    outputs = layers.Dense(1)(layers.Dense(8, activation="tanh")(inputs))
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.Adam(0.05), "mse")
    x = np.random.default_rng(0).uniform(-1, 1, (64, 2)).astype("float32")
    y = (x[:, :1] * x[:, 1:]).astype("float32")
    history = model.fit(x, y, epochs=30, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0] / 2


def test_disconnected_graph_is_a_clear_error():
    a, b = keras.Input((3,)), keras.Input((3,))
    out = layers.Dense(1)(b)
    with pytest.raises(ValueError, match="isconnected|not connected"):
        keras.Model(a, out)


def test_model_used_as_a_layer():
    inner = keras.Sequential([keras.Input((4,)), layers.Dense(3)])
    inputs = keras.Input((4,))
    outer = keras.Model(inputs, layers.Dense(1)(inner(inputs)))
    assert outer.count_params() == 15 + 4
    assert outer.predict(np.ones((2, 4), "float32"), verbose=0).shape == (2, 1)
