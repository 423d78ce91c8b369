"""Argument checks and output-size arithmetic shared by convolution and pooling layers.

The arithmetic is Keras's (TensorFlow's): for a window of size k, dilation d and stride s
over an input of length n,

- ``"valid"`` (no padding): out = floor((n - d·(k - 1) - 1) / s) + 1, which must be >= 1;
- ``"same"`` (zero padding, split with the smaller half first): out = ceil(n / s);
- ``"causal"`` (1-D convolutions only: d·(k - 1) zeros before the input, none after, then
  ``"valid"``): out = ceil(n / s) too, and output t never sees an input after t.

The 1-D layers (``Conv1D``, ``MaxPooling1D``, ...) are their 2-D twins run on a height-1
image: ``OneDimensional`` inserts that axis, lifts the arguments to the 2-D ops, and removes
the axis again, so the 2-D ops and layer logic serve both.
"""
from __future__ import annotations

from neuropil import backend, ops
from neuropil.layers.input_spec import format_shape

__all__ = ["normalize_tuple", "normalize_padding", "normalize_data_format", "output_length",
           "transpose_output_length", "to_channels_last", "from_channels_last",
           "OneDimensional"]


def normalize_tuple(value, n: int, name: str, layer: str, allow_zero: bool = False) -> tuple:
    """An int or an n-sequence of ints -> an n-tuple of positive (or >= 0) ints."""
    values = (value,) * n if isinstance(value, int) and not isinstance(value, bool) else value
    try:
        values = tuple(values)
    except TypeError:
        values = None
    lowest = 0 if allow_zero else 1
    if (values is None or len(values) != n or
            any(isinstance(v, bool) or not isinstance(v, int) or v < lowest for v in values)):
        what = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{layer}: `{name}` must be a {what} integer or a tuple of {n} "
                         f"{what} integers. Received: {name}={value!r}")
    return values


def normalize_padding(value, layer: str, allowed: tuple = ("valid", "same")) -> str:
    padding = value.lower() if isinstance(value, str) else value
    if padding not in allowed:
        choices = " or ".join(", ".join(f"'{a}'" for a in allowed).rsplit(", ", 1))
        raise ValueError(f"{layer}: `padding` must be {choices}. Received: padding={value!r}")
    return padding


def normalize_data_format(value, layer: str) -> str:
    data_format = backend.image_data_format() if value is None else str(value).lower()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"{layer}: `data_format` must be 'channels_last' or 'channels_first'. "
                         f"Received: data_format={value!r}")
    return data_format


def output_length(length, window: int, padding: str, stride: int, dilation: int = 1):
    """The output length along one spatial axis, or None if the input length is unknown."""
    if length is None:
        return None
    if padding in ("same", "causal"):
        return (length + stride - 1) // stride
    span = dilation * (window - 1) + 1
    return (length - span) // stride + 1


def spatial_output_shape(layer, input_shape, spatial: tuple, windows: tuple, padding: str,
                         strides: tuple, dilations: tuple, what: str = "kernel") -> tuple:
    """The output sizes of the spatial axes; a clear error if a window does not fit."""
    sizes = tuple(output_length(n, k, padding, s, d)
                  for n, k, s, d in zip(spatial, windows, strides, dilations))
    if any(size is not None and size < 1 for size in sizes):
        spans = tuple(d * (k - 1) + 1 for k, d in zip(windows, dilations))
        raise ValueError(
            f'Layer "{layer.name}" ({type(layer).__name__}): the {what} of size '
            f"{windows}{'' if spans == windows else f' (dilated to {spans})'} does not fit in "
            f"the input of spatial size {spatial} with padding='{padding}' "
            f"(input shape {format_shape(input_shape)}); the output size would be {sizes}. "
            f"Use a smaller {what}, padding='same', or a larger input.")
    return sizes


def transpose_output_length(length, window: int, padding: str, stride: int, dilation: int = 1,
                            output_padding=None):
    """Output length of a transposed convolution (Keras's ``deconv_output_length``):
    without ``output_padding``, 'same' gives n·s and 'valid' n·s + max(k - s, 0), with k the
    dilated window; with it, (n - 1)·s + k - 2·pad + output_padding, pad = k // 2 for 'same'."""
    if length is None:
        return None
    window = window + (window - 1) * (dilation - 1)
    if output_padding is None:
        return length * stride + (max(window - stride, 0) if padding == "valid" else 0)
    pad = window // 2 if padding == "same" else 0
    return (length - 1) * stride + window - 2 * pad + output_padding


def to_channels_last(x, data_format: str):
    """(N, C, H, W) -> (N, H, W, C) when the layer works channels-first; else unchanged."""
    return ops.transpose(x, (0, 2, 3, 1)) if data_format == "channels_first" else x


def from_channels_last(x, data_format: str):
    return ops.transpose(x, (0, 3, 1, 2)) if data_format == "channels_first" else x


def split_shape(input_shape, data_format: str):
    """(batch, spatial sizes, channels) of a shape in the given data format: (height, width)
    of a 4-D shape, (steps,) of a 3-D one."""
    if data_format == "channels_first":
        return input_shape[0], tuple(input_shape[2:]), input_shape[1]
    return input_shape[0], tuple(input_shape[1:-1]), input_shape[-1]


def join_shape(batch, spatial: tuple, channels, data_format: str) -> tuple:
    if data_format == "channels_first":
        return (batch, channels) + tuple(spatial)
    return (batch,) + tuple(spatial) + (channels,)


class OneDimensional:
    """Mixin that runs a 2-D convolution or pooling layer on (batch, steps, channels).

    The layer keeps Keras's 1-D arguments, shapes and weights ((kernel_size, in, filters)
    kernels, 1-tuples in its config); only at call time does the input become a height-1
    image, (batch, 1, steps, channels), the kernels (1, k, ...) views and the arguments
    2-tuples with a height of 1, for the 2-D ops. ``padding="causal"`` (Conv1D) pads
    dilation·(k - 1) zeros before the steps and convolves ``"valid"``.
    """

    rank = 1
    # The height's value of each lifted argument: one step, no dilation, no extra padding.
    _HEIGHT = {"strides": 1, "dilation_rate": 1, "pool_size": 1, "output_padding": 0}

    def _op_arguments(self) -> dict:
        arguments = super()._op_arguments()
        for name, height in self._HEIGHT.items():
            if arguments.get(name) is not None:
                arguments[name] = (height,) + tuple(arguments[name])
        if arguments.get("padding") == "causal":
            arguments["padding"] = "valid"  # call() has padded already
        return arguments

    @staticmethod
    def _op_kernel(kernel):
        return ops.reshape(kernel, (1,) + tuple(kernel.shape))

    def call(self, inputs):
        steps = 2 if self.data_format == "channels_first" else 1
        if self.padding == "causal":
            widths = [(0, 0)] * 3
            widths[steps] = (self.dilation_rate[0] * (self.kernel_size[0] - 1), 0)
            inputs = ops.pad(inputs, widths)
        # The height-1 axis goes just before the steps: (N, 1, L, C) or (N, C, 1, L).
        return ops.squeeze(super().call(ops.expand_dims(inputs, steps)), steps)
