"""SpatialDropout1D/2D/3D, GaussianNoise, GaussianDropout, AlphaDropout: what they do in
training, that they are the identity otherwise, gradients, config and argument checks."""
import numpy as np
import pytest

import neuropil as keras
from neuropil import layers
from neuropil.autodiff import Tensor

NOISE_LAYERS = [
    lambda: layers.SpatialDropout2D(0.5, seed=1),
    lambda: layers.GaussianNoise(0.5, seed=1),
    lambda: layers.GaussianDropout(0.5, seed=1),
    lambda: layers.AlphaDropout(0.5, seed=1),
]


@pytest.mark.parametrize("make", NOISE_LAYERS, ids=["spatial", "gnoise", "gdrop", "alpha"])
def test_identity_outside_training(make):
    x = np.random.default_rng(0).normal(size=(4, 6, 6, 3)).astype("float32")
    layer = make()
    for out in (layer(x), layer(x, training=False)):
        np.testing.assert_array_equal(np.asarray(out), x)
    assert not np.array_equal(np.asarray(layer(x, training=True)), x)


@pytest.mark.parametrize("make", NOISE_LAYERS, ids=["spatial", "gnoise", "gdrop", "alpha"])
def test_inactive_in_predict_active_in_fit(make):
    model = keras.Sequential([keras.Input((6, 6, 3)), make()])
    x = np.ones((5, 6, 6, 3), "float32")
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)
    assert not np.array_equal(np.asarray(model(x, training=True)), x)


# ---- SpatialDropout -------------------------------------------------------------------
def test_spatial_dropout_2d_zeroes_whole_channels_and_scales_the_rest():
    rate = 0.4
    x = np.random.default_rng(1).uniform(1, 2, (64, 5, 5, 8)).astype("float32")
    out = np.asarray(layers.SpatialDropout2D(rate, seed=3)(x, training=True))
    dropped = np.all(out == 0, axis=(1, 2))            # (batch, channels)
    kept = np.all(out != 0, axis=(1, 2))
    assert np.all(dropped | kept)                      # never a partly dropped map
    assert abs(dropped.mean() - rate) < 0.07           # 512 draws: ~3 standard deviations
    ratio = out / x
    np.testing.assert_allclose(ratio[np.broadcast_to(kept[:, None, None, :], x.shape)],
                               1 / (1 - rate), rtol=1e-6)


def test_spatial_dropout_2d_channels_first():
    x = np.ones((32, 6, 4, 4), "float32")
    out = np.asarray(layers.SpatialDropout2D(0.5, data_format="channels_first",
                                             seed=4)(x, training=True))
    assert np.all(out == out[:, :, :1, :1])            # one value per (sample, channel)
    assert set(np.unique(out).tolist()) == {0.0, 2.0}


def test_spatial_dropout_1d_and_3d():
    out1 = np.asarray(layers.SpatialDropout1D(0.5, seed=5)(np.ones((16, 7, 4), "float32"),
                                                           training=True))
    assert np.all(out1 == out1[:, :1, :])
    out3 = np.asarray(layers.SpatialDropout3D(0.5, seed=6)(np.ones((8, 2, 3, 2, 4), "float32"),
                                                           training=True))
    assert np.all(out3 == out3[:, :1, :1, :1, :])


def test_spatial_dropout_gradient_uses_the_same_mask():
    x = Tensor(np.ones((8, 3, 3, 4), "float32"), requires_grad=True)
    out = layers.SpatialDropout2D(0.5, seed=7)(x, training=True)
    out.backward(np.ones(out.shape, "float32"))
    np.testing.assert_array_equal(x.grad, out.numpy())  # x = 1: the output is the mask


def test_spatial_dropout_wants_4d_input_and_round_trips_its_config():
    layer = layers.SpatialDropout2D(0.3, seed=2, name="sd")
    with pytest.raises(ValueError, match="ndim=4"):
        layer(np.ones((2, 3, 4), "float32"))
    config = layer.get_config()
    assert config["rate"] == 0.3 and config["data_format"] == "channels_last"
    assert "noise_shape" not in config
    assert layers.SpatialDropout2D.from_config(config).get_config() == config
    config1 = layers.SpatialDropout1D(0.2).get_config()
    assert "data_format" not in config1
    assert layers.SpatialDropout1D.from_config(config1).get_config() == config1


# ---- Gaussian noise and dropout -----------------------------------------------------------
N = 200_000


def test_gaussian_noise_adds_zero_mean_noise_of_stddev():
    x = np.full((N,), 3.0, "float32")
    out = np.asarray(layers.GaussianNoise(0.2, seed=8)(x, training=True))
    noise = out - x
    assert abs(noise.mean()) < 0.002                   # 0.2 / sqrt(N) ~ 0.00045
    assert noise.std() == pytest.approx(0.2, rel=0.01)
    assert out.dtype == np.float32


def test_gaussian_dropout_multiplies_by_one_centred_noise():
    rate = 0.3
    x = np.full((N,), 2.0, "float32")
    factor = np.asarray(layers.GaussianDropout(rate, seed=9)(x, training=True)) / x
    assert factor.mean() == pytest.approx(1.0, abs=0.005)
    assert factor.std() == pytest.approx(np.sqrt(rate / (1 - rate)), rel=0.01)


def test_gaussian_layers_pass_the_gradient_through_their_noise():
    x = Tensor(np.full((50,), 2.0, "float32"), requires_grad=True)
    layers.GaussianNoise(0.5, seed=10)(x, training=True).sum().backward()
    np.testing.assert_array_equal(x.grad, 1.0)
    x.grad = None
    out = layers.GaussianDropout(0.5, seed=11)(x, training=True)
    out.sum().backward()
    np.testing.assert_allclose(x.grad, out.numpy() / 2.0, rtol=1e-6)


def test_seed_makes_the_noise_repeatable():
    x = np.zeros((10, 10), "float32")
    a = np.asarray(layers.GaussianNoise(0.5, seed=12)(x, training=True))
    b = np.asarray(layers.GaussianNoise(0.5, seed=12)(x, training=True))
    np.testing.assert_array_equal(a, b)


# ---- AlphaDropout ------------------------------------------------------------------------
def test_alpha_dropout_keeps_zero_mean_unit_variance():
    x = np.random.default_rng(13).standard_normal(N).astype("float32")
    out = np.asarray(layers.AlphaDropout(0.2, seed=14)(x, training=True))
    assert abs(out.mean()) < 0.01
    assert out.std() == pytest.approx(1.0, abs=0.01)
    # dropped values all land on one point: a·(-alpha·scale) + b; kept ones are a·x + b
    saturated = -1.6732632423543772 * 1.0507009873554805
    a = ((1 - 0.2) * (1 + 0.2 * saturated ** 2)) ** -0.5
    b = -a * saturated * 0.2
    dropped = np.isclose(out, a * saturated + b, rtol=0, atol=1e-6)
    assert dropped.mean() == pytest.approx(0.2, abs=0.005)
    np.testing.assert_allclose(out[~dropped], a * x[~dropped] + b, rtol=1e-5, atol=1e-6)


# ---- arguments and configs ----------------------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda: layers.SpatialDropout2D(1.0), lambda: layers.SpatialDropout2D(-0.1),
    lambda: layers.GaussianNoise(1.5), lambda: layers.GaussianNoise("a"),
    lambda: layers.GaussianDropout(1.0), lambda: layers.AlphaDropout(1.2)])
def test_bad_rates_are_rejected_with_the_layer_name(make):
    with pytest.raises(ValueError, match="Received"):
        make()


@pytest.mark.parametrize("layer", [layers.GaussianNoise(0.1, seed=1),
                                   layers.GaussianDropout(0.2, seed=1),
                                   layers.AlphaDropout(0.1, noise_shape=(None, 1), seed=1)],
                         ids=["gnoise", "gdrop", "alpha"])
def test_config_round_trip(layer):
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config
