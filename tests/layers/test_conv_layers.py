"""Conv2D family and pooling layers: Keras's shapes, weight counts, configs and errors.

The ops' gradients and PyTorch parity are tested in tests/ops/test_conv.py / test_pool.py;
here the layers' own logic: arithmetic, bias/activation, groups, data_format, configs.
"""
import numpy as np
import pytest

import neuropil as keras
from neuropil import layers

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("kwargs, input_shape, output_shape", [
    (dict(filters=6, kernel_size=5), (None, 28, 28, 1), (None, 24, 24, 6)),
    (dict(filters=6, kernel_size=5, padding="same"), (None, 28, 28, 1), (None, 28, 28, 6)),
    (dict(filters=4, kernel_size=3, strides=2), (None, 28, 28, 3), (None, 13, 13, 4)),
    (dict(filters=4, kernel_size=3, strides=2, padding="same"), (None, 7, 7, 3), (None, 4, 4, 4)),
    (dict(filters=2, kernel_size=(3, 1)), (None, 5, 5, 1), (None, 3, 5, 2)),
    (dict(filters=2, kernel_size=3, dilation_rate=2), (None, 9, 9, 1), (None, 5, 5, 2)),
    (dict(filters=2, kernel_size=3, data_format="channels_first"), (None, 3, 8, 8),
     (None, 2, 6, 6)),
])
def test_conv2d_output_shape(kwargs, input_shape, output_shape):
    assert layers.Conv2D(**kwargs).compute_output_shape(input_shape) == output_shape


def test_conv2d_weight_count_and_shapes():
    conv = layers.Conv2D(16, 5)
    conv.build((None, 14, 14, 6))
    assert conv.kernel.shape == (5, 5, 6, 16) and conv.bias.shape == (16,)
    assert conv.count_params() == (5 * 5 * 6 + 1) * 16


def test_conv2d_defaults_follow_keras():
    config = layers.Conv2D(8, 3).get_config()
    assert config["strides"] == (1, 1) and config["padding"] == "valid"
    assert config["dilation_rate"] == (1, 1) and config["groups"] == 1
    assert config["data_format"] == "channels_last" and config["use_bias"] is True
    assert config["kernel_size"] == (3, 3)
    assert config["kernel_initializer"]["class_name"] == "GlorotUniform"


@pytest.mark.parametrize("layer", [
    layers.Conv2D(4, 3, strides=2, padding="same", activation="relu", groups=2),
    layers.DepthwiseConv2D(3, depth_multiplier=2),
    layers.SeparableConv2D(4, 3, padding="same"),
    layers.Conv2DTranspose(3, 3, strides=2, output_padding=1),
    layers.MaxPooling2D(3, strides=2, padding="same"), layers.AveragePooling2D(),
    layers.GlobalAveragePooling2D(keepdims=True), layers.GlobalMaxPooling2D(),
    layers.ZeroPadding2D(((1, 2), (3, 4))), layers.Cropping2D((1, 2)),
    layers.UpSampling2D(3), layers.Rescaling(1 / 255.0, offset=-0.5),
])
def test_config_round_trip(layer):
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()


@pytest.mark.parametrize("make, match", [
    (lambda: layers.Conv2D(0, 3), "filters"),
    (lambda: layers.Conv2D(4, 0), "kernel_size"),
    (lambda: layers.Conv2D(4, (3, 3, 3)), "kernel_size"),
    (lambda: layers.Conv2D(4, 3, padding="full"), "padding"),
    (lambda: layers.Conv2D(4, 3, strides=2, dilation_rate=2), "strides"),
    (lambda: layers.Conv2D(5, 3, groups=2), "divisible"),
    (lambda: layers.MaxPooling2D(0), "pool_size"),
    (lambda: layers.Conv2D(4, 3, data_format="nhwc"), "data_format"),
])
def test_bad_arguments_are_clear_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_kernel_larger_than_input_names_layer_and_sizes():
    with pytest.raises(ValueError, match=r'"big".*\(7, 7\).*\(5, 5\)'):
        keras.Sequential([keras.Input((5, 5, 1)), layers.Conv2D(2, 7, name="big")])


def test_pool_window_larger_than_input():
    with pytest.raises(ValueError, match="pool window"):
        keras.Sequential([keras.Input((1, 1, 3)), layers.MaxPooling2D(2)])


def test_conv_requires_4d_input():
    with pytest.raises(ValueError, match="ndim=4"):
        layers.Conv2D(2, 3)(np.zeros((2, 8, 8), "float32"))


def test_lenet5_summary_shapes_and_weights():
    model = keras.applications.LeNet5()
    shapes = [layer.output.shape for layer in model.layers]
    assert shapes == [(None, 28, 28, 6), (None, 14, 14, 6), (None, 10, 10, 16), (None, 5, 5, 16),
                      (None, 400), (None, 120), (None, 84), (None, 10)]
    assert [layer.count_params() for layer in model.layers] == [156, 0, 2416, 0, 0, 48120,
                                                                10164, 850]
    assert model.count_params() == 61706
    assert keras.applications.LeNet5((32, 32, 1)).layers[0].output.shape == (None, 28, 28, 6)


# ---- layers that run the conv / pool ops --------------------------------------------
def test_course_vertical_edge_detector():
    image = np.zeros((1, 6, 6, 1), "float32")
    image[:, :, :3] = 10
    conv = layers.Conv2D(1, 3, use_bias=False)
    conv.build(image.shape)
    conv.set_weights([np.array([[1, 0, -1]] * 3, "float32").reshape(3, 3, 1, 1)])
    out = np.asarray(conv(image))[0, :, :, 0]
    np.testing.assert_array_equal(out, [[0, 30, 30, 0]] * 4)


def test_conv2d_equals_per_position_dot_products():
    x = RNG.standard_normal((2, 5, 6, 3)).astype("float32")
    conv = layers.Conv2D(4, (3, 2), strides=(1, 2), activation="relu")
    out = np.asarray(conv(x))
    kernel, bias = conv.get_weights()
    expected = np.zeros((2, 3, 3, 4), "float32")
    for i in range(3):
        for j in range(3):
            patch = x[:, i:i + 3, 2 * j:2 * j + 2, :]
            expected[:, i, j] = np.tensordot(patch, kernel, axes=3) + bias
    np.testing.assert_allclose(out, np.maximum(expected, 0), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("activation, use_bias, data_format", [
    ("relu", True, "channels_last"), ("relu", False, "channels_first"),
    ("tanh", True, "channels_last"), (None, True, "channels_last")])
def test_conv2d_bias_and_relu_run_inside_the_conv_op(activation, use_bias, data_format):
    """Conv2D hands its bias and a relu to the conv op (one op, fewer passes); the numbers
    and gradients are those of conv, then add, then the activation."""
    from neuropil import activations, ops
    from neuropil.autodiff import Tensor

    x = RNG.standard_normal((2, 6, 6, 3)).astype("float32")
    conv = layers.Conv2D(4, 3, padding="same", activation=activation, use_bias=use_bias,
                         data_format=data_format)
    x_in = x if data_format == "channels_last" else x.transpose(0, 3, 1, 2)
    conv.build(x_in.shape)
    if use_bias:
        conv.bias.assign(RNG.standard_normal(4).astype("float32"))
    out = conv(Tensor(x_in))
    last_op = out._producer  # channels_first: a transpose back follows the conv op
    last_op = last_op if data_format == "channels_last" else last_op.inputs[0]._producer
    assert type(last_op).__name__ == ("Conv2D" if activation in ("relu", None) else "Tanh")
    weights = RNG.standard_normal(out.shape).astype("float32")
    out.backward(weights)
    grads = [conv.kernel.grad] + ([conv.bias.grad] if use_bias else [])

    kernel = Tensor(conv.kernel.numpy(), requires_grad=True)
    bias = Tensor(conv.bias.numpy(), requires_grad=True) if use_bias else None
    z = ops.conv2d(Tensor(x), kernel, padding="same")
    z = ops.add(z, bias) if use_bias else z
    twin = activations.get(activation)(z)
    if data_format == "channels_first":
        twin = ops.transpose(twin, (0, 3, 1, 2))
    twin.backward(weights)
    np.testing.assert_allclose(out.numpy(), twin.numpy(), rtol=1e-5, atol=1e-6)
    for g, t in zip(grads, [kernel.grad] + ([bias.grad] if use_bias else [])):
        np.testing.assert_allclose(g, t, rtol=1e-4, atol=1e-5)


def test_channels_first_matches_channels_last():
    x = RNG.standard_normal((2, 7, 7, 3)).astype("float32")
    last = layers.Conv2D(4, 3, padding="same")
    first = layers.Conv2D(4, 3, padding="same", data_format="channels_first")
    last.build(x.shape)
    first.build((2, 3, 7, 7))
    first.set_weights(last.get_weights())
    np.testing.assert_allclose(np.asarray(first(x.transpose(0, 3, 1, 2))),
                               np.asarray(last(x)).transpose(0, 3, 1, 2), rtol=1e-5, atol=1e-6)


def test_grouped_conv_is_independent_convs():
    x = RNG.standard_normal((1, 6, 6, 4)).astype("float32")
    grouped = layers.Conv2D(6, 3, groups=2, use_bias=False)
    out = np.asarray(grouped(x))
    kernel = grouped.get_weights()[0]  # (3, 3, 2, 6)
    for g in range(2):
        single = layers.Conv2D(3, 3, use_bias=False)
        single.build((None, 6, 6, 2))
        single.set_weights([kernel[..., g * 3:(g + 1) * 3]])
        np.testing.assert_allclose(out[..., g * 3:(g + 1) * 3],
                                   np.asarray(single(x[..., g * 2:(g + 1) * 2])), rtol=1e-5,
                                   atol=1e-6)


def test_pooling_values():
    x = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
    np.testing.assert_array_equal(np.asarray(layers.MaxPooling2D()(x))[0, :, :, 0],
                                  [[5, 7], [13, 15]])
    np.testing.assert_array_equal(np.asarray(layers.AveragePooling2D()(x))[0, :, :, 0],
                                  [[2.5, 4.5], [10.5, 12.5]])
    np.testing.assert_array_equal(np.asarray(layers.GlobalMaxPooling2D()(x)), [[15]])
    np.testing.assert_array_equal(np.asarray(layers.GlobalAveragePooling2D()(x)), [[7.5]])


def test_padding_cropping_upsampling_rescaling_values():
    x = np.arange(4, dtype="float32").reshape(1, 2, 2, 1)
    padded = np.asarray(layers.ZeroPadding2D(((1, 0), (0, 2)))(x))[0, :, :, 0]
    np.testing.assert_array_equal(padded, [[0, 0, 0, 0], [0, 1, 0, 0], [2, 3, 0, 0]])
    cropped = np.asarray(layers.Cropping2D(((1, 0), (0, 1)))(x))[0, :, :, 0]
    np.testing.assert_array_equal(cropped, [[2]])
    upsampled = np.asarray(layers.UpSampling2D(2)(x))[0, :, :, 0]
    np.testing.assert_array_equal(upsampled, [[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3],
                                              [2, 2, 3, 3]])
    pixels = np.array([[0, 255]], "uint8")
    np.testing.assert_allclose(np.asarray(layers.Rescaling(1 / 127.5, offset=-1)(pixels)),
                               [[-1, 1]])


def test_small_cnn_trains():
    keras.utils.set_random_seed(0)
    x = RNG.standard_normal((64, 8, 8, 1)).astype("float32")
    y = (x[:, :, :4].mean(axis=(1, 2, 3)) > x[:, :, 4:].mean(axis=(1, 2, 3))).astype("int64")
    model = keras.Sequential([
        keras.Input((8, 8, 1)), layers.Conv2D(4, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(), layers.Flatten(), layers.Dense(2, activation="softmax")])
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=15, verbose=0)
    assert history.history["accuracy"][-1] > 0.9


@pytest.mark.parametrize("size, data_format", [(2, "channels_last"), ((3, 2), "channels_last"),
                                               (2, "channels_first")])
def test_upsampling_bilinear_matches_torch_forward_and_gradient(size, data_format):
    """Keras's bilinear UpSampling2D (half-pixel centres, edges clamped) is PyTorch's
    interpolate(mode="bilinear", align_corners=False) for integer factors."""
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal((2, 3, 4, 5))  # channels-last (n, h, w, c) or first (n, c, h, w)
    layer = layers.UpSampling2D(size, data_format=data_format, interpolation="bilinear")
    from neuropil.autodiff import Tensor

    ours_in = Tensor(x, requires_grad=True)
    ours = layer(ours_in)
    weights = RNG.standard_normal(ours.shape)
    (ours * Tensor(weights)).sum().backward()

    nchw = x if data_format == "channels_first" else x.transpose(0, 3, 1, 2)
    theirs_in = torch.tensor(nchw, requires_grad=True)
    factor = (size, size) if isinstance(size, int) else size
    theirs = torch.nn.functional.interpolate(theirs_in, scale_factor=factor, mode="bilinear",
                                             align_corners=False)
    w = weights if data_format == "channels_first" else weights.transpose(0, 3, 1, 2)
    (theirs * torch.tensor(w)).sum().backward()
    to_ours = (lambda a: a) if data_format == "channels_first" else \
        (lambda a: a.transpose(0, 2, 3, 1))
    np.testing.assert_allclose(ours.numpy(), to_ours(theirs.detach().numpy()), rtol=1e-10,
                               atol=1e-12)
    np.testing.assert_allclose(ours_in.grad, to_ours(theirs_in.grad.numpy()), rtol=1e-10,
                               atol=1e-12)


def test_upsampling_interpolations_and_config():
    for interpolation in ("nearest", "bilinear", "bicubic", "lanczos3", "lanczos5"):
        layer = layers.UpSampling2D(2, interpolation=interpolation)
        out = layer(np.ones((1, 3, 3, 2), "float32"))
        assert out.shape == (1, 6, 6, 2) and out.dtype == np.float32
        np.testing.assert_allclose(out.numpy(), 1.0, rtol=1e-5)  # weights sum to 1
        clone = layers.UpSampling2D.from_config(layer.get_config())
        assert clone.interpolation == interpolation
    with pytest.raises(ValueError, match="UpSampling2D.*interpolation.*'area'"):
        layers.UpSampling2D(2, interpolation="area")
