"""Preprocessing layers that live inside the model: Rescaling."""
from __future__ import annotations

from neuropil import ops
from neuropil.layers.layer import Layer

__all__ = ["Rescaling"]


class Rescaling(Layer):
    """Computes ``inputs * scale + offset``: e.g. ``Rescaling(1/255)`` maps 0-255 pixels to
    [0, 1], ``Rescaling(1/127.5, offset=-1)`` to [-1, 1].

    Args:
        scale: a float (or a per-channel list).
        offset: a float (or a per-channel list), default 0.
    """

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale, self.offset = scale, offset

    def call(self, inputs):
        return ops.add(ops.multiply(inputs, self.scale), self.offset)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}
