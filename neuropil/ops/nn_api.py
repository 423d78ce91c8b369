"""``keras.ops``, neural-network part: activations, convolution, pooling, normalization,
one-hot encoding and the cross-entropies, with Keras's names and defaults.

Images are channels-last unless ``data_format="channels_first"`` is passed (the input is then
transposed in and the output back). 1-D convolution and pooling run as 2-D ones on an image of
height 1; 3-D ones are not implemented. The activations and losses call the fused engine ops
(softmax, log-softmax, softmax + cross-entropy...), so their gradients are the short closed
forms.

Example:
>>> from neuropil import ops
>>> ops.one_hot([0, 2], 3).numpy().tolist()
[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
"""
from __future__ import annotations

import numpy as np

from neuropil import backend
from neuropil.ops import activations as act, elementwise as ew, loss, reduce as rd
# Function by function: ``neuropil.ops.conv`` and ``.norm`` are Keras's functions, not modules.
from neuropil.ops.conv import conv2d, depthwise_conv2d
from neuropil.ops.conv_transpose import conv2d_transpose
from neuropil.ops.norm import batch_norm_inference
from neuropil.ops.pool import avg_pool2d, max_pool2d
from neuropil.ops.core_api import as_operand, cast, constant, floating, standardize_dtype
from neuropil.ops.numpy_api import clip, log, norm as _norm
from neuropil.ops.shape_api import expand_dims, moveaxis, split, squeeze, take_along_axis

__all__ = ["relu", "relu6", "sigmoid", "softplus", "softsign", "silu", "swish", "log_sigmoid",
           "leaky_relu", "hard_sigmoid", "hard_silu", "hard_swish", "elu", "selu", "gelu",
           "celu", "glu", "hard_tanh", "tanh_shrink", "softmax", "log_softmax",
           "conv", "depthwise_conv", "separable_conv", "conv_transpose", "max_pool",
           "average_pool", "batch_normalization", "moments", "normalize", "one_hot",
           "multi_hot", "binary_crossentropy", "categorical_crossentropy",
           "sparse_categorical_crossentropy"]


# ---- activations ------------------------------------------------------------------------
def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """max(x, 0). The optional arguments are ``keras.activations.relu``'s."""
    return act.relu(floating(x), negative_slope, max_value, threshold)


def relu6(x): return act.relu(floating(x), max_value=6.0)
def sigmoid(x): return act.sigmoid(floating(x))
def softplus(x): return act.softplus(floating(x))


def softsign(x):
    """x / (1 + |x|)."""
    x = floating(x)
    return ew.divide(x, ew.add(ew.abs(x), 1.0))


def silu(x): return act.silu(floating(x))
def swish(x): return silu(x)
def log_sigmoid(x): return ew.negative(act.softplus(ew.negative(floating(x))))
def leaky_relu(x, negative_slope=0.2): return act.leaky_relu(floating(x), negative_slope)


def hard_sigmoid(x):
    """x / 6 + 1/2, clipped to [0, 1] (Keras 3's definition)."""
    return ew.divide(act.relu(ew.add(floating(x), 3.0), max_value=6.0), 6.0)


def hard_silu(x):
    x = floating(x)
    return ew.multiply(x, hard_sigmoid(x))


def hard_swish(x): return hard_silu(x)
def elu(x, alpha=1.0): return act.elu(floating(x), alpha)
def selu(x): return act.selu(floating(x))


def gelu(x, approximate=True):
    """x·Φ(x); Keras's ops default is the tanh approximation (``approximate=True``)."""
    return act.gelu(floating(x), approximate)


def celu(x, alpha=1.0):
    """max(x, 0) + alpha·expm1(min(x, 0) / alpha)."""
    x = floating(x)
    negative = ew.minimum(x, 0.0)
    return ew.add(ew.maximum(x, 0.0), ew.multiply(ew.expm1(ew.divide(negative, alpha)), alpha))


def glu(x, axis=-1):
    """The first half of ``axis`` gated by the sigmoid of the second half."""
    x = floating(x)
    if x.shape[axis] % 2:
        raise ValueError(f"glu: axis {axis} must have an even size. Received: x.shape={x.shape}")
    a, b = split(x, 2, axis)
    return ew.multiply(a, act.sigmoid(b))


def hard_tanh(x): return ew.clip(floating(x), -1.0, 1.0)


def tanh_shrink(x):
    x = floating(x)
    return ew.subtract(x, act.tanh(x))


def softmax(x, axis=-1): return act.softmax(floating(x), axis)
def log_softmax(x, axis=-1): return act.log_softmax(floating(x), axis)


# ---- convolution and pooling ------------------------------------------------------------
def _channels_first(data_format) -> bool:
    data_format = data_format or backend.image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError("data_format must be 'channels_last' or 'channels_first'. "
                         f"Received: data_format={data_format!r}")
    return data_format == "channels_first"


def _spatial(fn, what, inputs, kernels, data_format, **options):
    """Runs a 2-D engine op on 1-D or 2-D inputs, in channels-last order."""
    inputs = as_operand(inputs)
    rank = inputs.ndim - 2
    if rank not in (1, 2):
        raise NotImplementedError(f"{what}: neuropil implements 1-D and 2-D inputs, of rank "
                                  f"3 or 4. Received: inputs.shape={inputs.shape}")
    first = _channels_first(data_format)
    if first:
        inputs = moveaxis(inputs, 1, -1)
    if rank == 1:  # (N, W, C) as an image of height 1
        inputs = expand_dims(inputs, 1)
        kernels = [expand_dims(k, 0) for k in kernels]
        options = {key: _height_one(key, value) for key, value in options.items()}
    out = fn(inputs, *kernels, **options)
    if rank == 1:
        out = squeeze(out, 1)
    return moveaxis(out, -1, 1) if first else out


def _height_one(key, value):
    """An option of a 1-D op as the 2-D op's: the height axis has size 1, stride 1."""
    if key == "padding" or value is None:
        return value
    width = value if isinstance(value, int) else value[0]
    return (0, width) if key == "output_padding" else (1, width)


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """Convolution (cross-correlation) of 1-D or 2-D inputs with a kernel of shape
    ``(*kernel_size, in_channels, out_channels)``."""
    return _spatial(conv2d, "conv", inputs, [kernel], data_format, strides=strides,
                    padding=padding, dilation_rate=dilation_rate)


def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None,
                   dilation_rate=1):
    """Each channel convolved with its own filters: kernel ``(*kernel_size, in_channels,
    depth_multiplier)``."""
    return _spatial(depthwise_conv2d, "depthwise_conv", inputs, [kernel], data_format,
                    strides=strides, padding=padding, dilation_rate=dilation_rate)


def separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides=1, padding="valid",
                   data_format=None, dilation_rate=1):
    """A depthwise convolution followed by a 1x1 (pointwise) one."""
    depthwise = depthwise_conv(inputs, depthwise_kernel, strides, padding, data_format,
                               dilation_rate)
    return conv(depthwise, pointwise_kernel, 1, "valid", data_format, 1)


def conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None,
                   data_format=None, dilation_rate=1):
    """Transposed convolution; kernel ``(*kernel_size, out_channels, in_channels)``."""
    return _spatial(conv2d_transpose, "conv_transpose", inputs, [kernel], data_format,
                    strides=strides, padding=padding, output_padding=output_padding,
                    dilation_rate=dilation_rate)


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """The largest value of each window (strides default to ``pool_size``)."""
    return _spatial(max_pool2d, "max_pool", inputs, [], data_format,
                    pool_size=pool_size, strides=strides, padding=padding)


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """The mean of each window; with "same" padding, over the image's values only."""
    return _spatial(avg_pool2d, "average_pool", inputs, [], data_format,
                    pool_size=pool_size, strides=strides, padding=padding)


# ---- normalization ----------------------------------------------------------------------
def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3):
    """(x - mean) / sqrt(variance + epsilon) · scale + offset, per entry of ``axis``;
    differentiable in every argument."""
    return batch_norm_inference(floating(x), as_operand(mean), as_operand(variance),
                                     None if scale is None else as_operand(scale),
                                     None if offset is None else as_operand(offset),
                                     axis=axis, epsilon=epsilon)


def moments(x, axes, keepdims=False, synchronized=False):
    """The mean and the biased variance of ``x`` over ``axes``."""
    if synchronized:
        raise NotImplementedError("moments(synchronized=True) needs several devices.")
    x = floating(x)
    axes = (axes,) if isinstance(axes, int) else tuple(axes)
    mean = rd.mean(x, axes, keepdims=True)
    variance = rd.mean(ew.square(ew.subtract(x, mean)), axes, keepdims=keepdims)
    return (mean if keepdims else squeeze(mean, axes)), variance


def normalize(x, axis=-1, order=2, epsilon=None):
    """x divided by its ``order``-norm along ``axis`` (at least ``epsilon``)."""
    x = floating(x)
    epsilon = backend.epsilon() if epsilon is None else epsilon
    if order == 2:
        # NOTE: the squared norm is floored at epsilon², so the norm itself is floored at
        # epsilon as Keras does (and a zero vector keeps a finite gradient).
        square_sum = rd.sum(ew.square(x), axis, keepdims=True)
        return ew.divide(x, ew.sqrt(ew.maximum(square_sum, epsilon * epsilon)))
    return ew.divide(x, ew.maximum(_norm(x, order, axis, keepdims=True), epsilon))


# ---- encodings --------------------------------------------------------------------------
def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    """A new axis of ``num_classes`` with a 1 at each index (floatx by default); negative
    and out-of-range indices give all-zero rows."""
    if sparse:
        raise ValueError("one_hot: neuropil has no sparse tensors; use sparse=False.")
    labels = np.asarray(x).astype(np.int64)
    encoded = (labels[..., None] == np.arange(int(num_classes))).astype(
        standardize_dtype(dtype))
    return constant(np.moveaxis(encoded, -1, axis) if axis != -1 else encoded)


def multi_hot(inputs, num_classes=None, axis=-1, dtype=None, sparse=False, **kwargs):
    """One row per sample with a 1 at each of its indices: (batch, n) -> (batch, classes)."""
    num_classes = kwargs.pop("num_tokens", num_classes)
    labels = np.asarray(inputs)
    encoded = np.asarray(one_hot(labels, num_classes, axis, dtype, sparse))
    return constant(encoded.max(axis=1 if labels.ndim > 1 else 0))


# ---- losses (one value per sample) ------------------------------------------------------
def _same_shape(target, output, what):
    if target.shape != output.shape:
        raise ValueError(f"{what}: target and output must have the same shape. Received: "
                         f"target.shape={target.shape}, output.shape={output.shape}")


def binary_crossentropy(target, output, from_logits=False):
    """-[t·log p + (1 - t)·log(1 - p)] elementwise, p clipped to [eps, 1 - eps]. With
    logits it is computed exactly from them (no clipping needed)."""
    output = floating(output)
    target = as_operand(target)
    _same_shape(target, output, "binary_crossentropy")
    target = _like_output(target, output)
    if from_logits:
        return loss.sigmoid_binary_cross_entropy(output, target)
    eps = backend.epsilon()
    p = clip(output, eps, 1.0 - eps)
    terms = ew.add(ew.multiply(target, ew.log(p)),
                   ew.multiply(ew.subtract(1.0, target), ew.log(ew.subtract(1.0, p))))
    return ew.negative(terms)


def _like_output(target, output):
    """Targets in the output's dtype (integer labels become floats)."""
    return target if target.dtype == output.dtype else cast(target, output.dtype)


def _log_probs(output, from_logits, axis):
    if from_logits:
        return act.log_softmax(output, axis)
    eps = backend.epsilon()
    return log(clip(ew.divide(output, rd.sum(output, axis, keepdims=True)), eps, 1.0 - eps))


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """-Σ target·log p over ``axis``; ``output`` holds probabilities (renormalized, clipped)
    or, with ``from_logits``, logits (the fused softmax + cross-entropy op)."""
    output = floating(output)
    target = as_operand(target)
    _same_shape(target, output, "categorical_crossentropy")
    target = _like_output(target, output)
    if from_logits:
        return loss.softmax_cross_entropy(output, target, axis=axis)
    return ew.negative(rd.sum(ew.multiply(target, _log_probs(output, False, axis)), axis))


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """-log p[target] per sample; ``target`` holds integer class indices (a trailing axis
    of size 1 is dropped)."""
    output = floating(output)
    labels = np.asarray(target).astype(np.int64)
    if labels.ndim == output.ndim and labels.shape[-1] == 1:
        labels = labels[..., 0]
    if axis % output.ndim != output.ndim - 1:
        output = moveaxis(output, axis, -1)
    if labels.shape != output.shape[:-1]:
        raise ValueError("sparse_categorical_crossentropy: target must have the shape of "
                         "output without its class axis. Received: "
                         f"target.shape={labels.shape}, output.shape={output.shape}")
    classes = output.shape[-1]
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise ValueError(f"sparse_categorical_crossentropy: target holds class indices "
                         f"outside [0, {classes}): min {labels.min()}, max {labels.max()}.")
    if from_logits:
        return loss.sparse_softmax_cross_entropy(output, labels)
    picked = take_along_axis(_log_probs(output, False, -1), labels[..., None], -1)
    return ew.negative(squeeze(picked, -1))
