"""BatchNormalization and LayerNormalization: modes, moving statistics, weights, config."""
import warnings

import numpy as np
import pytest

import neuropil as keras
from neuropil import layers
from neuropil.autodiff import Tensor


def batch(*shape, seed=0, mean=2.0, std=3.0):
    return np.random.default_rng(seed).normal(mean, std, shape).astype("float32")


def built_bn(channels=4, **kwargs):
    layer = layers.BatchNormalization(**kwargs)
    layer.build((None, 5, 5, channels))
    return layer


# ---- BatchNormalization: the two modes -----------------------------------------------
def test_training_uses_batch_statistics_inference_uses_moving_ones():
    x = batch(16, 5, 5, 4)
    layer = built_bn()
    trained = np.asarray(layer(x, training=True))
    np.testing.assert_allclose(trained.mean(axis=(0, 1, 2)), 0.0, atol=1e-5)
    np.testing.assert_allclose(trained.var(axis=(0, 1, 2)), 1.0, rtol=1e-3)
    # Inference right after one step: moving mean ~ 0.02, moving variance ~ 1.08, so the
    # output is still close to the input itself.
    inferred = np.asarray(layer(x, training=False))
    mm, mv = layer.moving_mean.numpy(), layer.moving_variance.numpy()
    np.testing.assert_allclose(inferred, (x - mm) / np.sqrt(mv + 1e-3), rtol=1e-5, atol=1e-5)
    assert not np.allclose(trained, inferred, atol=0.1)
    np.testing.assert_array_equal(np.asarray(layer(x)), inferred)  # no flag = inference


def test_moving_statistics_follow_keras_update_rule():
    """moving = moving·momentum + batch·(1 − momentum), with the biased batch variance."""
    layer = built_bn(channels=3, momentum=0.9)
    mean, var = np.zeros(3), np.ones(3)
    for step in range(4):
        x = batch(8, 5, 5, 3, seed=step, mean=step - 1.0, std=1.0 + step)
        layer(x, training=True)
        x64 = x.astype(np.float64)
        mean = mean * 0.9 + x64.mean(axis=(0, 1, 2)) * 0.1
        var = var * 0.9 + x64.var(axis=(0, 1, 2)) * 0.1  # ddof=0: biased, as Keras
        np.testing.assert_allclose(layer.moving_mean.numpy(), mean, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(layer.moving_variance.numpy(), var, rtol=1e-5)


def test_inference_calls_do_not_touch_moving_statistics():
    layer = built_bn()
    before = [w.numpy().copy() for w in layer.weights]
    layer(batch(8, 5, 5, 4), training=False)
    layer(batch(8, 5, 5, 4))
    for w, b in zip(layer.weights, before):
        np.testing.assert_array_equal(w.numpy(), b)


def test_frozen_layer_runs_in_inference_mode_even_when_training():
    layer = built_bn()
    layer(batch(8, 5, 5, 4, seed=1), training=True)  # moving statistics away from 0 / 1
    layer.trainable = False
    before = [w.numpy().copy() for w in layer.weights]
    x = batch(8, 5, 5, 4, seed=2)
    out = np.asarray(layer(x, training=True))
    np.testing.assert_array_equal(out, np.asarray(layer(x, training=False)))
    for w, b in zip(layer.weights, before):
        np.testing.assert_array_equal(w.numpy(), b)
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 4


def test_moving_statistics_receive_no_gradient():
    layer = built_bn()
    for training in (True, False):
        x = Tensor(batch(4, 5, 5, 4), requires_grad=True)
        (layer(x, training=training) * batch(4, 5, 5, 4, seed=3)).sum().backward()
        assert layer.moving_mean.grad is None and layer.moving_variance.grad is None
        assert layer.gamma.grad is not None and layer.beta.grad is not None
        assert x.grad.shape == x.shape
        layer.gamma.grad = layer.beta.grad = None


def test_channels_first_axis_1():
    layer = layers.BatchNormalization(axis=1)
    x = batch(6, 3, 4, 4)
    out = np.asarray(layer(x, training=True))
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0.0, atol=1e-5)
    assert layer.gamma.shape == (3,)
    np.testing.assert_allclose(layer.moving_mean.numpy(), 0.01 * x.mean(axis=(0, 2, 3)),
                               rtol=1e-4)


def test_2d_input_dense_features():
    layer = layers.BatchNormalization()
    x = batch(32, 10)
    out = np.asarray(layer(x, training=True))
    np.testing.assert_allclose(out.std(axis=0), np.sqrt(x.var(0) / (x.var(0) + 1e-3)),
                               rtol=1e-4)


# ---- weights, counts, config -----------------------------------------------------------
def test_weights_names_order_and_counts_follow_keras():
    keras.backend.clear_session()
    layer = layers.BatchNormalization()
    layer.build((None, 8, 8, 16))
    assert [w.path for w in layer.weights] == [
        "batch_normalization/gamma", "batch_normalization/beta",
        "batch_normalization/moving_mean", "batch_normalization/moving_variance"]
    assert layer.count_params() == 64  # 4 x 16 channels
    assert sum(w.size for w in layer.trainable_weights) == 32
    assert sum(w.size for w in layer.non_trainable_weights) == 32
    gamma, beta, mean, var = layer.get_weights()
    assert np.all(gamma == 1) and np.all(beta == 0) and np.all(mean == 0) and np.all(var == 1)


def test_center_and_scale_off_drop_beta_and_gamma():
    layer = built_bn(center=False, scale=False)
    assert layer.gamma is None and layer.beta is None
    assert [w.name for w in layer.weights] == ["moving_mean", "moving_variance"]
    out = np.asarray(layer(batch(8, 5, 5, 4), training=True))
    np.testing.assert_allclose(out.mean(axis=(0, 1, 2)), 0.0, atol=1e-5)


def test_summary_counts_moving_statistics_as_non_trainable():
    model = keras.Sequential([keras.Input((8, 8, 16)), layers.BatchNormalization()])
    lines = []
    model.summary(print_fn=lambda line, **_: lines.append(line))
    text = "\n".join(lines)
    assert "Total params: 64 " in text
    assert "Trainable params: 32 " in text and "Non-trainable params: 32 " in text


def test_config_round_trip():
    layer = layers.BatchNormalization(axis=1, momentum=0.9, epsilon=1e-5, center=False,
                                      gamma_initializer="random_normal",
                                      gamma_regularizer=keras.regularizers.L2(0.01), name="bn")
    config = layer.get_config()
    assert config["axis"] == 1 and config["momentum"] == 0.9 and config["epsilon"] == 1e-5
    assert config["synchronized"] is False and config["renorm"] is False
    clone = layers.BatchNormalization.from_config(config)
    assert clone.get_config() == config


def test_keras_defaults():
    config = layers.BatchNormalization().get_config()
    assert (config["axis"], config["momentum"], config["epsilon"]) == (-1, 0.99, 1e-3)
    assert config["center"] is True and config["scale"] is True
    assert config["moving_variance_initializer"]["class_name"] == "Ones"


@pytest.mark.parametrize("kwargs, error", [
    (dict(axis=1.5), TypeError), (dict(momentum=1.5), ValueError),
    (dict(epsilon=-1.0), ValueError), (dict(synchronized="yes"), TypeError),
    (dict(renorm=True), NotImplementedError)])
def test_bad_arguments_are_rejected_early(kwargs, error):
    with pytest.raises(error, match="BatchNormalization"):
        layers.BatchNormalization(**kwargs)


def test_bad_axis_and_wrong_channels_name_the_layer():
    with pytest.raises(ValueError, match='"bn".*out of bounds'):
        layers.BatchNormalization(axis=3, name="bn").build((None, 4, 4))
    layer = built_bn(channels=4)
    with pytest.raises(ValueError, match="batch_normalization"):
        layer(batch(2, 5, 5, 3))


# ---- BatchNormalization in a model ------------------------------------------------------
def _bn_model(seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input((6, 6, 2)),
        layers.Conv2D(4, 3, use_bias=False),
        layers.BatchNormalization(name="bn"),
        layers.Activation("relu"),
        layers.Flatten(),
        layers.Dense(3, activation="softmax"),
    ])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    return model


def _toy_data(n=64, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.normal(1.0, 2.0, (n, 6, 6, 2)).astype("float32")
    y = (x[:, :3].mean(axis=(1, 2, 3)) > 1.0).astype("int64") + (x[:, 3:].mean(
        axis=(1, 2, 3)) > 1.0)
    return x, y


def test_fit_updates_moving_statistics_predict_and_evaluate_do_not():
    x, y = _toy_data()
    model = _bn_model()
    bn = model.get_layer("bn")
    history = model.fit(x, y, batch_size=16, epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    moved = [w.numpy().copy() for w in bn.non_trainable_weights]
    assert not np.allclose(moved[0], 0.0) and not np.allclose(moved[1], 1.0)
    first = model.predict(x, verbose=0)
    model.evaluate(x, y, verbose=0)
    np.testing.assert_array_equal(model.predict(x, verbose=0), first)  # deterministic
    for w, m in zip(bn.non_trainable_weights, moved):
        np.testing.assert_array_equal(w.numpy(), m)
    assert all(w.grad is None for w in bn.non_trainable_weights)


def test_frozen_bn_in_fit_keeps_its_statistics_and_weights():
    x, y = _toy_data()
    model = _bn_model()
    bn = model.get_layer("bn")
    bn.trainable = False
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    before = [w.numpy().copy() for w in bn.weights]
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    for w, b in zip(bn.weights, before):
        np.testing.assert_array_equal(w.numpy(), b)


# ---- LayerNormalization -------------------------------------------------------------------
def test_layer_norm_normalizes_each_sample_the_same_in_both_modes():
    x = batch(4, 10)
    layer = layers.LayerNormalization()
    out = np.asarray(layer(x))
    np.testing.assert_allclose(out.mean(axis=-1), 0.0, atol=1e-5)
    np.testing.assert_allclose(out.var(axis=-1), x.var(-1) / (x.var(-1) + 1e-3), rtol=1e-4)
    np.testing.assert_array_equal(np.asarray(layer(x, training=True)), out)
    assert [w.path.split("/")[1] for w in layer.weights] == ["gamma", "beta"]
    assert layer.count_params() == 20


def test_layer_norm_several_axes_stored_sorted_like_keras():
    layer = layers.LayerNormalization(axis=[-1, 1])
    layer.build((None, 3, 4, 5))
    assert layer.axis == [1, 3] and layer.gamma.shape == (3, 5)
    x = batch(2, 3, 4, 5)
    out = np.asarray(layer(x))
    np.testing.assert_allclose(out.mean(axis=(1, 3)), 0.0, atol=1e-5)
    clone = layers.LayerNormalization.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()


def test_layer_norm_config_and_defaults():
    layer = layers.LayerNormalization(epsilon=1e-6, center=False, name="ln")
    config = layer.get_config()
    assert config["axis"] == -1 and config["epsilon"] == 1e-6 and config["rms_scaling"] is False
    assert layers.LayerNormalization.from_config(config).get_config() == config
    layer.build((None, 6))
    assert layer.beta is None and [w.name for w in layer.weights] == ["gamma"]


def test_layer_norm_rms_scaling_is_deprecated_and_divides_by_the_std():
    with pytest.warns(UserWarning, match="deprecated"):
        layer = layers.LayerNormalization(rms_scaling=True, epsilon=0.0)
    x = batch(3, 8)
    out = np.asarray(layer(x))
    np.testing.assert_allclose(out, x / x.std(axis=-1, keepdims=True), rtol=1e-5)
    assert layer.beta is None and layer.get_config()["rms_scaling"] is True
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert layers.LayerNormalization.from_config(layer.get_config()).rms_scaling


def test_layer_norm_rejects_bad_axes():
    with pytest.raises(TypeError, match="axis"):
        layers.LayerNormalization(axis="last")
    with pytest.raises(ValueError, match="out of bounds"):
        layers.LayerNormalization(axis=2).build((None, 4))
    with pytest.raises(ValueError, match="duplicate"):
        layers.LayerNormalization(axis=[1, -1]).build((None, 4))
