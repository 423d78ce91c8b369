"""Reductions over axes: sum, mean, max, min."""
from __future__ import annotations

import numpy as np

from neuropil.autodiff import Op

__all__ = ["sum", "mean", "max", "min"]


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


def sum(a, axis=None, keepdims=False): return Sum(axis, keepdims)(a)  # noqa: A001
def mean(a, axis=None, keepdims=False): return Mean(axis, keepdims)(a)
def max(a, axis=None, keepdims=False): return Max(axis, keepdims)(a)  # noqa: A001
def min(a, axis=None, keepdims=False): return Min(axis, keepdims)(a)  # noqa: A001
