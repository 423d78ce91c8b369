"""Pooling layers: MaxPooling1D/2D, AveragePooling1D/2D and their global versions.

Pooling summarizes each window of a feature map by its maximum or mean, shrinking the map
(2×2 windows with stride 2 halve height and width) without any weights to learn. The 1-D
layers pool (batch, steps, channels) with the 2-D ops on a height-1 image
(``conv_utils.OneDimensional``).
"""
from __future__ import annotations

from neuropil import ops
from neuropil.layers.conv_utils import (OneDimensional, from_channels_last, join_shape,
                                        normalize_data_format, normalize_padding,
                                        normalize_tuple, spatial_output_shape, split_shape,
                                        to_channels_last)
from neuropil.layers.input_spec import InputSpec
from neuropil.layers.layer import Layer

__all__ = ["MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D", "GlobalMaxPooling2D",
           "MaxPooling1D", "AveragePooling1D", "GlobalAveragePooling1D", "GlobalMaxPooling1D"]


class BasePooling2D(Layer):
    """Windows of ``pool_size`` every ``strides`` (default: ``pool_size``) steps."""

    rank = 2  # spatial axes; the 1-D layers set 1

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None,
                 **kwargs):
        super().__init__(**kwargs)
        kind = type(self).__name__
        self.pool_size = normalize_tuple(pool_size, self.rank, "pool_size", kind)
        self.strides = self.pool_size if strides is None else normalize_tuple(
            strides, self.rank, "strides", kind)
        self.padding = normalize_padding(padding, kind)
        self.data_format = normalize_data_format(data_format, kind)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def compute_output_shape(self, input_shape):
        batch, spatial, channels = split_shape(input_shape, self.data_format)
        sizes = spatial_output_shape(self, input_shape, spatial, self.pool_size, self.padding,
                                     self.strides, (1,) * self.rank, what="pool window")
        return join_shape(batch, sizes, channels, self.data_format)

    def build(self, input_shape):
        self.compute_output_shape(input_shape)  # a window that does not fit fails here

    def call(self, inputs):
        x = to_channels_last(inputs, self.data_format)
        x = self._pool(x, **self._op_arguments())
        return from_channels_last(x, self.data_format)

    def _op_arguments(self) -> dict:
        """The window as the 2-D op takes it (``OneDimensional`` lifts it)."""
        return dict(pool_size=self.pool_size, strides=self.strides, padding=self.padding)

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "strides": self.strides,
                "padding": self.padding, "data_format": self.data_format}


class MaxPooling2D(BasePooling2D):
    """Keeps the largest value of each window.

    Args:
        pool_size: int or (height, width) of the window (default (2, 2)).
        strides: int or tuple; default ``pool_size`` (non-overlapping windows).
        padding: ``"valid"`` or ``"same"``.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Input shape: (batch, height, width, channels).
    Output shape: (batch, pooled_height, pooled_width, channels).

    Example:
    >>> keras.layers.MaxPooling2D()(np.zeros((1, 28, 28, 6))).shape
    (1, 14, 14, 6)
    """

    @staticmethod
    def _pool(x, **arguments):
        return ops.max_pool2d(x, **arguments)


class AveragePooling2D(BasePooling2D):
    """Keeps the mean of each window (with ``padding="same"``, of its non-padded values).

    Arguments and shapes as in ``MaxPooling2D``.
    """

    @staticmethod
    def _pool(x, **arguments):
        return ops.avg_pool2d(x, **arguments)


class BaseGlobalPooling2D(Layer):
    """Reduces each feature map to one number: (batch, h, w, c) -> (batch, c)."""

    rank = 2  # spatial axes; the 1-D layers set 1

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = normalize_data_format(data_format, type(self).__name__)
        self.keepdims = bool(keepdims)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    @property
    def _axes(self) -> tuple:
        first = 2 if self.data_format == "channels_first" else 1
        return tuple(range(first, first + self.rank))

    def compute_output_shape(self, input_shape):
        batch, _, channels = split_shape(input_shape, self.data_format)
        if self.keepdims:
            return join_shape(batch, (1,) * self.rank, channels, self.data_format)
        return (batch, channels)

    def call(self, inputs):
        return self._reduce(inputs, axis=self._axes, keepdims=self.keepdims)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format,
                "keepdims": self.keepdims}


class GlobalAveragePooling2D(BaseGlobalPooling2D):
    """The mean of each feature map; often replaces Flatten before the classifier."""

    @staticmethod
    def _reduce(x, **arguments):
        return ops.mean(x, **arguments)


class GlobalMaxPooling2D(BaseGlobalPooling2D):
    """The maximum of each feature map."""

    @staticmethod
    def _reduce(x, **arguments):
        return ops.max(x, **arguments)


class MaxPooling1D(OneDimensional, MaxPooling2D):
    """Keeps the largest value of each window of steps.

    Args:
        pool_size: int or (size,) of the window (default 2).
        strides: int or (stride,); default ``pool_size`` (non-overlapping windows).
        padding: ``"valid"`` (default) or ``"same"`` (output = ceil(steps / stride)).
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Input shape: (batch, steps, channels). Output shape: (batch, pooled_steps, channels).

    Example:
    >>> x = np.array([1.0, 5.0, 2.0, 0.0, 3.0], "float32").reshape(1, 5, 1)
    >>> keras.layers.MaxPooling1D(2, padding="same")(x).numpy()[0, :, 0]
    array([5., 2., 3.], dtype=float32)
    """

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None,
                 **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling1D(OneDimensional, AveragePooling2D):
    """Keeps the mean of each window of steps (with ``padding="same"``, of its non-padded
    values). Arguments and shapes as in ``MaxPooling1D``."""

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None,
                 **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class GlobalAveragePooling1D(GlobalAveragePooling2D):
    """The mean over the steps of each channel: (batch, steps, c) -> (batch, c), or
    (batch, 1, c) with ``keepdims=True``."""

    rank = 1


class GlobalMaxPooling1D(GlobalMaxPooling2D):
    """The maximum over the steps of each channel: (batch, steps, c) -> (batch, c)."""

    rank = 1
