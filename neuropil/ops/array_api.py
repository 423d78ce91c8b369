"""``keras.ops``, array builders: ``meshgrid``, ``tri``, ``kron`` and the running product
``cumprod``.

``meshgrid`` and ``kron`` are composed from reshape, broadcast and multiply, so their
gradients come from those ops; ``cumprod`` has its own op (below) because its backward must
cope with zeros, where dividing by the input fails.

Example:
>>> from neuropil import ops
>>> ops.kron([[1, 2]], [[1], [10]]).numpy()
array([[ 1,  2],
       [10, 20]], dtype=int32)
"""
from __future__ import annotations

import numpy as np

from neuropil.autodiff import Op
from neuropil.ops import elementwise as ew
from neuropil.ops.core_api import as_operand, cast, constant, operands, standardize_dtype
from neuropil.ops.shape import broadcast_to, reshape

__all__ = ["meshgrid", "tri", "kron", "cumprod"]


def meshgrid(*x, indexing="xy"):
    """Coordinate grids from 1-D coordinate vectors.

    Given N vectors of lengths S0 ... SN-1, returns N tensors of shape (S0, ..., SN-1) with
    ``indexing="ij"``, where the i-th repeats vector i along axis i. ``indexing="xy"``
    (the default, Cartesian) swaps the first two axes: shape (S1, S0, S2, ...). Each
    output keeps its input's dtype and passes its gradient back to it.

    Args:
        *x: 1-D tensors (N-D ones are flattened, as NumPy does).
        indexing: ``"xy"`` or ``"ij"``. Defaults to ``"xy"``.

    Returns:
        A list of N tensors.

    Example:
    >>> gx, gy = meshgrid([1, 2, 3], [4, 5], indexing="ij")
    >>> gx.numpy()
    array([[1, 1],
           [2, 2],
           [3, 3]], dtype=int32)
    """
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: indexing must be 'xy' or 'ij'. Received: "
                         f"indexing={indexing!r}")
    vectors = [as_operand(v) for v in x]
    vectors = [v if v.ndim == 1 else reshape(v, (-1,)) for v in vectors]
    shape = [v.shape[0] for v in vectors]
    axes = list(range(len(vectors)))
    if indexing == "xy" and len(vectors) > 1:
        shape[0], shape[1] = shape[1], shape[0]
        axes[0], axes[1] = 1, 0
    grids = []
    for v, axis in zip(vectors, axes):
        along = [1] * len(vectors)
        along[axis] = -1
        grids.append(broadcast_to(reshape(v, along), shape))
    return grids


def tri(N, M=None, k=0, dtype=None):
    """A (N, M) tensor with ones at and below the k-th diagonal (``T[i, j] = 1`` where
    ``j <= i + k``) and zeros elsewhere.

    Args:
        N: number of rows.
        M: number of columns. Defaults to ``N``.
        k: the diagonal: 0 the main one, below it if negative, above if positive.
        dtype: the result's dtype. Defaults to ``floatx()`` ("float32").

    Example:
    >>> tri(2, 3, k=1).numpy()
    array([[1., 1., 0.],
           [1., 1., 1.]], dtype=float32)
    """
    return constant(np.tri(N, M=M, k=k, dtype=standardize_dtype(dtype)))


def kron(x1, x2):
    """The Kronecker product: blocks ``x1[i] * x2``, shape ``(a0*b0, a1*b1, ...)``.

    The operand with fewer axes gets leading axes of size 1, as in NumPy. Differentiable
    in both operands.

    Example:
    >>> kron([1, 2], [1, 10]).numpy()
    array([ 1, 10,  2, 20], dtype=int32)
    """
    x1, x2 = operands(x1, x2)
    ndim = max(x1.ndim, x2.ndim)
    a_shape = (1,) * (ndim - x1.ndim) + x1.shape
    b_shape = (1,) * (ndim - x2.ndim) + x2.shape
    # Interleave the axes: a on even positions, b on odd, so their product's reshape
    # lays out block a[i] * b at row i * len(b).
    a = reshape(x1, [n for size in a_shape for n in (size, 1)])
    b = reshape(x2, [n for size in b_shape for n in (1, size)])
    return reshape(ew.multiply(a, b), [p * q for p, q in zip(a_shape, b_shape)])


class CumProd(Op):
    """Running product along ``axis`` (None: of the flattened array).

    Input i counts in every output j >= i, with the product of the other entries up to j.
    Where the input is nonzero, that is out[j] / x[i], so the gradient is the reverse
    running sum of grad * out divided by x. Only the first zero of a row can have a
    nonzero gradient (every later term contains it); it gets its exact value
    out[z-1] * Σ_{j>=z} grad[j] * x[z+1] ... x[j].
    """

    def __init__(self, axis=None):
        self.axis = axis

    def forward(self, a):
        out = np.cumprod(a, axis=self.axis, dtype=a.dtype)  # NumPy widens small ints
        if self.recording:
            self.a, self.out = a, out
        return out

    def backward(self, grad):
        shape = self.a.shape
        axis = -1 if self.axis is None else self.axis
        a = self.a.reshape(-1) if self.axis is None else np.moveaxis(self.a, axis, -1)
        out = self.out if self.axis is None else np.moveaxis(self.out, axis, -1)
        grad = grad if self.axis is None else np.moveaxis(grad, axis, -1)
        reverse = np.flip(np.cumsum(np.flip(grad * out, -1), axis=-1), -1)
        nonzero = a != 0
        back = np.divide(reverse, a, out=np.zeros_like(reverse), where=nonzero)
        rows, ends = a.reshape(-1, a.shape[-1]), out.reshape(-1, a.shape[-1])
        grads, backs = grad.reshape(-1, a.shape[-1]), back.reshape(-1, a.shape[-1])
        for r in np.flatnonzero(~nonzero.reshape(-1, a.shape[-1]).all(axis=-1)):
            z = int(np.argmin(rows[r] != 0))  # the first zero
            before = ends[r, z - 1] if z > 0 else 1
            after = np.cumprod(np.concatenate([[1], rows[r, z + 1:]]))
            backs[r, z] = before * np.sum(grads[r, z:] * after)
        back = backs.reshape(a.shape)
        if self.axis is None:
            return (back.reshape(shape),)
        return (np.moveaxis(back, -1, axis),)


def cumprod(x, axis=None, dtype=None):
    """The cumulative product along ``axis`` (the flattened input by default).

    Args:
        x: input tensor.
        axis: the axis to run along. Defaults to None (flattened).
        dtype: the result's dtype. Defaults to x's dtype (bool becomes int32).

    Example:
    >>> cumprod([1.0, 2.0, 3.0]).numpy()
    array([1., 2., 6.], dtype=float32)
    """
    x = as_operand(x)
    if dtype is not None or x.dtype == bool:
        x = cast(x, dtype or "int32")
    return CumProd(axis)(x)
