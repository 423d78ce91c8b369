"""Activation functions g(z), each with its derivative beside it.

Every one is numerically safe for large |z| in float32: sigmoid goes through tanh, softmax
and log-softmax subtract the row maximum, softplus uses logaddexp.
"""
from __future__ import annotations

import math

import numpy as np

from neuropil.autodiff import Op
from neuropil.backend import threads

__all__ = ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "softplus", "gelu", "silu",
           "softmax", "log_softmax", "erf", "erf_op"]

SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805


def _chunked(fn, first, *others):
    """``fn(first, *others, out=...)`` elementwise on same-shaped arrays into a fresh array,
    in chunks shared by the worker threads when the arrays are large (``backend.threads``).
    """
    out = np.empty(first.shape, first.dtype)
    flat = [np.ravel(a) for a in (first,) + others]
    result = out.reshape(-1)
    if not all(a.flags.c_contiguous for a in (first,) + others):
        fn(first, *others, out=out)
        return out
    threads.map_chunks(lambda part: fn(*[a[part] for a in flat], out=result[part]),
                       threads.split(out.size, out.itemsize))
    return out


def _pass_positive(grad, out_, out):
    """relu's backward: the gradient where the output is positive, else 0."""
    return np.multiply(grad, out_ > 0, out=out)


class Sigmoid(Op):
    """1 / (1 + e^-z), computed as (1 + tanh(z/2)) / 2 so that no exp can overflow."""

    def forward(self, z):
        self.out = 0.5 * (1.0 + np.tanh(0.5 * z))
        return self.out

    def backward(self, grad):
        return (grad * self.out * (1.0 - self.out),)


class Tanh(Op):
    def forward(self, z):
        self.out = np.tanh(z)
        return self.out

    def backward(self, grad):
        return (grad * (1.0 - self.out * self.out),)


class Relu(Op):
    """Keras's relu: z above ``threshold`` (else 0), clipped to [0, max_value] if given, minus
    ``negative_slope * (threshold - z)`` below the threshold."""

    def __init__(self, negative_slope=0.0, max_value=None, threshold=0.0):
        self.negative_slope, self.max_value, self.threshold = negative_slope, max_value, threshold
        self.plain = negative_slope == 0 and max_value is None and threshold == 0

    def forward(self, z):
        if self.plain:  # the hot path: one pass, keep only the output
            self.out = _chunked(lambda a, out: np.maximum(a, 0, out=out), z)
            return self.out
        self.z = z
        out = np.where(z > self.threshold, z, 0).astype(z.dtype)
        if self.max_value is not None:
            out = np.clip(out, 0, np.asarray(self.max_value, z.dtype))
        if self.negative_slope:
            out -= (self.negative_slope * np.maximum(self.threshold - z, 0)).astype(z.dtype)
        return out

    def backward(self, grad):
        if self.plain:
            return (_chunked(_pass_positive, grad, self.out),)
        z = self.z
        passes = z > self.threshold
        if self.max_value is not None:
            passes &= (z > 0) & (z < self.max_value)
        slope = passes.astype(grad.dtype)
        if self.negative_slope:
            slope += (self.negative_slope * (z < self.threshold)).astype(grad.dtype)
        return (grad * slope,)


class Elu(Op):
    def __init__(self, alpha=1.0, scale=1.0):
        self.alpha, self.scale = alpha, scale

    def forward(self, z):
        self.z = z
        self.negative = self.alpha * np.expm1(np.minimum(z, 0))  # expm1: accurate near 0
        return (self.scale * np.where(z > 0, z, self.negative)).astype(z.dtype)

    def backward(self, grad):
        slope = np.where(self.z > 0, 1, self.negative + self.alpha) * self.scale
        return ((grad * slope).astype(grad.dtype),)


class Softplus(Op):
    def forward(self, z):
        self.z = z
        return np.logaddexp(np.zeros((), z.dtype), z)

    def backward(self, grad):
        return (grad * 0.5 * (1.0 + np.tanh(0.5 * self.z)),)


def erf(x: np.ndarray) -> np.ndarray:
    """Vectorized error function (SciPy's when installed, else a 1.2e-7-accurate series)."""
    try:
        from scipy.special import erf as scipy_erf
        return scipy_erf(x)
    except ImportError:  # Numerical Recipes' erfc Chebyshev fit; core needs only NumPy
        t = 1.0 / (1.0 + 0.5 * np.abs(x))
        poly = -x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (
            -0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (
                -0.82215223 + t * 0.17087277))))))))
        return np.sign(x) * (1.0 - t * np.exp(poly))


class Erf(Op):
    """The error function as an op: d/dz erf(z) = 2/sqrt(pi) · e^(-z²)."""

    def forward(self, z):
        self.z = z
        return np.asarray(erf(z), dtype=z.dtype)

    def backward(self, grad):
        return (grad * (2 / math.sqrt(math.pi)) * np.exp(-self.z * self.z),)


class Gelu(Op):
    """z·Φ(z), exactly (erf) or with Keras's tanh approximation."""

    def __init__(self, approximate=False):
        self.approximate = approximate

    def forward(self, z):
        self.z = z
        if self.approximate:
            c = math.sqrt(2 / math.pi)
            self.t = np.tanh(c * (z + 0.044715 * z ** 3))
            return (0.5 * z * (1 + self.t)).astype(z.dtype)
        self.cdf = 0.5 * (1.0 + erf(z / math.sqrt(2)))
        return (z * self.cdf).astype(z.dtype)

    def backward(self, grad):
        z = self.z
        if self.approximate:
            c = math.sqrt(2 / math.pi)
            dt = (1 - self.t ** 2) * c * (1 + 3 * 0.044715 * z ** 2)
            return ((grad * (0.5 * (1 + self.t) + 0.5 * z * dt)).astype(grad.dtype),)
        pdf = np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
        return ((grad * (self.cdf + z * pdf)).astype(grad.dtype),)


class Silu(Op):
    """z·sigmoid(z), also called swish."""

    def forward(self, z):
        self.z, self.s = z, 0.5 * (1.0 + np.tanh(0.5 * z))
        return z * self.s

    def backward(self, grad):
        s = self.s
        return (grad * (s + self.z * s * (1 - s)),)


class Softmax(Op):
    """e^z_i / Σ_j e^z_j along ``axis``, shifted by the maximum so that exp never overflows."""

    def __init__(self, axis=-1):
        self.axis = axis

    def forward(self, z):
        e = np.exp(z - z.max(axis=self.axis, keepdims=True))
        e /= e.sum(axis=self.axis, keepdims=True)
        self.out = e
        return e

    def backward(self, grad):
        out = self.out
        return (out * (grad - (grad * out).sum(axis=self.axis, keepdims=True)),)


class LogSoftmax(Op):
    def __init__(self, axis=-1):
        self.axis = axis

    def forward(self, z):
        shifted = z - z.max(axis=self.axis, keepdims=True)
        self.out = shifted - np.log(np.exp(shifted).sum(axis=self.axis, keepdims=True))
        return self.out

    def backward(self, grad):
        return (grad - np.exp(self.out) * grad.sum(axis=self.axis, keepdims=True),)


def sigmoid(z): return Sigmoid()(z)
def tanh(z): return Tanh()(z)


def relu(z, negative_slope=0.0, max_value=None, threshold=0.0):
    return Relu(negative_slope, max_value, threshold)(z)


def leaky_relu(z, negative_slope=0.2): return Relu(negative_slope=negative_slope)(z)
def elu(z, alpha=1.0): return Elu(alpha)(z)
def selu(z): return Elu(SELU_ALPHA, SELU_SCALE)(z)
def softplus(z): return Softplus()(z)
def erf_op(z): return Erf()(z)
def gelu(z, approximate=False): return Gelu(approximate)(z)
def silu(z): return Silu()(z)
def softmax(z, axis=-1): return Softmax(axis)(z)
def log_softmax(z, axis=-1): return LogSoftmax(axis)(z)
