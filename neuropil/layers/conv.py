"""2D convolution layers: Conv2D, DepthwiseConv2D, SeparableConv2D, Conv2DTranspose.

A convolution slides a small kernel over the image and, at each position, takes the dot
product of the kernel with the patch under it (cross-correlation, as Keras computes it). The
same kernel weights are used at every position (weight sharing); a filter is as deep as its
input (an RGB image needs 3-channel kernels), and ``filters`` kernels give ``filters`` output
channels stacked in depth. Images are channels-last, (batch, height, width, channels), and
kernels (kernel_height, kernel_width, in_channels, filters), as in Keras.

The classes know their ``rank`` (2 here) only where it shapes arguments and weights; the
ops see 2-D arguments through ``_op_arguments`` and ``_op_kernel``, which is how the 1-D
layers of ``conv1d.py`` (rank 1, through ``conv_utils.OneDimensional``) reuse all of this.
"""
from __future__ import annotations

from neuropil import activations, constraints, initializers, ops, regularizers
from neuropil.backend import memory
from neuropil.layers.conv_utils import (from_channels_last, join_shape, normalize_data_format,
                                        normalize_padding, normalize_tuple,
                                        spatial_output_shape, split_shape, to_channels_last,
                                        transpose_output_length)
from neuropil.layers.input_spec import InputSpec, format_shape
from neuropil.layers.layer import Layer

__all__ = ["Conv2D", "DepthwiseConv2D", "SeparableConv2D", "Conv2DTranspose"]


def _serialize(regularizer):
    return None if regularizer is None else regularizers.serialize(regularizer)


class BaseConv2D(Layer):
    """What every 2D convolution shares: argument checks, channel bookkeeping, bias and
    activation, output-shape arithmetic. Subclasses create kernels and run the op."""

    rank = 2  # spatial axes; the 1-D layers set 1
    paddings = ("valid", "same")  # Conv1D adds "causal"

    def __init__(self, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, bias_initializer="zeros",
                 bias_regularizer=None, bias_constraint=None, activity_regularizer=None,
                 **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        kind = type(self).__name__
        self.kernel_size = normalize_tuple(kernel_size, self.rank, "kernel_size", kind)
        self.strides = normalize_tuple(strides, self.rank, "strides", kind)
        self.padding = normalize_padding(padding, kind, self.paddings)
        self.data_format = normalize_data_format(data_format, kind)
        self.dilation_rate = normalize_tuple(dilation_rate, self.rank, "dilation_rate", kind)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{kind}: `strides > 1` is not supported together with "
                             f"`dilation_rate > 1`. Received: strides={self.strides} and "
                             f"dilation_rate={self.dilation_rate}")
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.bias_initializer = initializers.get(bias_initializer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def _input_channels(self, input_shape) -> int:
        channels = split_shape(input_shape, self.data_format)[2]
        if channels is None:
            raise ValueError(f'Layer "{self.name}": the channel axis of the input must be '
                             f"known. Received input shape {format_shape(input_shape)}")
        axis = 1 if self.data_format == "channels_first" else -1
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={axis: channels})
        return channels

    def _add_bias(self, size: int) -> None:
        self.bias = self.add_weight(shape=(size,), name="bias", initializer=self.bias_initializer,
                                    regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint) if self.use_bias else None

    def _spatial_output(self, input_shape) -> tuple:
        spatial = split_shape(input_shape, self.data_format)[1]
        return spatial_output_shape(self, input_shape, spatial, self.kernel_size, self.padding,
                                    self.strides, self.dilation_rate)

    def _output_channels(self, input_channels) -> int:
        raise NotImplementedError

    def compute_output_shape(self, input_shape):
        batch, _, channels = split_shape(input_shape, self.data_format)
        return join_shape(batch, self._spatial_output(input_shape),
                          self._output_channels(channels), self.data_format)

    def build(self, input_shape):
        self._spatial_output(input_shape)  # an impossible configuration fails here, early
        self._make_kernels(self._input_channels(input_shape))
        # NOTE: a network with convolutions reallocates multi-MB arrays at every step; without
        # this, glibc returns them to the kernel and the next step page-faults them back in
        # (~4 ms of a LeNet-5 step). Once per process; see backend/memory.py.
        memory.keep_freed_memory()

    def _make_kernels(self, input_channels: int) -> None:
        raise NotImplementedError

    def _convolve(self, x):
        raise NotImplementedError

    def _op_arguments(self) -> dict:
        """The geometry as the 2-D op takes it (``OneDimensional`` lifts it)."""
        return dict(strides=self.strides, padding=self.padding,
                    dilation_rate=self.dilation_rate)

    @staticmethod
    def _op_kernel(kernel):
        """A kernel as the 2-D op takes it (``OneDimensional`` adds a height-1 axis)."""
        return kernel

    def _fuses_bias_and_relu(self) -> bool:
        """Whether ``_convolve`` takes ``bias=`` and ``relu=`` (its op adds the bias and
        applies relu in the same pass, forward and backward)."""
        return False

    def call(self, inputs):
        x = to_channels_last(inputs, self.data_format)
        activation = self.activation
        if self._fuses_bias_and_relu():
            relu = activation is activations.relu
            x = self._convolve(x, bias=self.bias, relu=relu)
            activation = activations.linear if relu else activation
        else:
            x = self._convolve(x)
            if self.bias is not None:
                x = ops.add(x, self.bias)
        return from_channels_last(activation(x), self.data_format)

    def get_config(self):
        return {**super().get_config(), "kernel_size": self.kernel_size, "strides": self.strides,
                "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": self.dilation_rate,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "bias_regularizer": _serialize(self.bias_regularizer),
                "activity_regularizer": _serialize(self.activity_regularizer),
                "bias_constraint": constraints.serialize(self.bias_constraint)}


class Conv2D(BaseConv2D):
    """2D convolution: ``filters`` kernels slid over the image, one output channel each.

    Each output value is w·patch + b, with the kernel w as deep as the input (an RGB input
    needs kh × kw × 3 weights per filter). The layer has (kh·kw·in_channels + 1) × filters
    weights, shared across all positions.

    Args:
        filters: number of kernels, i.e. output channels.
        kernel_size: int or (height, width) of each kernel.
        strides: int or (sy, sx): step between positions (default 1).
        padding: ``"valid"`` (no padding; the output shrinks by kernel_size - 1) or
            ``"same"`` (zero padding so that output size = ceil(input size / stride)).
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        dilation_rate: int or tuple: spacing between kernel taps (atrous convolution).
        groups: split the input channels into this many groups, each with its own
            filters / groups kernels (``groups=in_channels`` is a depthwise convolution).
        activation: applied to the result (default none).
        use_bias, kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
        activity_regularizer, kernel_constraint, bias_constraint: as in Dense.

    Input shape: (batch, height, width, channels).
    Output shape: (batch, new_height, new_width, filters).

    Example:
    >>> layer = keras.layers.Conv2D(6, 5, padding="same", activation="relu")
    >>> layer(np.zeros((1, 28, 28, 1))).shape
    (1, 28, 28, 6)
    >>> layer.count_params()  # (5*5*1 + 1) * 6
    156
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation,
                         use_bias, bias_initializer, bias_regularizer, bias_constraint,
                         activity_regularizer, **kwargs)
        self.filters = normalize_tuple(filters, 1, "filters", type(self).__name__)[0]
        self.groups = normalize_tuple(groups, 1, "groups", type(self).__name__)[0]
        if self.filters % self.groups:
            raise ValueError(f"{type(self).__name__}: `filters` must be divisible by `groups`. "
                             f"Received: filters={self.filters}, groups={self.groups}")
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)

    def _output_channels(self, input_channels):
        return self.filters

    def _make_kernels(self, input_channels):
        if input_channels % self.groups:
            raise ValueError(f'Layer "{self.name}": the number of input channels '
                             f"({input_channels}) must be divisible by groups={self.groups}.")
        shape = self.kernel_size + (input_channels // self.groups, self.filters)
        self.kernel = self.add_weight(shape=shape, name="kernel",
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self._add_bias(self.filters)

    def _fuses_bias_and_relu(self):
        return self.groups == 1

    def _convolve(self, x, bias=None, relu=False):
        arguments, kernel = self._op_arguments(), self._op_kernel(self.kernel)
        if self.groups == 1:
            return ops.conv2d(x, kernel, **arguments, bias=bias, relu=relu)
        # Grouped: each group of input channels meets its own slice of the filters.
        width_in, width_out = x.shape[-1] // self.groups, self.filters // self.groups
        parts = [ops.conv2d(x[..., g * width_in:(g + 1) * width_in],
                            kernel[..., g * width_out:(g + 1) * width_out], **arguments)
                 for g in range(self.groups)]
        return ops.concatenate(parts, axis=-1)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "groups": self.groups,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "kernel_regularizer": _serialize(self.kernel_regularizer),
                "kernel_constraint": constraints.serialize(self.kernel_constraint)}


class DepthwiseConv2D(BaseConv2D):
    """Convolves each input channel with its own ``depth_multiplier`` kernels (no mixing of
    channels); output channels = in_channels × depth_multiplier.

    Kernel shape: (kh, kw, in_channels, depth_multiplier).
    """

    def __init__(self, kernel_size, strides=(1, 1), padding="valid", depth_multiplier=1,
                 data_format=None, dilation_rate=(1, 1), activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation,
                         use_bias, bias_initializer, bias_regularizer, bias_constraint,
                         activity_regularizer, **kwargs)
        self.depth_multiplier = normalize_tuple(depth_multiplier, 1, "depth_multiplier",
                                                type(self).__name__)[0]
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)

    def _output_channels(self, input_channels):
        return None if input_channels is None else input_channels * self.depth_multiplier

    def _make_kernels(self, input_channels):
        self.kernel = self.add_weight(
            shape=self.kernel_size + (input_channels, self.depth_multiplier), name="kernel",
            initializer=self.depthwise_initializer, regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint)
        self._add_bias(input_channels * self.depth_multiplier)

    def _convolve(self, x):
        return ops.depthwise_conv2d(x, self._op_kernel(self.kernel), **self._op_arguments())

    def get_config(self):
        return {**super().get_config(), "depth_multiplier": self.depth_multiplier,
                "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
                "depthwise_regularizer": _serialize(self.depthwise_regularizer),
                "depthwise_constraint": constraints.serialize(self.depthwise_constraint)}


class SeparableConv2D(BaseConv2D):
    """A depthwise convolution followed by a 1×1 (pointwise) convolution mixing channels:
    far fewer weights than a Conv2D of the same size.

    Kernels: ``depthwise_kernel`` (kh, kw, in_channels, depth_multiplier) and
    ``pointwise_kernel`` (1, 1, in_channels × depth_multiplier, filters).
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation,
                         use_bias, bias_initializer, bias_regularizer, bias_constraint,
                         activity_regularizer, **kwargs)
        self.filters = normalize_tuple(filters, 1, "filters", type(self).__name__)[0]
        self.depth_multiplier = normalize_tuple(depth_multiplier, 1, "depth_multiplier",
                                                type(self).__name__)[0]
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.pointwise_constraint = constraints.get(pointwise_constraint)

    def _output_channels(self, input_channels):
        return self.filters

    def _make_kernels(self, input_channels):
        self.depthwise_kernel = self.add_weight(
            shape=self.kernel_size + (input_channels, self.depth_multiplier),
            name="depthwise_kernel", initializer=self.depthwise_initializer,
            regularizer=self.depthwise_regularizer, constraint=self.depthwise_constraint)
        self.pointwise_kernel = self.add_weight(
            shape=(1,) * self.rank + (input_channels * self.depth_multiplier, self.filters),
            name="pointwise_kernel", initializer=self.pointwise_initializer,
            regularizer=self.pointwise_regularizer, constraint=self.pointwise_constraint)
        self._add_bias(self.filters)

    def _convolve(self, x):
        depthwise = ops.depthwise_conv2d(x, self._op_kernel(self.depthwise_kernel),
                                         **self._op_arguments())
        # A 1x1 convolution is a dense layer applied at every pixel.
        return ops.matmul(depthwise, ops.reshape(self.pointwise_kernel,
                                                 self.pointwise_kernel.shape[-2:]))

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "depth_multiplier": self.depth_multiplier,
                "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
                "pointwise_initializer": initializers.serialize(self.pointwise_initializer),
                "depthwise_regularizer": _serialize(self.depthwise_regularizer),
                "pointwise_regularizer": _serialize(self.pointwise_regularizer),
                "depthwise_constraint": constraints.serialize(self.depthwise_constraint),
                "pointwise_constraint": constraints.serialize(self.pointwise_constraint)}


class Conv2DTranspose(BaseConv2D):
    """Transposed convolution ("deconvolution"): the gradient of a convolution with respect
    to its input, used to upsample learned features (e.g. 7×7 -> 14×14 with strides=2).

    Kernel shape: (kh, kw, filters, in_channels), as in Keras.
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid",
                 output_padding=None, data_format=None, dilation_rate=(1, 1), activation=None,
                 use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation,
                         use_bias, bias_initializer, bias_regularizer, bias_constraint,
                         activity_regularizer, **kwargs)
        kind = type(self).__name__
        self.filters = normalize_tuple(filters, 1, "filters", kind)[0]
        self.output_padding = None if output_padding is None else normalize_tuple(
            output_padding, self.rank, "output_padding", kind, allow_zero=True)
        if self.output_padding is not None and any(
                p >= s for p, s in zip(self.output_padding, self.strides)):
            raise ValueError(f"{kind}: `output_padding` must be smaller than "
                             f"`strides`. Received: output_padding={self.output_padding}, "
                             f"strides={self.strides}")
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)

    def _output_channels(self, input_channels):
        return self.filters

    def _spatial_output(self, input_shape):
        spatial = split_shape(input_shape, self.data_format)[1]
        paddings = self.output_padding or (None,) * self.rank
        return tuple(transpose_output_length(n, k, self.padding, s, d, p) for n, k, s, d, p in
                     zip(spatial, self.kernel_size, self.strides, self.dilation_rate, paddings))

    def _make_kernels(self, input_channels):
        self.kernel = self.add_weight(shape=self.kernel_size + (self.filters, input_channels),
                                      name="kernel", initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self._add_bias(self.filters)

    def _convolve(self, x):
        return ops.conv2d_transpose(x, self._op_kernel(self.kernel), **self._op_arguments())

    def _op_arguments(self):
        return {**super()._op_arguments(), "output_padding": self.output_padding}

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "output_padding": self.output_padding,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "kernel_regularizer": _serialize(self.kernel_regularizer),
                "kernel_constraint": constraints.serialize(self.kernel_constraint)}
