"""1-D convolution, pooling and reshaping layers (Conv1D ... Cropping1D).

- PyTorch CPU parity in float64 (layers built with dtype="float64"), forward and the input,
  kernel and bias gradients of sum(out · w) for random w: rtol=1e-9, atol=1e-10. Keras's
  "same"/"causal" paddings are given to torch as explicit zero (or -inf) padding, split as
  TensorFlow splits it (the smaller half first);
- float64 central differences (``check_op`` for the input, ``gradient_check`` of a model for
  every weight): rtol=1e-4, atol=1e-6;
- Keras's shapes, weight layouts, config keys, argument errors, saving and a training run.
"""
import json

import numpy as np
import pytest

import neuropil as keras
from neuropil import layers
from neuropil.autodiff import Tensor
from neuropil.explain import gradient_check
from helpers import check_op, random_array

RNG = np.random.default_rng(11)
TIGHT = dict(rtol=1e-9, atol=1e-10)


def forward_backward(layer, x, out_weights):
    """Runs ``layer`` on x and backpropagates sum(out · out_weights): (out, dx)."""
    inputs = Tensor(x, requires_grad=True)
    out = layer(inputs)
    (out * Tensor(out_weights)).sum().backward()
    return out.numpy(), inputs.grad


def same_pads(n, k, s, d=1):
    """TensorFlow's 'same' padding of one axis: (before, after), the smaller half first."""
    span = d * (k - 1) + 1
    total = max((-(-n // s) - 1) * s + span - n, 0)
    return total // 2, total - total // 2


def torch_conv1d(torch, x, kernel, bias, strides, padding, dilation, groups):
    """Keras's Conv1D on channels-last x with torch: kernel (k, in/g, out) -> (out, in/g, k)."""
    k = kernel.shape[0]
    xt = x.permute(0, 2, 1)
    if padding == "causal":
        xt = torch.nn.functional.pad(xt, (dilation * (k - 1), 0))
    elif padding == "same":
        xt = torch.nn.functional.pad(xt, same_pads(x.shape[1], k, strides, dilation))
    out = torch.nn.functional.conv1d(xt, kernel.permute(2, 1, 0), bias, stride=strides,
                                     dilation=dilation, groups=groups)
    return out.permute(0, 2, 1)


CONV1D_CASES = [  # (steps, in, filters, kernel, strides, padding, dilation, groups)
    (11, 3, 4, 3, 1, "valid", 1, 1),
    (11, 3, 4, 3, 1, "same", 1, 1),
    (11, 3, 4, 4, 1, "same", 1, 1),  # even kernel: one more zero after than before
    (11, 3, 4, 3, 1, "causal", 1, 1),
    (12, 2, 5, 3, 1, "causal", 3, 1),
    (13, 3, 4, 3, 2, "valid", 1, 1),
    (13, 3, 4, 4, 3, "same", 1, 1),
    (13, 3, 4, 2, 2, "causal", 1, 1),
    (10, 2, 3, 3, 1, "valid", 2, 1),
    (10, 4, 6, 3, 1, "same", 2, 2),
    (9, 1, 3, 5, 1, "same", 1, 1),  # one input channel: the compiled path when numba is here
    (10, 4, 6, 3, 1, "valid", 1, 2),  # groups: channel slices, non-contiguous views
    (10, 6, 6, 3, 2, "causal", 1, 3),
]


def assert_matches_torch(torch, theirs, w, out, dx, layer, xt, kt, bt):
    """Our output and the gradients of sum(out · w) against torch's, for x, kernel, bias."""
    (theirs * torch.tensor(w)).sum().backward()
    assert out.shape == tuple(theirs.shape)
    np.testing.assert_allclose(out, theirs.detach().numpy(), **TIGHT)
    np.testing.assert_allclose(dx, xt.grad.numpy(), **TIGHT)
    np.testing.assert_allclose(layer.kernel.grad, kt.grad.numpy(), **TIGHT)
    np.testing.assert_allclose(layer.bias.grad, bt.grad.numpy(), **TIGHT)


@pytest.mark.parametrize("steps, cin, filters, k, strides, padding, dilation, groups",
                         CONV1D_CASES)
@pytest.mark.parametrize("activation", [None, "relu"])
def test_conv1d_matches_torch(steps, cin, filters, k, strides, padding, dilation, groups,
                              activation):
    torch = pytest.importorskip("torch")
    layer = layers.Conv1D(filters, k, strides=strides, padding=padding, dilation_rate=dilation,
                          groups=groups, activation=activation, dtype="float64")
    x = RNG.standard_normal((2, steps, cin))
    layer.build(x.shape)
    assert layer.kernel.shape == (k, cin // groups, filters) and layer.bias.shape == (filters,)
    kernel, bias = RNG.standard_normal(layer.kernel.shape), RNG.standard_normal(filters)
    layer.set_weights([kernel, bias])
    out_shape = layer.compute_output_shape((None, steps, cin))
    w = RNG.standard_normal((2,) + out_shape[1:])
    out, dx = forward_backward(layer, x, w)

    xt, kt, bt = (torch.tensor(a, requires_grad=True) for a in (x, kernel, bias))
    theirs = torch_conv1d(torch, xt, kt, bt, strides, padding, dilation, groups)
    if activation == "relu":
        theirs = torch.relu(theirs)
    assert_matches_torch(torch, theirs, w, out, dx, layer, xt, kt, bt)
    assert out.shape == (2,) + out_shape[1:]


@pytest.mark.parametrize("padding, dilation", [
    ("causal", 2), ("same", 1), ("valid", 1)])  # valid: a transposed, strided view
def test_conv1d_channels_first_and_float32_match_torch(padding, dilation):
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal((3, 4, 12)).astype("float32")  # (batch, channels, steps)
    layer = layers.Conv1D(5, 3, padding=padding, dilation_rate=dilation,
                          data_format="channels_first")
    out = layer(x).numpy()
    assert out.shape == (3, 5, 12 if padding != "valid" else 10) and out.dtype == np.float32
    kernel, bias = (torch.tensor(v.numpy()) for v in layer.weights)
    xt = torch.tensor(x).permute(0, 2, 1)
    theirs = torch_conv1d(torch, xt, kernel, bias, 1, padding, dilation, 1).permute(0, 2, 1)
    np.testing.assert_allclose(out, theirs.numpy(), rtol=1e-4, atol=1e-5)


def test_causal_output_never_sees_the_future():
    layer = layers.Conv1D(2, 3, padding="causal", dilation_rate=2)
    x = RNG.standard_normal((1, 10, 1)).astype("float32")
    before = layer(x).numpy()
    x[0, 6:] += 100.0  # change steps 6..9 only
    after = layer(x).numpy()
    np.testing.assert_array_equal(after[0, :6], before[0, :6])
    assert np.abs(after[0, 6:] - before[0, 6:]).min() > 0


def torch_conv1d_transpose(torch, x, kernel, bias, strides, padding, output_padding, dilation):
    """Keras's Conv1DTranspose with torch: kernel (k, out, in) -> (in, out, k). The full
    transposed output is cut to Keras's length n' the way TensorFlow does it: ``total =
    full - n'`` entries dropped, ``total // 2`` of them at the start (the padding a 'same'
    conv from n' steps back to the input would put first); a shorter full output ends in
    zeros."""
    n, k = x.shape[1], kernel.shape[0]
    span = dilation * (k - 1) + 1
    full = torch.nn.functional.conv_transpose1d(x.permute(0, 2, 1), kernel.permute(2, 1, 0),
                                                bias, stride=strides, dilation=dilation)
    if output_padding is None:
        length = n * strides + (max(span - strides, 0) if padding == "valid" else 0)
    else:
        pad = span // 2 if padding == "same" else 0
        length = (n - 1) * strides + span - 2 * pad + output_padding
    start = max(full.shape[-1] - length, 0) // 2
    kept = full[..., start:start + length]
    if kept.shape[-1] < length:  # past the full output: zeros (plus the bias)
        tail = torch.zeros(kept.shape[:-1] + (length - kept.shape[-1],), dtype=kept.dtype)
        kept = torch.cat([kept, tail + bias[:, None]], dim=-1)
    return kept.permute(0, 2, 1)


@pytest.mark.parametrize("k, strides, padding, output_padding, dilation", [
    (3, 1, "valid", None, 1), (3, 2, "valid", None, 1), (3, 2, "same", None, 1),
    (4, 2, "same", None, 1), (2, 3, "valid", None, 1), (3, 3, "same", 2, 1),
    (3, 2, "valid", 1, 1), (3, 1, "same", None, 2), (4, 2, "same", 1, 1),
])
def test_conv1d_transpose_matches_torch(k, strides, padding, output_padding, dilation):
    torch = pytest.importorskip("torch")
    layer = layers.Conv1DTranspose(3, k, strides=strides, padding=padding,
                                   output_padding=output_padding, dilation_rate=dilation,
                                   dtype="float64")
    x = RNG.standard_normal((2, 5, 4))
    layer.build(x.shape)
    assert layer.kernel.shape == (k, 3, 4)  # (kernel_size, filters, in_channels)
    kernel, bias = RNG.standard_normal(layer.kernel.shape), RNG.standard_normal(3)
    layer.set_weights([kernel, bias])
    out_shape = layer.compute_output_shape((None, 5, 4))
    w = RNG.standard_normal((2,) + out_shape[1:])
    out, dx = forward_backward(layer, x, w)

    xt, kt, bt = (torch.tensor(a, requires_grad=True) for a in (x, kernel, bias))
    theirs = torch_conv1d_transpose(torch, xt, kt, bt, strides, padding, output_padding,
                                    dilation)
    assert_matches_torch(torch, theirs, w, out, dx, layer, xt, kt, bt)
    assert out.shape == (2,) + out_shape[1:]


def test_depthwise_and_separable_conv1d_match_torch():
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal((2, 9, 3))
    depthwise = layers.DepthwiseConv1D(3, depth_multiplier=2, padding="same", dtype="float64")
    separable = layers.SeparableConv1D(4, 3, depth_multiplier=2, strides=2, dtype="float64")
    for layer in (depthwise, separable):
        layer.build(x.shape)
        layer.set_weights([RNG.standard_normal(v.shape) for v in layer.weights])
    assert depthwise.kernel.shape == (3, 3, 2) and depthwise.bias.shape == (6,)
    assert separable.depthwise_kernel.shape == (3, 3, 2)
    assert separable.pointwise_kernel.shape == (1, 6, 4) and separable.bias.shape == (4,)

    xt = torch.tensor(x).permute(0, 2, 1)
    # Output channel c·multiplier + m is channel c under filter m, as in torch's groups=in.
    dk = torch.tensor(depthwise.kernel.numpy()).reshape(3, 6, 1).permute(1, 2, 0)
    theirs = torch.nn.functional.conv1d(torch.nn.functional.pad(xt, (1, 1)), dk,
                                        torch.tensor(depthwise.bias.numpy()), groups=3)
    np.testing.assert_allclose(depthwise(x).numpy(), theirs.permute(0, 2, 1).numpy(), **TIGHT)

    sk = torch.tensor(separable.depthwise_kernel.numpy()).reshape(3, 6, 1).permute(1, 2, 0)
    pk = torch.tensor(separable.pointwise_kernel.numpy()).permute(2, 1, 0)
    theirs = torch.nn.functional.conv1d(torch.nn.functional.conv1d(xt, sk, stride=2, groups=3),
                                        pk, torch.tensor(separable.bias.numpy()))
    np.testing.assert_allclose(separable(x).numpy(), theirs.permute(0, 2, 1).numpy(), **TIGHT)


def torch_pool1d(torch, x, kind, pool, strides, padding):
    """Keras's pooling on channels-last x: 'same' pads TensorFlow's way; max pads with -inf,
    and the average counts only the input's values (a zero-padded sum over a count)."""
    xt = x.permute(0, 2, 1)
    pads = same_pads(x.shape[1], pool, strides) if padding == "same" else (0, 0)
    functional = torch.nn.functional
    if kind == "max":
        out = functional.max_pool1d(functional.pad(xt, pads, value=-np.inf), pool, strides)
    else:
        ones = torch.ones_like(xt[:1, :1])
        count = functional.avg_pool1d(functional.pad(ones, pads), pool, strides)
        out = functional.avg_pool1d(functional.pad(xt, pads), pool, strides) / count
    return out.permute(0, 2, 1)


@pytest.mark.parametrize("pool, strides, padding, steps", [
    (2, None, "valid", 10), (2, None, "valid", 11), (3, 2, "valid", 10), (3, 1, "same", 10),
    (2, None, "same", 11), (4, 3, "same", 11), (5, 2, "same", 6),
])
@pytest.mark.parametrize("kind", ["max", "average"])
def test_pooling1d_matches_torch(kind, pool, strides, padding, steps):
    torch = pytest.importorskip("torch")
    cls = layers.MaxPooling1D if kind == "max" else layers.AveragePooling1D
    layer = cls(pool, strides=strides, padding=padding)
    x = RNG.standard_normal((2, steps, 3))
    out_shape = layer.compute_output_shape((None, steps, 3))
    w = RNG.standard_normal((2,) + out_shape[1:])
    out, dx = forward_backward(layer, x, w)
    xt = torch.tensor(x, requires_grad=True)
    theirs = torch_pool1d(torch, xt, kind, pool, strides or pool, padding)
    (theirs * torch.tensor(w)).sum().backward()
    assert out.shape == tuple(theirs.shape) == (2,) + out_shape[1:]
    np.testing.assert_allclose(out, theirs.detach().numpy(), **TIGHT)
    np.testing.assert_allclose(dx, xt.grad.numpy(), **TIGHT)


def test_pooling1d_channels_first_and_by_hand():
    x = np.array([1.0, 5.0, 2.0, 0.0, 3.0]).reshape(1, 5, 1)
    np.testing.assert_array_equal(layers.MaxPooling1D(2, padding="same")(x).numpy()[0, :, 0],
                                  [5, 2, 3])
    np.testing.assert_allclose(layers.AveragePooling1D(2, padding="same")(x).numpy()[0, :, 0],
                               [3, 1, 3])  # the last window holds only the 3
    np.testing.assert_array_equal(layers.MaxPool1D(3, 1)(x).numpy()[0, :, 0], [5, 5, 3])
    first = np.moveaxis(RNG.standard_normal((2, 7, 3)), 1, 2)  # (batch, channels, steps)
    out = layers.MaxPooling1D(2, data_format="channels_first")(first).numpy()
    expected = layers.MaxPooling1D(2)(np.moveaxis(first, 1, 2)).numpy()
    np.testing.assert_array_equal(out, np.moveaxis(expected, 1, 2))


@pytest.mark.parametrize("data_format, keepdims", [("channels_last", False),
                                                   ("channels_last", True),
                                                   ("channels_first", False),
                                                   ("channels_first", True)])
def test_global_pooling1d(data_format, keepdims):
    x = RNG.standard_normal((2, 6, 3))
    steps = 2 if data_format == "channels_first" else 1
    for cls, reduce in ((layers.GlobalAveragePooling1D, np.mean),
                        (layers.GlobalMaxPooling1D, np.max)):
        layer = cls(data_format=data_format, keepdims=keepdims, dtype="float64")
        out = layer(x).numpy()
        np.testing.assert_allclose(out, reduce(x, axis=steps, keepdims=keepdims), **TIGHT)
        assert layer.compute_output_shape((None,) + x.shape[1:]) == (None,) + out.shape[1:]
        check_op(lambda t, layer=layer: layer(t), random_array(2, 5, 3, seed=3))


@pytest.mark.parametrize("size", [1, 2, 3])
def test_upsampling1d_matches_torch(size):
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal((2, 4, 3))
    w = RNG.standard_normal((2, 4 * size, 3))
    out, dx = forward_backward(layers.UpSampling1D(size), x, w)
    xt = torch.tensor(x, requires_grad=True)
    theirs = torch.nn.functional.interpolate(xt.permute(0, 2, 1), scale_factor=size,
                                             mode="nearest").permute(0, 2, 1)
    (theirs * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(out, theirs.detach().numpy(), **TIGHT)
    np.testing.assert_allclose(dx, xt.grad.numpy(), **TIGHT)


def test_zero_padding_and_cropping1d_by_hand():
    x = np.arange(1.0, 5.0).reshape(1, 4, 1)
    np.testing.assert_array_equal(layers.ZeroPadding1D()(x).numpy()[0, :, 0], [0, 1, 2, 3, 4, 0])
    np.testing.assert_array_equal(layers.ZeroPadding1D((2, 0))(x).numpy()[0, :, 0],
                                  [0, 0, 1, 2, 3, 4])
    first = layers.ZeroPadding1D((0, 1), data_format="channels_first")(np.ones((1, 2, 3)))
    np.testing.assert_array_equal(first.numpy()[0], [[1, 1, 1, 0], [1, 1, 1, 0]])
    np.testing.assert_array_equal(layers.Cropping1D()(x).numpy()[0, :, 0], [2, 3])
    np.testing.assert_array_equal(layers.Cropping1D((0, 3))(x).numpy()[0, :, 0], [1])
    for layer in (layers.ZeroPadding1D((1, 2), dtype="float64"),
                  layers.Cropping1D((1, 0), dtype="float64"),
                  layers.UpSampling1D(2, dtype="float64")):
        check_op(lambda t, layer=layer: layer(t), random_array(2, 4, 3, seed=5))


def test_numerical_gradients_of_every_weight():
    """Central differences in float64 of every weight of a model of the 1-D layers."""
    keras.utils.set_random_seed(1)
    f64 = dict(dtype="float64")
    model = keras.Sequential([
        keras.Input((12, 4)),
        layers.Conv1D(6, 3, padding="causal", dilation_rate=2, groups=2, **f64),
        layers.MaxPooling1D(2, padding="same", **f64),
        layers.Conv1D(4, 3, strides=2, padding="same", activation="tanh", **f64),
        layers.Conv1DTranspose(3, 3, strides=2, output_padding=1, **f64),
        layers.AveragePooling1D(3, strides=1, **f64),
        layers.DepthwiseConv1D(2, depth_multiplier=2, **f64),
        layers.SeparableConv1D(3, 2, padding="same", **f64),
        layers.GlobalMaxPooling1D(**f64)])
    x, y = random_array(3, 12, 4, seed=2), random_array(3, 3, seed=4)
    result = gradient_check(model, x, y, loss="mse", max_checks=40)
    assert result.ok, str(result)
    assert len(result.by_layer) == 5  # every layer with weights was checked
    # and the input gradient of a strided, dilated... causal convolution alone
    conv = layers.Conv1D(3, 3, padding="causal", dilation_rate=3, **f64)
    check_op(lambda t: conv(t), random_array(2, 9, 2, seed=6))


SUMMARY_LAYERS = [  # (layer, output shape in the summary, parameters)
    (layers.Conv1D(8, 3, padding="causal", name="causal"), "(None, 20, 8)", (3 * 3 + 1) * 8),
    (layers.MaxPooling1D(name="pool"), "(None, 10, 8)", 0),
    (layers.Conv1D(8, 3, strides=2, groups=4, name="grouped"), "(None, 4, 8)",
     3 * 2 * 8 + 8),
    (layers.UpSampling1D(3, name="up"), "(None, 12, 8)", 0),
    (layers.ZeroPadding1D((1, 2), name="pad"), "(None, 15, 8)", 0),
    (layers.Cropping1D((0, 4), name="crop"), "(None, 11, 8)", 0),
    (layers.SeparableConv1D(6, 3, padding="same", name="separable"), "(None, 11, 6)",
     3 * 8 + 8 * 6 + 6),
    (layers.DepthwiseConv1D(4, depth_multiplier=2, name="depthwise"), "(None, 8, 12)",
     4 * 6 * 2 + 12),
    (layers.Conv1DTranspose(5, 3, strides=2, name="transpose"), "(None, 17, 5)",
     3 * 5 * 12 + 5),
    (layers.AveragePooling1D(3, strides=2, padding="same", name="avg"), "(None, 9, 5)", 0),
    (layers.GlobalAveragePooling1D(name="global"), "(None, 5)", 0),
]


def test_sequential_summary_shows_the_output_shapes():
    model = keras.Sequential([keras.Input((20, 3))] + [layer for layer, _, _ in SUMMARY_LAYERS])
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    for layer, shape, params in SUMMARY_LAYERS:
        row = next(line for line in text.splitlines() if line.lstrip("│ ").startswith(
            layer.name + " "))
        assert shape in row, row
        assert f"{params:,}" in row.split(shape)[-1], row
        assert layer.count_params() == params
    assert model.output_shape == (None, 5)
    assert model.predict(RNG.standard_normal((2, 20, 3)), verbose=0).shape == (2, 5)


# Keras 3's get_config keys (besides name, trainable, dtype), from its layer sources.
CONV_KEYS = {"kernel_size", "strides", "padding", "data_format", "dilation_rate", "activation",
             "use_bias", "bias_initializer", "bias_regularizer", "activity_regularizer",
             "bias_constraint"}
KERAS_KEYS = {
    "Conv1D": CONV_KEYS | {"filters", "groups", "kernel_initializer", "kernel_regularizer",
                           "kernel_constraint"},
    "Conv1DTranspose": CONV_KEYS | {"filters", "output_padding", "kernel_initializer",
                                    "kernel_regularizer", "kernel_constraint"},
    "DepthwiseConv1D": CONV_KEYS | {"depth_multiplier", "depthwise_initializer",
                                    "depthwise_regularizer", "depthwise_constraint"},
    "SeparableConv1D": CONV_KEYS | {"filters", "depth_multiplier", "depthwise_initializer",
                                    "pointwise_initializer", "depthwise_regularizer",
                                    "pointwise_regularizer", "depthwise_constraint",
                                    "pointwise_constraint"},
    "MaxPooling1D": {"pool_size", "strides", "padding", "data_format"},
    "AveragePooling1D": {"pool_size", "strides", "padding", "data_format"},
    "GlobalAveragePooling1D": {"data_format", "keepdims"},
    "GlobalMaxPooling1D": {"data_format", "keepdims"},
    "UpSampling1D": {"size"},
    "ZeroPadding1D": {"padding", "data_format"},
    "Cropping1D": {"cropping"},
}
CONFIGURED = [
    layers.Conv1D(4, 5, strides=2, padding="same", groups=2, activation="relu",
                  kernel_regularizer="l2", use_bias=False),
    layers.Conv1DTranspose(3, 3, strides=2, output_padding=1, data_format="channels_first"),
    layers.DepthwiseConv1D(3, depth_multiplier=2, dilation_rate=2),
    layers.SeparableConv1D(4, 3, padding="same", depth_multiplier=3),
    layers.MaxPooling1D(3, strides=1, padding="same"), layers.AveragePooling1D(),
    layers.GlobalAveragePooling1D(keepdims=True), layers.GlobalMaxPooling1D(),
    layers.UpSampling1D(3), layers.ZeroPadding1D((1, 2)), layers.Cropping1D(2),
]


@pytest.mark.parametrize("layer", CONFIGURED, ids=lambda layer: type(layer).__name__)
def test_config_keys_follow_keras_and_round_trip(layer):
    config = layer.get_config()
    assert set(config) - {"name", "trainable", "dtype"} == KERAS_KEYS[type(layer).__name__]
    json.dumps(config)
    clone = type(layer).from_config(config)
    assert clone.get_config() == config


def test_defaults_and_one_tuples_as_in_keras():
    config = layers.Conv1D(8, 3).get_config()
    assert (config["kernel_size"], config["strides"], config["dilation_rate"]) == ((3,), (1,),
                                                                                 (1,))
    assert config["padding"] == "valid" and config["groups"] == 1
    assert config["data_format"] == "channels_last"
    assert layers.Conv1DTranspose(2, 3).get_config()["output_padding"] is None
    pool = layers.MaxPooling1D().get_config()
    assert pool["pool_size"] == (2,) and pool["strides"] == (2,) and pool["padding"] == "valid"
    assert layers.UpSampling1D().size == 2
    assert layers.ZeroPadding1D().padding == (1, 1) and layers.Cropping1D().cropping == (1, 1)
    assert layers.Conv1D(2, 3, padding="CAUSAL").padding == "causal"


def test_aliases_are_the_same_classes():
    assert layers.Convolution1D is layers.Conv1D
    assert layers.Convolution1DTranspose is layers.Conv1DTranspose
    assert layers.SeparableConvolution1D is layers.SeparableConv1D
    assert layers.MaxPool1D is layers.MaxPooling1D
    assert layers.AvgPool1D is layers.AveragePooling1D
    assert layers.GlobalAvgPool1D is layers.GlobalAveragePooling1D
    assert layers.GlobalMaxPool1D is layers.GlobalMaxPooling1D


@pytest.mark.parametrize("make, error, match", [
    (lambda: layers.Conv1D(0, 3), ValueError, "Conv1D.*filters"),
    (lambda: layers.Conv1D(4, (3, 3)), ValueError, "Conv1D.*kernel_size"),
    (lambda: layers.Conv1D(4, 3, padding="full"), ValueError,
     "Conv1D.*'valid', 'same' or 'causal'.*full"),
    (lambda: layers.Conv1D(4, 3, strides=2, dilation_rate=2), ValueError, "Conv1D.*strides"),
    (lambda: layers.Conv1D(5, 3, groups=2), ValueError, "Conv1D.*divisible"),
    (lambda: layers.Conv1DTranspose(4, 3, padding="causal"), ValueError,
     "Conv1DTranspose.*'valid' or 'same'"),
    (lambda: layers.Conv1DTranspose(4, 3, strides=2, output_padding=2), ValueError,
     "Conv1DTranspose.*output_padding"),
    (lambda: layers.SeparableConv1D(4, 3, padding="causal"), ValueError, "SeparableConv1D"),
    (lambda: layers.DepthwiseConv1D(3, depth_multiplier=0), ValueError,
     "DepthwiseConv1D.*depth_multiplier"),
    (lambda: layers.MaxPooling1D(0), ValueError, "MaxPooling1D.*pool_size"),
    (lambda: layers.AveragePooling1D(2, padding="causal"), ValueError, "AveragePooling1D"),
    (lambda: layers.GlobalMaxPooling1D(data_format="nwc"), ValueError, "data_format"),
    (lambda: layers.UpSampling1D((2,)), TypeError, "UpSampling1D.*size"),
    (lambda: layers.UpSampling1D(0), ValueError, "UpSampling1D.*size"),
    (lambda: layers.ZeroPadding1D((1, 2, 3)), ValueError, "ZeroPadding1D.*padding"),
    (lambda: layers.Cropping1D(-1), ValueError, "Cropping1D.*cropping"),
])
def test_bad_arguments_are_clear_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()


@pytest.mark.parametrize("layer, input_shape, match", [
    (layers.Conv1D(2, 7, name="wide"), (5, 1), r'"wide".*\(7,\).*\(5,\)'),
    (layers.Conv1D(2, 3, dilation_rate=3, name="dilated"), (6, 1),
     r'"dilated".*dilated to \(7,\)'),
    (layers.MaxPooling1D(4, name="pool"), (3, 2), r'"pool".*pool window.*\(4,\).*\(3,\)'),
    (layers.Cropping1D((2, 3), name="crop"), (5, 2), r'"crop".*removes every step'),
    (layers.Conv1D(2, 3, groups=2, name="groups"), (8, 3), r'"groups".*divisible'),
    (layers.Conv1D(2, 3, name="rank"), (8, 8, 1), "rank"),
])
def test_impossible_configurations_name_the_layer(layer, input_shape, match):
    with pytest.raises(ValueError, match=match):
        keras.Sequential([keras.Input(input_shape), layer])


def test_keras_file_round_trip(tmp_path):
    keras.utils.set_random_seed(3)
    inputs = keras.Input((16, 2))
    x = layers.Conv1D(4, 3, padding="causal", activation="relu")(inputs)
    x = layers.SeparableConv1D(4, 3, padding="same")(x)
    x = layers.MaxPool1D()(x)
    x = layers.Conv1DTranspose(3, 3, strides=2, padding="same")(x)
    x = layers.DepthwiseConv1D(2)(layers.ZeroPadding1D()(x))
    x = layers.Cropping1D((1, 0))(layers.UpSampling1D()(layers.AvgPool1D()(x)))
    outputs = layers.Dense(2)(layers.GlobalAvgPool1D()(x))
    model = keras.Model(inputs, outputs)
    model.save(tmp_path / "m.keras")
    restored = keras.models.load_model(tmp_path / "m.keras")
    assert restored.get_config() == model.get_config()
    assert [w.shape for w in restored.weights] == [w.shape for w in model.weights]
    x = RNG.standard_normal((3, 16, 2)).astype("float32")
    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))
    # .weights.h5 alone, into a freshly built twin
    model.save_weights(tmp_path / "m.weights.h5")
    twin = keras.Model.from_config(model.get_config())
    twin.load_weights(tmp_path / "m.weights.h5")
    np.testing.assert_array_equal(twin.predict(x, verbose=0), model.predict(x, verbose=0))


def test_small_conv1d_model_trains():
    """Which half of a noisy sequence holds a bump: a Conv1D model learns it."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(0, 0.3, (128, 24, 1)).astype("float32")
    y = rng.integers(0, 2, 128)
    for i, label in enumerate(y):
        start = rng.integers(0, 9) + 12 * label
        x[i, start:start + 3, 0] += 1.5
    model = keras.Sequential([
        keras.Input((24, 1)), layers.Conv1D(8, 3, padding="causal", activation="relu"),
        layers.MaxPooling1D(2), layers.Conv1D(8, 3, padding="same", activation="relu"),
        layers.Flatten(), layers.Dense(2, activation="softmax")])
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=12, batch_size=32, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.5 * losses[0]
    assert history.history["accuracy"][-1] > 0.9


def test_sequences_of_any_length():
    model = keras.Sequential([
        keras.Input((None, 3)), layers.Conv1D(4, 3, padding="causal"), layers.MaxPooling1D(),
        layers.Conv1DTranspose(2, 3, strides=2), layers.UpSampling1D(), layers.Cropping1D(),
        layers.GlobalMaxPooling1D()])
    assert model.layers[0].compute_output_shape((None, None, 3)) == (None, None, 4)
    for steps in (9, 17):
        assert model.predict(RNG.standard_normal((2, steps, 3)), verbose=0).shape == (2, 2)


def test_explain_reports_the_one_dimensional_layers():
    """explain's image-specific reports leave the 1-D layers to their plain forms."""
    from neuropil import explain
    model = keras.Sequential([
        keras.Input((20, 3)), layers.Conv1D(4, 3, padding="causal", dilation_rate=2),
        layers.MaxPooling1D(), layers.Conv1DTranspose(2, 3, strides=2),
        layers.GlobalAveragePooling1D()])
    weights = str(explain.count_weights(model))
    assert "kernel 3·3·4 + bias 4 = 40" in weights and "kernel 3·2·4 + bias 2 = 26" in weights
    shapes = str(explain.output_shapes(model))
    assert "padding 'causal': ceil(20/1) = 20 (4 zeros added before)" in shapes
    assert "steps (20 + 2·0 − 2)/2 + 1 = 10" in shapes
    assert "steps 10·2 + max(3 − 2, 0) = 21" in shapes
    report = str(explain.trace(model, RNG.standard_normal((1, 20, 3))))
    assert "(Conv1D): (20, 3) → (20, 4)" in report
