"""Flatten, Reshape and Dropout."""
import numpy as np
import pytest

import neuropil as keras
from neuropil import layers


def test_flatten_keeps_batch():
    out = layers.Flatten()(np.zeros((4, 3, 2, 5), "float32"))
    assert out.shape == (4, 30)
    assert layers.Flatten().compute_output_shape((None, 3, 2, 5)) == (None, 30)


def test_flatten_in_a_model_summary_shape():
    model = keras.Sequential([keras.Input((28, 28)), layers.Flatten(), layers.Dense(10)])
    assert model.layers[0].output.shape == (None, 784)
    assert model.count_params() == 7850


def test_reshape_with_minus_one():
    out = layers.Reshape((-1, 2))(np.arange(12, dtype="float32").reshape(2, 6))
    assert out.shape == (2, 3, 2)
    assert layers.Reshape((3, -1)).compute_output_shape((None, 12)) == (None, 3, 4)


def test_reshape_size_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match="Reshape|reshape"):
        layers.Reshape((5,))(np.zeros((2, 6), "float32"))


def test_dropout_is_identity_outside_training():
    x = np.ones((100, 50), "float32")
    layer = layers.Dropout(0.5)
    np.testing.assert_array_equal(np.asarray(layer(x)), x)
    np.testing.assert_array_equal(np.asarray(layer(x, training=False)), x)


def test_dropout_in_training_is_inverted():
    x = np.ones((200, 100), "float32")
    out = np.asarray(layers.Dropout(0.25, seed=3)(x, training=True))
    kept = out != 0
    assert abs(kept.mean() - 0.75) < 0.02
    np.testing.assert_allclose(out[kept], 1 / 0.75, rtol=1e-6)  # survivors scaled up
    assert abs(out.mean() - 1.0) < 0.03  # expectation preserved


def test_dropout_noise_shape_shares_the_mask():
    x = np.ones((4, 10, 6), "float32")
    out = np.asarray(layers.Dropout(0.5, noise_shape=(None, 1, 6), seed=1)(x, training=True))
    assert np.all(out == out[:, :1, :])


def test_dropout_seed_makes_it_repeatable():
    x = np.ones((8, 8), "float32")
    a = np.asarray(layers.Dropout(0.5, seed=7)(x, training=True))
    b = np.asarray(layers.Dropout(0.5, seed=7)(x, training=True))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5, "half"])
def test_dropout_rejects_bad_rate(rate):
    with pytest.raises(ValueError, match="rate"):
        layers.Dropout(rate)


def test_dropout_is_active_in_fit_but_not_in_predict():
    model = keras.Sequential([keras.Input((20,)), layers.Dropout(0.5),
                              layers.Dense(1, kernel_initializer="ones", use_bias=False)])
    x = np.ones((16, 20), "float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), 20.0)
    model.compile("sgd", "mse")
    training_outputs = np.asarray(model(x, training=True))
    assert not np.allclose(training_outputs, 20.0)
