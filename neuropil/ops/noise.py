"""Randomness inside a network: inverted dropout."""
from __future__ import annotations

import numpy as np

from neuropil.autodiff import Op

__all__ = ["dropout"]


class Dropout(Op):
    """Zeroes each value with probability ``rate`` and scales the rest by 1 / (1 - rate).

    Scaling at training time ("inverted" dropout) keeps the expected activation unchanged, so
    inference needs no rescaling: the layer is simply the identity there.
    """

    def __init__(self, rate: float, generator: np.random.Generator, noise_shape=None):
        self.rate, self.generator, self.noise_shape = rate, generator, noise_shape

    def forward(self, x):
        shape = x.shape if self.noise_shape is None else self.noise_shape
        keep = self.generator.random(shape, dtype=np.float32) >= self.rate
        self.mask = keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - self.rate))
        return x * self.mask

    def backward(self, grad):
        return (grad * self.mask,)


def dropout(x, rate: float, generator: np.random.Generator, noise_shape=None):
    return Dropout(rate, generator, noise_shape)(x)
