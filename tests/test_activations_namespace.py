"""keras.activations: functions on NumPy input, names, serialization."""
import numpy as np
import pytest

import neuropil as keras
from neuropil import activations

Z = np.linspace(-4, 4, 17)


@pytest.mark.parametrize("name, reference", [
    ("relu", lambda z: np.maximum(z, 0)),
    ("relu6", lambda z: np.clip(z, 0, 6)),
    ("sigmoid", lambda z: 1 / (1 + np.exp(-z))),
    ("tanh", np.tanh),
    ("softplus", lambda z: np.log1p(np.exp(z))),
    ("softsign", lambda z: z / (1 + np.abs(z))),
    ("elu", lambda z: np.where(z > 0, z, np.expm1(z))),
    ("selu", lambda z: 1.0507009873554805 * np.where(z > 0, z, 1.6732632423543772 * np.expm1(z))),
    ("silu", lambda z: z / (1 + np.exp(-z))),
    ("swish", lambda z: z / (1 + np.exp(-z))),
    ("exponential", np.exp),
    ("hard_sigmoid", lambda z: np.clip(z / 6 + 0.5, 0, 1)),
    ("linear", lambda z: z),
    ("gelu", lambda z: 0.5 * z * (1 + np.vectorize(__import__("math").erf)(z / np.sqrt(2)))),
])
def test_activation_matches_formula(name, reference):
    np.testing.assert_allclose(np.asarray(activations.get(name)(Z)), reference(Z),
                               rtol=1e-6, atol=1e-7)


def test_leaky_relu_keras_default_slope_is_0_2_for_the_function():
    np.testing.assert_allclose(np.asarray(activations.leaky_relu(np.array([-1.0]))), [-0.2])


def test_gelu_tanh_approximation():
    approx = np.asarray(activations.gelu(Z, approximate=True))
    expected = 0.5 * Z * (1 + np.tanh(np.sqrt(2 / np.pi) * (Z + 0.044715 * Z ** 3)))
    np.testing.assert_allclose(approx, expected, rtol=1e-6, atol=1e-7)


def test_softmax_on_numpy_matrix():
    out = np.asarray(activations.softmax(np.array([[1.0, 1.0], [0.0, 1000.0]])))
    np.testing.assert_allclose(out, [[0.5, 0.5], [0.0, 1.0]], atol=1e-12)


def test_serialize_and_get_round_trip():
    for name in ("relu", "sigmoid", "softmax", "tanh", "linear", "leaky_relu"):
        assert activations.serialize(activations.get(name)) == name
    assert activations.get(None) is activations.linear
    assert activations.get(keras.activations.relu) is keras.activations.relu


def test_unknown_activation_lists_valid_names():
    with pytest.raises(ValueError, match="Unknown activation.*sigmoid"):
        activations.get("sigmoidd")
