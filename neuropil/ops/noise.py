"""Randomness inside a network: inverted dropout, Gaussian noise, Gaussian and alpha dropout.

Only ``dropout`` is its own op; the others are composed from ``add`` and ``multiply`` with a
constant noise array, which gives them their gradient for free.
"""
from __future__ import annotations

import numpy as np

from neuropil.autodiff import Op
from neuropil.backend.random import batch_draw
from neuropil.ops.elementwise import add, multiply

__all__ = ["dropout", "gaussian_noise", "gaussian_dropout", "alpha_dropout"]


class Dropout(Op):
    """Zeroes each value with probability ``rate`` and scales the rest by 1 / (1 - rate).

    Scaling at training time ("inverted" dropout) keeps the expected activation unchanged, so
    inference needs no rescaling: the layer is simply the identity there.
    """

    def __init__(self, rate: float, generator: np.random.Generator, noise_shape=None):
        self.rate, self.generator, self.noise_shape = rate, generator, noise_shape

    def forward(self, x):
        shape = x.shape if self.noise_shape is None else self.noise_shape
        keep = batch_draw(lambda s: self.generator.random(s, dtype=np.float32), shape) \
            >= self.rate
        self.mask = keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - self.rate))
        return x * self.mask

    def backward(self, grad):
        return (grad * self.mask,)


def dropout(x, rate: float, generator: np.random.Generator, noise_shape=None):
    return Dropout(rate, generator, noise_shape)(x)


def _normal(generator: np.random.Generator, shape, dtype, mean: float, stddev: float):
    dtype = np.dtype(dtype)
    draw = dtype if dtype in (np.float32, np.float64) else np.float32
    noise = batch_draw(lambda s: generator.standard_normal(s, dtype=draw), shape)
    noise *= draw.type(stddev)
    noise += draw.type(mean)
    return noise.astype(dtype, copy=False)


def gaussian_noise(x, stddev: float, generator: np.random.Generator):
    """``x + N(0, stddev²)`` noise drawn fresh for every value; the gradient passes unchanged."""
    return add(x, _normal(generator, x.shape, x.dtype, 0.0, stddev))


def gaussian_dropout(x, rate: float, generator: np.random.Generator):
    """``x · N(1, rate / (1 - rate))`` noise: dropout's mean and variance, without zeros."""
    stddev = (rate / (1.0 - rate)) ** 0.5
    return multiply(x, _normal(generator, x.shape, x.dtype, 1.0, stddev))


# SELU's constants: alpha dropout sends dropped values to SELU's negative saturation.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def alpha_dropout(x, rate: float, generator: np.random.Generator, noise_shape=None):
    """Sets a fraction ``rate`` of the values to SELU's saturation value -alpha·scale, then
    applies the affine map a·v + b that restores zero mean and unit variance (for inputs
    with zero mean and unit variance): the dropout that keeps SELU networks self-normalizing.
    """
    shape = x.shape if noise_shape is None else noise_shape
    keep = (batch_draw(lambda s: generator.random(s, dtype=np.float32), shape)
            >= rate).astype(x.dtype)
    saturated = -_SELU_ALPHA * _SELU_SCALE
    a = ((1.0 - rate) * (1.0 + rate * saturated ** 2)) ** -0.5
    b = -a * saturated * rate
    # a·(x·keep + saturated·(1 - keep)) + b, as x·(a·keep) + constant
    return add(multiply(x, keep * x.dtype.type(a)),
               (a * saturated * (1.0 - keep) + b).astype(x.dtype, copy=False))
