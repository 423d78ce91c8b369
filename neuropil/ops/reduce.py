"""Reductions over axes: sum, mean, max, min, prod, logsumexp, and the running sum cumsum."""
from __future__ import annotations

import numpy as np

from neuropil.autodiff import Op

__all__ = ["sum", "mean", "max", "min", "prod", "logsumexp", "cumsum"]


def _axes(axis, ndim: int) -> tuple:
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    return tuple(a % ndim for a in axes)


def _restore(grad, shape, axes, keepdims):
    """Reshapes a reduced gradient so that it broadcasts back over the input."""
    if not keepdims:
        grad = np.expand_dims(grad, axes) if axes else grad
    return grad


class Sum(Op):
    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, a):
        self.shape, self.axes = a.shape, _axes(self.axis, a.ndim)
        return np.sum(a, axis=self.axes, keepdims=self.keepdims)

    def backward(self, grad):
        grad = _restore(grad, self.shape, self.axes, self.keepdims)
        return (np.broadcast_to(grad, self.shape),)


class Mean(Op):
    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, a):
        self.shape, self.axes = a.shape, _axes(self.axis, a.ndim)
        return np.mean(a, axis=self.axes, keepdims=self.keepdims)

    def backward(self, grad):
        count = int(np.prod([self.shape[i] for i in self.axes]))
        grad = _restore(grad, self.shape, self.axes, self.keepdims) / count
        return (np.broadcast_to(grad, self.shape),)


class _Extreme(Op):
    """max / min: the gradient goes to the extreme entries, split evenly among ties."""

    reduce = None

    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, a):
        self.axes = _axes(self.axis, a.ndim)
        out = self.reduce(a, axis=self.axes, keepdims=True)
        if self.recording:
            self.a, self.out_kept = a, out
        return out if self.keepdims else np.squeeze(out, axis=self.axes)

    def backward(self, grad):
        grad = _restore(grad, self.a.shape, self.axes, self.keepdims)
        chosen = (self.a == self.out_kept).astype(grad.dtype)
        return (chosen * (grad / chosen.sum(axis=self.axes, keepdims=True)),)


class Max(_Extreme):
    reduce = staticmethod(np.max)


class Min(_Extreme):
    reduce = staticmethod(np.min)


class Prod(Op):
    """The product over ``axes``. The gradient of each entry is the product of the others,
    from exclusive running products on both sides, so zeros need no division."""

    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, a):
        self.axes = _axes(self.axis, a.ndim)
        if self.recording:
            self.a = a
        return np.prod(a, axis=self.axes, keepdims=self.keepdims)

    def backward(self, grad):
        a, axes = self.a, self.axes
        if not axes:  # nothing reduced: the identity
            return (grad,)
        others = tuple(i for i in range(a.ndim) if i not in axes)
        order = others + axes
        rows = a.transpose(order).reshape([a.shape[i] for i in others] + [-1])
        ones = np.ones(rows.shape[:-1] + (1,), rows.dtype)
        before = np.concatenate([ones, np.cumprod(rows[..., :-1], axis=-1)], axis=-1)
        after = np.cumprod(rows[..., ::-1], axis=-1)[..., :-1][..., ::-1]
        rest = (before * np.concatenate([after, ones], axis=-1))
        rest = rest.reshape([a.shape[i] for i in order]).transpose(np.argsort(order))
        return (rest * _restore(grad, a.shape, axes, self.keepdims),)


class LogSumExp(Op):
    """log Σ e^a over ``axes``, shifted by the maximum; the gradient is softmax(a)."""

    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, a):
        self.axes = _axes(self.axis, a.ndim)
        top = np.max(a, axis=self.axes, keepdims=True)
        top = np.where(np.isfinite(top), top, 0)  # a row of -inf stays -inf, not nan
        out = np.log(np.sum(np.exp(a - top), axis=self.axes, keepdims=True)) + top
        if self.recording:
            self.a, self.out_kept = a, out
        return out if self.keepdims else np.squeeze(out, axis=self.axes)

    def backward(self, grad):
        grad = _restore(grad, self.a.shape, self.axes, self.keepdims)
        return (grad * np.exp(self.a - self.out_kept),)


class CumSum(Op):
    """Running sum along ``axis`` (None: of the flattened array); backward runs it in
    reverse, because input i counts in every output from i on."""

    def __init__(self, axis=None):
        self.axis = axis

    def forward(self, a):
        self.shape = a.shape
        return np.cumsum(a, axis=self.axis)

    def backward(self, grad):
        axis = 0 if self.axis is None else self.axis
        back = np.flip(np.cumsum(np.flip(grad, axis), axis=axis), axis)
        return (back.reshape(self.shape),)


def sum(a, axis=None, keepdims=False): return Sum(axis, keepdims)(a)  # noqa: A001
def mean(a, axis=None, keepdims=False): return Mean(axis, keepdims)(a)
def max(a, axis=None, keepdims=False): return Max(axis, keepdims)(a)  # noqa: A001
def min(a, axis=None, keepdims=False): return Min(axis, keepdims)(a)  # noqa: A001
def prod(a, axis=None, keepdims=False): return Prod(axis, keepdims)(a)
def logsumexp(a, axis=None, keepdims=False): return LogSumExp(axis, keepdims)(a)
def cumsum(a, axis=None): return CumSum(axis)(a)
