"""ReLU, LeakyReLU, Softmax and ELU layers follow Keras's arguments and defaults."""
import numpy as np
import pytest

import neuropil as keras
from neuropil import layers

Z = np.array([[-3.0, -1.0, 0.0, 0.5, 2.0, 8.0]], "float32")


def run(layer, z=Z):
    return np.asarray(layer(z))


def test_relu_plain_and_with_arguments():
    np.testing.assert_allclose(run(layers.ReLU()), np.maximum(Z, 0))
    np.testing.assert_allclose(run(layers.ReLU(max_value=6.0)), np.clip(Z, 0, 6))
    np.testing.assert_allclose(run(layers.ReLU(negative_slope=0.1)), np.where(Z > 0, Z, 0.1 * Z))
    # Keras: f(x) = x for x >= threshold, negative_slope * (x - threshold) otherwise
    np.testing.assert_allclose(run(layers.ReLU(threshold=1.0)), np.where(Z >= 1, Z, 0))


def test_leaky_relu_default_slope_is_keras_0_3():
    assert layers.LeakyReLU().negative_slope == pytest.approx(0.3)
    np.testing.assert_allclose(run(layers.LeakyReLU()), np.where(Z > 0, Z, 0.3 * Z), rtol=1e-6)


def test_leaky_relu_course_slope_and_legacy_alpha():
    np.testing.assert_allclose(run(layers.LeakyReLU(negative_slope=0.01)),
                               np.where(Z > 0, Z, 0.01 * Z), rtol=1e-6)
    with pytest.warns(UserWarning, match="alpha"):
        layer = layers.LeakyReLU(alpha=0.01)
    assert layer.negative_slope == pytest.approx(0.01)


def test_leaky_relu_rejects_negative_slope_below_zero():
    with pytest.raises(ValueError, match="negative_slope"):
        layers.LeakyReLU(negative_slope=-1)


def test_softmax_rows_sum_to_one_and_is_stable():
    out = run(layers.Softmax(), np.array([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0]], "float32"))
    np.testing.assert_allclose(out.sum(axis=-1), 1, rtol=1e-6)
    np.testing.assert_allclose(out[0], [1, 0, 0], atol=1e-7)
    e = np.exp([1.0, 2.0, 3.0])
    np.testing.assert_allclose(out[1], e / e.sum(), rtol=1e-6)


def test_softmax_axis():
    z = np.random.default_rng(0).standard_normal((2, 3, 4)).astype("float32")
    np.testing.assert_allclose(run(layers.Softmax(axis=1), z).sum(axis=1), 1, rtol=1e-6)


def test_elu_layer():
    np.testing.assert_allclose(run(layers.ELU(alpha=0.5)), np.where(Z > 0, Z, 0.5 * np.expm1(Z)),
                               rtol=1e-6)


@pytest.mark.parametrize("layer", [layers.ReLU(max_value=6.0), layers.LeakyReLU(0.2),
                                   layers.Softmax(axis=1), layers.ELU(0.7)])
def test_config_round_trip(layer):
    assert type(layer).from_config(layer.get_config()).get_config() == layer.get_config()


def test_relu_edge_cases_match_keras():
    """Keras: x kept only strictly above the threshold, then clipped to [0, max_value]."""
    z = np.array([[-0.5, 1.0, 7.0]], "float32")
    np.testing.assert_allclose(run(layers.ReLU(threshold=1.0), z), [[0, 0, 7]])
    # The layer rejects a negative threshold (as Keras's does); the function accepts it.
    np.testing.assert_allclose(
        np.asarray(keras.activations.relu(z, threshold=-1.0, max_value=6.0)), [[0, 1, 6]])
    np.testing.assert_allclose(run(layers.ReLU(negative_slope=0.1, threshold=1.0), z),
                               [[-0.15, 0, 7]], rtol=1e-6)
