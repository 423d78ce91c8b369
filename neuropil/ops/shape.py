"""Ops that move values around without changing them: reshape, transpose, slicing, joining."""
from __future__ import annotations

import numpy as np

from neuropil.autodiff import Op

__all__ = ["reshape", "transpose", "getitem", "concatenate", "stack", "expand_dims", "squeeze",
           "broadcast_to", "flatten"]


class Reshape(Op):
    def __init__(self, shape):
        self.new_shape = tuple(shape) if not isinstance(shape, int) else (shape,)

    def forward(self, a):
        self.shape = a.shape
        return a.reshape(self.new_shape)

    def backward(self, grad):
        return (grad.reshape(self.shape),)


class Transpose(Op):
    def __init__(self, axes=None):
        self.axes = None if axes is None else tuple(axes)

    def forward(self, a):
        out = a.transpose(self.axes)  # NumPy validates the axes
        # Normalized: backward inverts the permutation with argsort, which needs axes >= 0.
        self.axes = tuple(ax % a.ndim for ax in self.axes or reversed(range(a.ndim)))
        return out

    def backward(self, grad):
        return (grad.transpose(np.argsort(self.axes)),)


class GetItem(Op):
    """``a[index]`` for any NumPy index; repeated fancy indices accumulate their gradients."""

    def __init__(self, index):
        self.index = index

    def forward(self, a):
        self.shape = a.shape
        return a[self.index]

    def backward(self, grad):
        out = np.zeros(self.shape, dtype=grad.dtype)
        np.add.at(out, self.index, grad)
        return (out,)


class Concatenate(Op):
    def __init__(self, axis=-1):
        self.axis = axis

    def forward(self, *arrays):
        self.splits = np.cumsum([a.shape[self.axis] for a in arrays])[:-1]
        return np.concatenate(arrays, axis=self.axis)

    def backward(self, grad):
        return tuple(np.split(grad, self.splits, axis=self.axis))


class BroadcastTo(Op):
    def __init__(self, shape):
        self.target = tuple(shape)

    def forward(self, a):
        self.shape = a.shape
        return np.broadcast_to(a, self.target)

    def backward(self, grad):
        from neuropil.ops.elementwise import unbroadcast
        return (unbroadcast(grad, self.shape),)


def reshape(a, shape): return Reshape(shape)(a)
def transpose(a, axes=None): return Transpose(axes)(a)
def getitem(a, index): return GetItem(index)(a)
def concatenate(tensors, axis=-1): return Concatenate(axis)(*tensors)
def broadcast_to(a, shape): return BroadcastTo(shape)(a)


def flatten(a):
    """Keeps the first (batch) axis and flattens the rest: (N, d1, d2, ...) -> (N, d1*d2*...)."""
    return reshape(a, (a.shape[0], -1))


def expand_dims(a, axis):
    shape = list(a.shape)
    shape.insert(axis % (len(shape) + 1), 1)
    return reshape(a, shape)


def squeeze(a, axis=None):
    axes = [i for i, n in enumerate(a.shape) if n == 1] if axis is None else \
        [axis % a.ndim] if isinstance(axis, int) else [x % a.ndim for x in axis]
    return reshape(a, [n for i, n in enumerate(a.shape) if i not in axes])


def stack(tensors, axis=0):
    return concatenate([expand_dims(t, axis) for t in tensors], axis=axis)
