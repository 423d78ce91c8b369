"""Normalization (adapt, given statistics, invert, weights, config) and Rescaling; both stay
differentiable with respect to their input."""
import json

import numpy as np
import pytest

import neuropil as keras
from neuropil import layers
from neuropil.autodiff import Tensor


def _out(layer, x, **kwargs):
    return np.asarray(layer(x, **kwargs))


# ---- Keras's documented examples ---------------------------------------------------------
def test_keras_examples():
    layer = layers.Normalization(axis=None)
    layer.adapt(np.array([1.0, 2.0, 3.0, 4.0, 5.0], "float32"))
    np.testing.assert_allclose(_out(layer, np.array([1.0, 2.0, 3.0], "float32")),
                               [-1.4142135, -0.70710677, 0.0], rtol=1e-6)

    data = np.array([[0.0, 7.0, 4.0], [2.0, 9.0, 6.0], [0.0, 7.0, 4.0], [2.0, 9.0, 6.0]])
    layer = layers.Normalization(axis=-1)
    layer.adapt(data)
    np.testing.assert_allclose(_out(layer, np.array([[0.0, 7.0, 4.0]])), [[-1, -1, -1]])

    layer = layers.Normalization(mean=3.0, variance=2.0)
    np.testing.assert_allclose(_out(layer, np.array([[1.0], [2.0], [3.0]])),
                               [[-1.4142135], [-0.70710677], [0.0]], rtol=1e-6)

    layer = layers.Normalization(axis=-1, invert=True)
    layer.adapt(data)
    np.testing.assert_allclose(_out(layer, np.array([[1.0, 2.0, 3.0]])), [[2.0, 10.0, 8.0]])


# ---- adapt ---------------------------------------------------------------------------------
def test_adapt_statistics_per_channel_of_images():
    x = np.random.default_rng(0).normal([1.0, -2.0, 5.0], [0.5, 2.0, 3.0],
                                        (50, 4, 4, 3)).astype("float32")
    layer = layers.Normalization()                                  # axis=-1: per channel
    layer.adapt(x)
    np.testing.assert_allclose(np.asarray(layer.adapt_mean.data), x.mean(axis=(0, 1, 2)),
                               rtol=1e-5)
    np.testing.assert_allclose(np.asarray(layer.adapt_variance.data), x.var(axis=(0, 1, 2)),
                               rtol=1e-4)
    out = _out(layer, x)
    np.testing.assert_allclose(out.mean(axis=(0, 1, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=(0, 1, 2)), 1, rtol=1e-4)
    assert layer.mean.shape == (1, 1, 1, 3)                         # Keras's broadcast shape
    # Stored as non-trainable weights, Keras's names, so they are saved with the model.
    assert [w.name for w in layer.non_trainable_weights] == ["mean", "variance", "count"]
    assert layer.trainable_weights == [] and layer.count.dtype == np.int32


def test_adapt_several_axes_and_iterables_of_batches():
    x = np.random.default_rng(1).uniform(-3, 3, (40, 3, 5)).astype("float32")
    whole = layers.Normalization(axis=(1, 2))
    whole.adapt(x)
    np.testing.assert_allclose(np.asarray(whole.adapt_mean.data), x.mean(axis=0), rtol=1e-5,
                               atol=1e-6)
    batched = layers.Normalization(axis=(1, 2))
    batched.adapt(x[i:i + 7] for i in range(0, 40, 7))              # a generator, uneven
    np.testing.assert_allclose(np.asarray(batched.adapt_mean.data),
                               np.asarray(whole.adapt_mean.data), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(batched.adapt_variance.data),
                               np.asarray(whole.adapt_variance.data), rtol=1e-5)
    labelled = layers.Normalization(axis=(1, 2))
    labelled.adapt([(x[:20], None), (x[20:], None)])                # (x, y) batches
    np.testing.assert_allclose(np.asarray(labelled.adapt_variance.data),
                               np.asarray(whole.adapt_variance.data), rtol=1e-5)


def test_adapt_errors():
    layer = layers.Normalization()
    layer.adapt(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="incompatible shape"):
        layer.adapt(np.zeros((4, 5)))
    with pytest.raises(ValueError, match="empty"):
        layers.Normalization().adapt([])
    with pytest.raises(ValueError, match="nothing to adapt"):
        layers.Normalization(mean=0.0, variance=1.0).adapt(np.zeros((2, 1)))
    with pytest.raises(ValueError, match="both `mean` and `variance`"):
        layers.Normalization(mean=1.0)
    with pytest.raises(ValueError, match="axis"):
        layers.Normalization(axis=3)(np.zeros((2, 3)))


def test_given_statistics_are_plain_arrays_broadcast_over_the_kept_axes():
    layer = layers.Normalization(axis=-1, mean=[1.0, 2.0], variance=[4.0, 16.0])
    out = _out(layer, np.array([[3.0, 2.0], [1.0, 10.0]]))
    np.testing.assert_allclose(out, [[1.0, 0.0], [0.0, 2.0]])
    assert layer.weights == []
    assert isinstance(layer.mean, np.ndarray) and layer.mean.shape == (1, 2)


def test_zero_variance_is_floored_at_epsilon():
    layer = layers.Normalization(mean=0.0, variance=0.0)
    np.testing.assert_allclose(_out(layer, np.array([[0.0], [3e-7]])), [[0.0], [3.0]],
                               rtol=1e-5)


def test_weights_transfer_and_config_round_trip():
    x = np.random.default_rng(2).uniform(size=(10, 3)).astype("float32")
    layer = layers.Normalization(invert=False)
    layer.adapt(x)
    clone = layers.Normalization.from_config(json.loads(json.dumps(layer.get_config())))
    clone.build((None, 3))
    clone.set_weights(layer.get_weights())
    np.testing.assert_array_equal(_out(clone, x), _out(layer, x))
    given = layers.Normalization(axis=(1,), mean=[0.5, 1.0], variance=[1.0, 2.0], invert=True)
    config = given.get_config()
    assert (config["axis"], config["mean"], config["variance"], config["invert"]) == \
        ((1,), [0.5, 1.0], [1.0, 2.0], True)
    assert layers.Normalization.from_config(config).get_config() == config
    assert layers.Normalization(axis=None).get_config()["mean"] is None


def test_in_a_model_before_training():
    x = np.random.default_rng(3).normal(50, 10, (64, 4)).astype("float32")
    y = (x[:, 0] > 50).astype("int64")
    norm = layers.Normalization()
    norm.adapt(x)
    model = keras.Sequential([keras.Input((4,)), norm, layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    mean_before = np.asarray(norm.adapt_mean.data).copy()
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    np.testing.assert_array_equal(np.asarray(norm.adapt_mean.data), mean_before)  # not trained


# ---- gradients ------------------------------------------------------------------------------
@pytest.mark.parametrize("invert", [False, True])
def test_normalization_is_differentiable(invert):
    layer = layers.Normalization(mean=[1.0, 2.0], variance=[4.0, 0.25], invert=invert)
    x = Tensor(np.array([[0.5, 1.5], [2.0, 3.0]], "float32"), requires_grad=True)
    layer(x).sum().backward()
    slope = np.array([2.0, 0.5]) if invert else np.array([0.5, 2.0])
    np.testing.assert_allclose(x.grad, np.broadcast_to(slope, (2, 2)))


def test_rescaling_still_works_and_is_differentiable():
    layer = layers.Rescaling(1 / 127.5, offset=-1)
    np.testing.assert_allclose(_out(layer, np.array([0.0, 127.5, 255.0])), [-1, 0, 1])
    x = Tensor(np.ones((2, 3), "float32"), requires_grad=True)
    layers.Rescaling(0.5)(x).sum().backward()
    np.testing.assert_allclose(x.grad, 0.5)
    assert layers.Rescaling(2.0, 1.0).get_config()["offset"] == 1.0
