"""1D convolution layers: Conv1D, Conv1DTranspose, SeparableConv1D, DepthwiseConv1D.

A 1-D convolution slides a kernel along the steps of a sequence (time series, audio, text
embeddings): input (batch, steps, channels), kernels (kernel_size, in_channels, filters), as
in Keras, so ``.weights.h5`` files move between the two. Each layer is its 2-D twin of
``conv.py`` run on a height-1 image (``conv_utils.OneDimensional``): the arguments, checks,
bias, activation, groups and the ops are the 2-D ones; only the shapes the user sees are 1-D.

``Conv1D(padding="causal")`` puts dilation·(kernel_size - 1) zeros before the sequence and
none after, so output step t depends on input steps <= t only (WaveNet's convolutions); the
output has ceil(steps / strides) steps, as with ``"same"``.
"""
from __future__ import annotations

from neuropil.layers.conv import Conv2D, Conv2DTranspose, DepthwiseConv2D, SeparableConv2D
from neuropil.layers.conv_utils import OneDimensional

__all__ = ["Conv1D", "Conv1DTranspose", "SeparableConv1D", "DepthwiseConv1D"]


class Conv1D(OneDimensional, Conv2D):
    """1D convolution: ``filters`` kernels slid along the steps, one output channel each.

    Args:
        filters: number of kernels, i.e. output channels.
        kernel_size: int or (size,): steps each kernel covers.
        strides: int or (stride,) (default 1). ``strides > 1`` excludes ``dilation_rate > 1``.
        padding: ``"valid"`` (default, no padding), ``"same"`` (output = ceil(steps /
            stride)) or ``"causal"`` (zeros on the left only; output t sees inputs <= t).
        data_format: ``"channels_last"`` (default, (batch, steps, channels)) or
            ``"channels_first"`` ((batch, channels, steps)).
        dilation_rate: int or (rate,) (default 1): spacing between the kernel's taps.
        groups: split the input channels into this many groups, each with its own
            filters / groups kernels.
        activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
        bias_regularizer, activity_regularizer, kernel_constraint, bias_constraint: as in
            Conv2D.

    Kernel shape: (kernel_size, in_channels // groups, filters); bias: (filters,).

    Input shape: (batch, steps, channels). Output shape: (batch, new_steps, filters).

    Example:
    >>> x = np.zeros((4, 10, 128), "float32")
    >>> keras.layers.Conv1D(32, 3, activation="relu")(x).shape
    (4, 8, 32)
    >>> keras.layers.Conv1D(32, 3, padding="causal", dilation_rate=2)(x).shape
    (4, 10, 32)
    """

    paddings = ("valid", "same", "causal")

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate,
                         groups, activation, use_bias, kernel_initializer, bias_initializer,
                         kernel_regularizer, bias_regularizer, activity_regularizer,
                         kernel_constraint, bias_constraint, **kwargs)


class Conv1DTranspose(OneDimensional, Conv2DTranspose):
    """Transposed 1D convolution: upsamples a sequence (10 steps -> 20 with strides=2).

    Args:
        filters, kernel_size, strides, dilation_rate, data_format, activation, use_bias and
            the initializers, regularizers and constraints: as in ``Conv1D``.
        padding: ``"valid"`` (default; steps·strides + max(kernel - strides, 0)) or
            ``"same"`` (steps·strides).
        output_padding: None (default), int or (p,): extra steps at the end, < strides.

    Kernel shape: (kernel_size, filters, in_channels), as in Keras.

    Input shape: (batch, steps, channels). Output shape: (batch, new_steps, filters).

    Example:
    >>> keras.layers.Conv1DTranspose(4, 3, strides=2, padding="same")(
    ...     np.zeros((1, 10, 2), "float32")).shape
    (1, 20, 4)
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, output_padding, data_format,
                         dilation_rate, activation, use_bias, kernel_initializer,
                         bias_initializer, kernel_regularizer, bias_regularizer,
                         activity_regularizer, kernel_constraint, bias_constraint, **kwargs)


class DepthwiseConv1D(OneDimensional, DepthwiseConv2D):
    """Convolves each input channel with its own ``depth_multiplier`` kernels along the
    steps (no mixing of channels); output channels = in_channels × depth_multiplier.

    Args: as ``Conv1D`` (without filters and groups; padding ``"valid"`` or ``"same"``),
    plus ``depth_multiplier`` (default 1) and ``depthwise_initializer`` /
    ``depthwise_regularizer`` / ``depthwise_constraint`` for the kernel.

    Kernel shape: (kernel_size, in_channels, depth_multiplier).

    Input shape: (batch, steps, channels).
    Output shape: (batch, new_steps, channels × depth_multiplier).
    """

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides, padding, depth_multiplier, data_format,
                         dilation_rate, activation, use_bias, depthwise_initializer,
                         bias_initializer, depthwise_regularizer, bias_regularizer,
                         activity_regularizer, depthwise_constraint, bias_constraint, **kwargs)


class SeparableConv1D(OneDimensional, SeparableConv2D):
    """A depthwise 1D convolution followed by a pointwise (kernel size 1) one mixing the
    channels: far fewer weights than a Conv1D of the same size.

    Args: as ``Conv1D`` (without groups; padding ``"valid"`` or ``"same"``), plus
    ``depth_multiplier`` (default 1) and depthwise / pointwise initializers, regularizers
    and constraints.

    Kernels: ``depthwise_kernel`` (kernel_size, in_channels, depth_multiplier) and
    ``pointwise_kernel`` (1, in_channels × depth_multiplier, filters).

    Input shape: (batch, steps, channels). Output shape: (batch, new_steps, filters).
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate,
                         depth_multiplier, activation, use_bias, depthwise_initializer,
                         pointwise_initializer, bias_initializer, depthwise_regularizer,
                         pointwise_regularizer, bias_regularizer, activity_regularizer,
                         depthwise_constraint, pointwise_constraint, bias_constraint, **kwargs)
