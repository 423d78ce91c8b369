"""Layers that change the shape, not the values: Flatten, Reshape."""
from __future__ import annotations

import math

from neuropil import ops
from neuropil.layers.input_spec import InputSpec, format_shape
from neuropil.layers.layer import Layer

__all__ = ["Flatten", "Reshape"]


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
