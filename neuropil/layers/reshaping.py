"""Layers that change the shape, not the values: Flatten, Reshape, ZeroPadding1D/2D,
Cropping1D/2D, UpSampling1D/2D."""
from __future__ import annotations

import math

from neuropil import ops
from neuropil.data import image
from neuropil.layers.conv_utils import (from_channels_last, join_shape, normalize_data_format,
                                        normalize_tuple, split_shape, to_channels_last)
from neuropil.layers.input_spec import InputSpec, format_shape
from neuropil.layers.layer import Layer

__all__ = ["Flatten", "Reshape", "ZeroPadding2D", "Cropping2D", "UpSampling2D",
           "ZeroPadding1D", "Cropping1D", "UpSampling1D"]


class Flatten(Layer):
    """Flattens each sample to a vector: (batch, 28, 28) -> (batch, 784). The batch axis stays."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format or "channels_last"
        self.input_spec = InputSpec(min_ndim=1)

    def call(self, inputs):
        return ops.reshape(inputs, (inputs.shape[0], -1))

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        size = None if any(d is None for d in rest) else math.prod(rest)
        return (input_shape[0], size)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class Reshape(Layer):
    """Reshapes each sample to ``target_shape`` (the batch axis stays); one -1 is inferred.

    Example: ``Reshape((28, 28, 1))`` turns (batch, 784) into (batch, 28, 28, 1).
    """

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(target_shape)
        if sum(1 for d in self.target_shape if d == -1) > 1:
            raise ValueError(f"Reshape: at most one dimension of `target_shape` can be -1. "
                             f"Received: target_shape={self.target_shape}")
        if any(d == 0 or d < -1 for d in self.target_shape):
            raise ValueError(f"Reshape: dimensions of `target_shape` must be positive (or one "
                             f"-1). Received: target_shape={self.target_shape}")

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self._resolve(input_shape)

    def _resolve(self, input_shape) -> tuple:
        rest = input_shape[1:]
        if any(d is None for d in rest):
            return tuple(None if d == -1 else d for d in self.target_shape)
        size, known = math.prod(rest), math.prod(d for d in self.target_shape if d != -1)
        if -1 in self.target_shape:
            if size % known:
                raise self._mismatch(input_shape)
            return tuple(size // known if d == -1 else d for d in self.target_shape)
        if size != known:
            raise self._mismatch(input_shape)
        return self.target_shape

    def _mismatch(self, input_shape):
        return ValueError(f'Layer "{self.name}": cannot reshape an input of shape '
                          f"{format_shape(input_shape)} ({math.prod(input_shape[1:])} values "
                          f"per sample) to target_shape={self.target_shape}.")

    def call(self, inputs):
        return ops.reshape(inputs, (inputs.shape[0],) + self._resolve(inputs.shape))

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}


def _pairs(value, name: str, layer: str) -> tuple:
    """Keras's forms for 2D padding / cropping: int, (sym_h, sym_w), or
    ((top, bottom), (left, right)) -> ((top, bottom), (left, right))."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = ((value, value), (value, value))
    try:
        first, second = value
        if isinstance(first, int) and isinstance(second, int):
            value = ((first, first), (second, second))
        pairs = tuple(normalize_tuple(tuple(v), 2, name, layer, allow_zero=True) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{layer}: `{name}` must be an int, a tuple of 2 ints or a tuple of 2 "
                         f"tuples of 2 ints. Received: {name}={value!r}") from None
    return pairs


class ZeroPadding2D(Layer):
    """Adds rows and columns of zeros around each image.

    Args:
        padding: int (all sides), (rows, cols) (symmetric), or
            ((top, bottom), (left, right)).
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Example: ``ZeroPadding2D(2)`` turns (batch, 28, 28, 1) into (batch, 32, 32, 1), the
    input size LeNet-5 expects.
    """

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding = _pairs(padding, "padding", "ZeroPadding2D")
        self.data_format = normalize_data_format(data_format, "ZeroPadding2D")
        self.input_spec = InputSpec(ndim=4)

    def compute_output_shape(self, input_shape):
        batch, (h, w), c = split_shape(input_shape, self.data_format)
        (top, bottom), (left, right) = self.padding
        return join_shape(batch, (None if h is None else h + top + bottom,
                                  None if w is None else w + left + right), c, self.data_format)

    def call(self, inputs):
        spatial = list(self.padding)
        widths = ([(0, 0), (0, 0)] + spatial if self.data_format == "channels_first"
                  else [(0, 0)] + spatial + [(0, 0)])
        return ops.pad(inputs, widths)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding, "data_format": self.data_format}


class Cropping2D(Layer):
    """Removes rows and columns at the borders of each image.

    Args:
        cropping: int, (rows, cols) or ((top, bottom), (left, right)).
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
    """

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.cropping = _pairs(cropping, "cropping", "Cropping2D")
        self.data_format = normalize_data_format(data_format, "Cropping2D")
        self.input_spec = InputSpec(ndim=4)

    def compute_output_shape(self, input_shape):
        batch, spatial, c = split_shape(input_shape, self.data_format)
        sizes = tuple(None if n is None else n - a - b
                      for n, (a, b) in zip(spatial, self.cropping))
        if any(size is not None and size <= 0 for size in sizes):
            raise ValueError(f'Layer "{self.name}": cropping={self.cropping} removes everything '
                             f"from an input of spatial size {spatial} (input shape "
                             f"{format_shape(input_shape)}).")
        return join_shape(batch, sizes, c, self.data_format)

    def build(self, input_shape):
        self.compute_output_shape(input_shape)

    def call(self, inputs):
        (top, bottom), (left, right) = self.cropping
        rows = slice(top, inputs.shape[-3 if self.data_format == "channels_last" else -2] - bottom)
        cols = slice(left, inputs.shape[-2 if self.data_format == "channels_last" else -1] - right)
        if self.data_format == "channels_first":
            return inputs[:, :, rows, cols]
        return inputs[:, rows, cols, :]

    def get_config(self):
        return {**super().get_config(), "cropping": self.cropping,
                "data_format": self.data_format}


class UpSampling2D(Layer):
    """Repeats rows and columns: (batch, h, w, c) -> (batch, h·sy, w·sx, c).

    Args:
        size: int or (sy, sx) (default (2, 2)).
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        interpolation: ``"nearest"`` (default: each value copied into an sy×sx block),
            ``"bilinear"``, ``"bicubic"``, ``"lanczos3"`` or ``"lanczos5"`` (Keras's
            ``ops.image.resize``: half-pixel centres, edges clamped).

    Example:
    >>> x = np.array([0.0, 4.0], "float32").reshape(1, 1, 2, 1)
    >>> UpSampling2D((1, 2), interpolation="bilinear")(x).numpy()[0, 0, :, 0]
    array([0., 1., 3., 4.], dtype=float32)
    """

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        self.size = normalize_tuple(size, 2, "size", "UpSampling2D")
        self.data_format = normalize_data_format(data_format, "UpSampling2D")
        choices = ("nearest", "bilinear", "bicubic", "lanczos3", "lanczos5")
        if not isinstance(interpolation, str) or interpolation.lower() not in choices:
            raise ValueError(f"UpSampling2D: `interpolation` must be one of {choices}. "
                             f"Received: interpolation={interpolation!r}")
        self.interpolation = interpolation.lower()
        self.input_spec = InputSpec(ndim=4)

    def compute_output_shape(self, input_shape):
        batch, spatial, c = split_shape(input_shape, self.data_format)
        sizes = tuple(None if n is None else n * s for n, s in zip(spatial, self.size))
        return join_shape(batch, sizes, c, self.data_format)

    def call(self, inputs):
        x = to_channels_last(inputs, self.data_format)
        n, h, w, c = x.shape
        sy, sx = self.size
        if self.interpolation != "nearest":
            # Separable: each output pixel is a weighted sum along rows, then along columns;
            # as an einsum with constant weight matrices it has its gradient for free.
            rows = image.resize_weights(h, h * sy, self.interpolation).astype(x.dtype)
            cols = image.resize_weights(w, w * sx, self.interpolation).astype(x.dtype)
            x = ops.einsum("nhwc,hH,wW->nHWc", x, rows, cols)
            return from_channels_last(x, self.data_format)
        # (n, h, 1, w, 1, c) broadcast to (n, h, sy, w, sx, c): each value fills a block.
        x = ops.broadcast_to(ops.reshape(x, (n, h, 1, w, 1, c)), (n, h, sy, w, sx, c))
        return from_channels_last(ops.reshape(x, (n, h * sy, w * sx, c)), self.data_format)

    def get_config(self):
        return {**super().get_config(), "size": self.size, "data_format": self.data_format,
                "interpolation": self.interpolation}


class ZeroPadding1D(Layer):
    """Adds zeros before and after the steps of each sequence.

    Args:
        padding: int (both ends, default 1) or (before, after).
        data_format: ``"channels_last"`` (default, (batch, steps, channels)) or
            ``"channels_first"``.

    Example: ``ZeroPadding1D((2, 0))`` turns (batch, 10, 3) into (batch, 12, 3).
    """

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding = normalize_tuple(padding, 2, "padding", "ZeroPadding1D", allow_zero=True)
        self.data_format = normalize_data_format(data_format, "ZeroPadding1D")
        self.input_spec = InputSpec(ndim=3)

    def compute_output_shape(self, input_shape):
        batch, (steps,), c = split_shape(input_shape, self.data_format)
        return join_shape(batch, (None if steps is None else steps + sum(self.padding),), c,
                          self.data_format)

    def call(self, inputs):
        widths = [(0, 0)] * 3
        widths[2 if self.data_format == "channels_first" else 1] = self.padding
        return ops.pad(inputs, widths)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding, "data_format": self.data_format}


class Cropping1D(Layer):
    """Removes steps at the start and end of each sequence (batch, steps, channels).

    Args:
        cropping: int (both ends) or (start, end) (default (1, 1)).
    """

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(**kwargs)
        self.cropping = normalize_tuple(cropping, 2, "cropping", "Cropping1D", allow_zero=True)
        self.input_spec = InputSpec(ndim=3)

    def compute_output_shape(self, input_shape):
        steps = input_shape[1]
        if steps is not None and steps - sum(self.cropping) <= 0:
            raise ValueError(f'Layer "{self.name}": cropping={self.cropping} removes every '
                             f"step of an input with {steps} steps (input shape "
                             f"{format_shape(input_shape)}). Crop fewer steps.")
        return (input_shape[0], None if steps is None else steps - sum(self.cropping),
                input_shape[2])

    def build(self, input_shape):
        self.compute_output_shape(input_shape)

    def call(self, inputs):
        start, end = self.cropping
        return inputs[:, start:inputs.shape[1] - end, :]

    def get_config(self):
        return {**super().get_config(), "cropping": self.cropping}


class UpSampling1D(Layer):
    """Repeats each step ``size`` times: (batch, steps, c) -> (batch, steps·size, c).

    Args:
        size: int, the repetition factor (default 2).

    Example:
    >>> x = np.array([1.0, 2.0], "float32").reshape(1, 2, 1)
    >>> UpSampling1D(3)(x).numpy()[0, :, 0]
    array([1., 1., 1., 2., 2., 2.], dtype=float32)
    """

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        if isinstance(size, bool) or not isinstance(size, int):  # Keras: a TypeError
            raise TypeError(f"UpSampling1D: `size` must be an integer (one factor for the "
                            f"steps). Received: size={size!r}")
        if size < 1:
            raise ValueError(f"UpSampling1D: `size` must be positive. Received: size={size}")
        self.size = size
        self.input_spec = InputSpec(ndim=3)

    def compute_output_shape(self, input_shape):
        steps = input_shape[1]
        return (input_shape[0], None if steps is None else steps * self.size, input_shape[2])

    def call(self, inputs):
        # (n, steps, 1, c) broadcast to (n, steps, size, c): each step fills a block.
        n, steps, c = inputs.shape
        x = ops.broadcast_to(ops.reshape(inputs, (n, steps, 1, c)), (n, steps, self.size, c))
        return ops.reshape(x, (n, steps * self.size, c))

    def get_config(self):
        return {**super().get_config(), "size": self.size}
