"""Activation functions as layers, with their own arguments: ReLU, LeakyReLU, Softmax, ELU."""
from __future__ import annotations

import warnings

from neuropil import ops
from neuropil.layers.layer import Layer

__all__ = ["ReLU", "LeakyReLU", "Softmax", "ELU"]


class _Elementwise(Layer):
    def compute_output_shape(self, input_shape):
        return input_shape


class ReLU(_Elementwise):
    """max(x, 0), with optional cap ``max_value`` and slope ``negative_slope`` below
    ``threshold``.

    Args:
        max_value: the largest output (None = no cap).
        negative_slope: the slope for x < threshold (default 0).
        threshold: where the function switches from the slope to the identity (default 0).
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        for name, value in (("max_value", max_value), ("negative_slope", negative_slope),
                            ("threshold", threshold)):
            if value is not None and value < 0:
                raise ValueError(f"ReLU: `{name}` must be a non-negative float. Received: "
                                 f"{name}={value}")
        self.max_value, self.negative_slope, self.threshold = max_value, negative_slope, threshold

    def call(self, inputs):
        return ops.relu(inputs, self.negative_slope, self.max_value, self.threshold)

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value,
                "negative_slope": self.negative_slope, "threshold": self.threshold}


class LeakyReLU(_Elementwise):
    """x for x >= 0, ``negative_slope`` · x below: a small slope keeps negative units learning.

    Args:
        negative_slope: the slope below zero (Keras's default 0.3; the lecture uses ~0.01).
    """

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:  # Keras 2's name for the same argument
            negative_slope = kwargs.pop("alpha")
            warnings.warn("LeakyReLU: argument `alpha` is deprecated. Use `negative_slope` "
                          "instead.", UserWarning, stacklevel=2)
        super().__init__(**kwargs)
        if negative_slope is None or negative_slope < 0:
            raise ValueError("LeakyReLU: `negative_slope` must be a non-negative float. "
                             f"Received: negative_slope={negative_slope}")
        self.negative_slope = float(negative_slope)

    def call(self, inputs):
        return ops.leaky_relu(inputs, self.negative_slope)

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


class Softmax(_Elementwise):
    """Softmax along ``axis``: the outputs are positive and sum to 1."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, inputs, mask=None):
        if mask is not None:  # masked positions get a large negative score, so ~0 probability
            inputs = ops.add(inputs, (1.0 - mask.astype(inputs.dtype)) * -1e9)
        return ops.softmax(inputs, self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class ELU(_Elementwise):
    """x for x > 0, alpha · (e^x - 1) below."""

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = alpha

    def call(self, inputs):
        return ops.elu(inputs, self.alpha)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}
