"""``keras.ops``, NumPy part: moving values around, and making new arrays.

Every differentiable function here is built from three engine ops in ``shape.py``:
``reshape``/``transpose``, ``broadcast_to`` (whose backward sums the copies: tile, repeat)
and ``getitem`` (whose backward scatters back, adding repeated picks: take, flip, roll,
sort, padding by reflection). Creation functions return constants in Keras's default
dtypes: floatx for ``zeros``/``ones``/``eye``/``linspace``, int32 for an integer ``arange``.

Example:
>>> from neuropil import ops
>>> ops.tile([[1, 2]], (2, 2)).numpy().tolist()
[[1, 2, 1, 2], [1, 2, 1, 2]]
"""
from __future__ import annotations

import builtins

import numpy as np

from neuropil import backend
from neuropil.autodiff import Tensor
# Function by function: ``neuropil.ops.shape`` is Keras's ``shape()``, not the engine module.
from neuropil.ops.shape import (broadcast_to as _broadcast_to, concatenate as _concatenate,
                                getitem, reshape as _reshape, squeeze as _squeeze,
                                stack as _stack, transpose as _transpose)
from neuropil.ops.elementwise import multiply
from neuropil.ops.core_api import as_operand, convert_to_tensor, standardize_dtype

__all__ = ["reshape", "transpose", "expand_dims", "squeeze", "concatenate", "stack", "split",
           "take", "take_along_axis", "tile", "repeat", "flip", "swapaxes", "moveaxis",
           "broadcast_to", "ravel", "pad", "roll", "tril", "triu", "diagonal", "diag", "hstack",
           "vstack", "copy", "get_item", "ndim", "size", "nonzero", "zeros", "ones", "empty",
           "zeros_like", "ones_like", "full", "full_like", "eye", "identity", "arange",
           "linspace"]

_ALL = builtins.slice(None)


def _axis(axis: int, ndim: int, what: str) -> int:
    if not -ndim <= axis < ndim:
        raise ValueError(f"{what}: axis {axis} is out of range for a tensor of rank {ndim}.")
    return axis % ndim


# ---- shape ------------------------------------------------------------------------------
def reshape(x, newshape): return _reshape(as_operand(x), newshape)
def transpose(x, axes=None): return _transpose(as_operand(x), axes)
def ravel(x): return _reshape(as_operand(x), (-1,))
def broadcast_to(x, shape): return _broadcast_to(as_operand(x), shape)
def get_item(x, key): return getitem(as_operand(x), key)
def ndim(x) -> int: return np.ndim(x.data if isinstance(x, Tensor) else x)
def size(x) -> int: return int(np.size(x.data if isinstance(x, Tensor) else x))


def expand_dims(x, axis):
    """A new axis of size 1 at ``axis`` (an int or a tuple of them)."""
    x = as_operand(x)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    rank = x.ndim + len(axes)
    shape = iter(x.shape)
    new = {_axis(a, rank, "expand_dims") for a in axes}
    return _reshape(x, [1 if i in new else next(shape) for i in range(rank)])


def squeeze(x, axis=None):
    """Drops axes of size 1 (all of them, or those in ``axis``)."""
    x = as_operand(x)
    if axis is not None:
        axes = (axis,) if isinstance(axis, int) else tuple(axis)
        for a in axes:
            if x.shape[_axis(a, x.ndim, "squeeze")] != 1:
                raise ValueError(f"squeeze: axis {a} has size {x.shape[a]}, not 1. "
                                 f"Received: x.shape={x.shape}")
    return _squeeze(x, axis)


def concatenate(xs, axis=0):
    """Joins tensors along an existing axis (Keras's default: axis 0)."""
    return _concatenate([as_operand(x) for x in xs], axis=axis)


def stack(x, axis=0):
    """Joins tensors along a new axis."""
    return _stack([as_operand(t) for t in x], axis=axis)


def split(x, indices_or_sections, axis=0):
    """A list of pieces along ``axis``: ``n`` equal ones, or cut at the given indices."""
    x = as_operand(x)
    axis = _axis(axis, x.ndim, "split")
    length = x.shape[axis]
    if isinstance(indices_or_sections, int):
        if length % indices_or_sections:
            raise ValueError(f"split: {length} entries along axis {axis} do not divide into "
                             f"{indices_or_sections} equal sections.")
        cuts = list(range(0, length, length // indices_or_sections))[1:]
    else:
        cuts = [int(i) for i in indices_or_sections]
    bounds = zip([0] + cuts, cuts + [length])
    lead = (_ALL,) * axis
    return [getitem(x, lead + (builtins.slice(a, b),)) for a, b in bounds]


def take(x, indices, axis=None):
    """The entries at ``indices`` along ``axis`` (of the flattened x if None)."""
    x = as_operand(x)
    if axis is None:
        x, axis = ravel(x), 0
    index = np.asarray(indices.data if isinstance(indices, Tensor) else indices)
    if index.dtype.kind not in "iu":
        index = index.astype(np.int64)
    return getitem(x, (_ALL,) * _axis(axis, x.ndim, "take") + (index,))


def take_along_axis(x, indices, axis=None):
    """``np.take_along_axis``: ``indices`` picks, for each position of the other axes, its
    entries along ``axis`` (gather as done by argsort/argmax results)."""
    x = as_operand(x)
    index = np.asarray(indices.data if isinstance(indices, Tensor) else indices).astype(np.int64)
    if axis is None:
        x, axis = ravel(x), 0
    axis = _axis(axis, x.ndim, "take_along_axis")
    if index.ndim != x.ndim:
        raise ValueError(f"take_along_axis: indices need the rank of x ({x.ndim}). "
                         f"Received: indices.shape={index.shape}, x.shape={x.shape}")
    grid = tuple(index if d == axis else
                 np.arange(n).reshape([n if k == d else 1 for k in range(x.ndim)])
                 for d, n in enumerate(x.shape))
    return getitem(x, grid)


def tile(x, repeats):
    """``x`` repeated ``repeats[i]`` times along axis i (NumPy's alignment from the right)."""
    x = as_operand(x)
    reps = (repeats,) if isinstance(repeats, int) else tuple(int(r) for r in repeats)
    rank = builtins.max(x.ndim, len(reps))
    reps = (1,) * (rank - len(reps)) + reps
    shape = (1,) * (rank - x.ndim) + tuple(x.shape)
    spread = [n for r, d in zip(reps, shape) for n in (r, d)]
    x = _reshape(x, [n for d in shape for n in (1, d)])
    return _reshape(_broadcast_to(x, spread), [r * d for r, d in zip(reps, shape)])


def repeat(x, repeats, axis=None):
    """Each entry ``repeats`` times in a row along ``axis`` (flattened if None)."""
    x = as_operand(x)
    if axis is None:
        x, axis = ravel(x), 0
    axis = _axis(axis, x.ndim, "repeat")
    if np.ndim(repeats) == 0:
        r = int(repeats)
        shape = list(x.shape)
        spread = shape[:axis + 1] + [r] + shape[axis + 1:]
        x = _broadcast_to(_reshape(x, shape[:axis + 1] + [1] + shape[axis + 1:]), spread)
        return _reshape(x, shape[:axis] + [shape[axis] * r] + shape[axis + 1:])
    return take(x, np.repeat(np.arange(x.shape[axis]), np.asarray(repeats)), axis)


def flip(x, axis=None):
    """Reverses the order along ``axis`` (every axis if None)."""
    x = as_operand(x)
    axes = range(x.ndim) if axis is None else [axis] if isinstance(axis, int) else axis
    flipped = {_axis(a, x.ndim, "flip") for a in axes}
    return getitem(x, tuple(builtins.slice(None, None, -1) if d in flipped else _ALL
                               for d in range(x.ndim)))


def swapaxes(x, axis1, axis2):
    x = as_operand(x)
    order = list(range(x.ndim))
    a, b = _axis(axis1, x.ndim, "swapaxes"), _axis(axis2, x.ndim, "swapaxes")
    order[a], order[b] = order[b], order[a]
    return _transpose(x, order)


def moveaxis(x, source, destination):
    """Moves axes to new positions, the others keeping their order (``np.moveaxis``)."""
    x = as_operand(x)
    source = [source] if isinstance(source, int) else list(source)
    destination = [destination] if isinstance(destination, int) else list(destination)
    source = [_axis(a, x.ndim, "moveaxis") for a in source]
    destination = [_axis(a, x.ndim, "moveaxis") for a in destination]
    order = [n for n in range(x.ndim) if n not in source]
    for d, s in sorted(zip(destination, source)):
        order.insert(d, s)
    return _transpose(x, order)


def _gather_pattern(x, arrange) -> Tensor:
    """``x`` read through an index pattern: ``arrange`` rearranges an array of positions
    (np.roll, np.pad by reflection...), and the same picks are taken from x."""
    positions = arrange(np.arange(x.size).reshape(x.shape))
    return getitem(ravel(x), positions)


def pad(x, pad_width, mode="constant", constant_values=None):
    """Pads like ``np.pad``: mode "constant" (with ``constant_values``, default 0),
    "edge", "reflect", "symmetric" or "wrap"."""
    from neuropil.ops.pool import pad as constant_pad
    x = as_operand(x)
    if mode == "constant":
        return constant_pad(x, pad_width, 0 if constant_values is None else constant_values)
    if mode not in ("edge", "reflect", "symmetric", "wrap"):
        raise ValueError(f"pad: mode must be one of 'constant', 'edge', 'reflect', "
                         f"'symmetric', 'wrap'. Received: mode={mode!r}")
    if constant_values is not None:
        raise ValueError(f"pad: constant_values is only for mode='constant'. Received: "
                         f"mode={mode!r}, constant_values={constant_values!r}")
    return _gather_pattern(x, lambda p: np.pad(p, pad_width, mode=mode))


def roll(x, shift, axis=None):
    """Shifts entries along ``axis`` (the flattened x if None), wrapping around."""
    x = as_operand(x)
    return _gather_pattern(x, lambda p: np.roll(p, shift, axis=axis))


def tril(x, k=0):
    """Zeroes above the k-th diagonal of the last two axes."""
    x = as_operand(x)
    return multiply(x, np.tril(np.ones(x.shape[-2:], dtype=x.dtype), k))


def triu(x, k=0):
    """Zeroes below the k-th diagonal of the last two axes."""
    x = as_operand(x)
    return multiply(x, np.triu(np.ones(x.shape[-2:], dtype=x.dtype), k))


def diagonal(x, offset=0, axis1=0, axis2=1):
    """The ``offset`` diagonal of the (axis1, axis2) matrices, as a new last axis."""
    from neuropil.ops.linalg import einsum
    x = moveaxis(x, (axis1, axis2), (-2, -1))
    x = x[..., :, offset:] if offset >= 0 else x[..., -offset:, :]
    n = builtins.min(x.shape[-2], x.shape[-1])
    return einsum("...ii->...i", x[..., :n, :n])


def diag(x, k=0):
    """A 1-D x as the k-th diagonal of a square matrix; a 2-D x's k-th diagonal."""
    x = as_operand(x)
    if x.ndim == 2:
        return diagonal(x, k)
    if x.ndim != 1:
        raise ValueError(f"diag: x must be 1-D or 2-D. Received: x.shape={x.shape}")
    square = multiply(np.eye(x.shape[0], dtype=x.dtype), x)  # x[j] at (j, j)
    if k == 0:
        return square
    return pad(square, ((0, k), (k, 0)) if k > 0 else ((-k, 0), (0, -k)))


def hstack(xs):
    """Joins along axis 1 (axis 0 for 1-D tensors)."""
    xs = [as_operand(x) for x in xs]
    return _concatenate(xs, axis=0 if xs[0].ndim == 1 else 1)


def vstack(xs):
    """Joins along axis 0, 1-D tensors first made rows."""
    xs = [as_operand(x) for x in xs]
    return _concatenate([_reshape(x, (1, -1)) if x.ndim == 1 else x for x in xs], axis=0)


def copy(x):
    """A copy of the values; the gradient passes through."""
    x = as_operand(x)
    return multiply(x, np.ones((), x.dtype))


def nonzero(x):
    """The indices of the non-zero entries, one int32 tensor per axis."""
    return tuple(Tensor(i.astype(np.int32)) for i in np.nonzero(np.asarray(x)))


# ---- creation: constants ----------------------------------------------------------------
def _shape(shape) -> tuple:
    return (int(shape),) if np.ndim(shape) == 0 else tuple(int(n) for n in shape)


def zeros(shape, dtype=None): return Tensor(np.zeros(_shape(shape), standardize_dtype(dtype)))
def ones(shape, dtype=None): return Tensor(np.ones(_shape(shape), standardize_dtype(dtype)))
def empty(shape, dtype=None): return zeros(shape, dtype)


def full(shape, fill_value, dtype=None):
    """``shape`` filled with ``fill_value`` (dtype: given, else the fill value's)."""
    value = convert_to_tensor(fill_value, dtype).data
    return Tensor(np.array(np.broadcast_to(value, _shape(shape))))


def _like(x, dtype):
    x = as_operand(x)
    return x.shape, x.dtype if dtype is None else standardize_dtype(dtype)


def zeros_like(x, dtype=None): return Tensor(np.zeros(*_like(x, dtype)))
def ones_like(x, dtype=None): return Tensor(np.ones(*_like(x, dtype)))


def full_like(x, fill_value, dtype=None):
    shape, dtype = _like(x, dtype)
    return Tensor(np.full(shape, np.asarray(fill_value), dtype=dtype))


def eye(N, M=None, k=0, dtype=None):  # noqa: N803 - Keras's names
    """A 2-D tensor with ones on the k-th diagonal (floatx by default)."""
    return Tensor(np.eye(N, M, k, dtype=standardize_dtype(dtype)))


def identity(n, dtype=None): return eye(n, dtype=dtype)


def arange(start, stop=None, step=None, dtype=None):
    """Evenly spaced values in [start, stop); int32 unless a bound or the step is a float."""
    step = 1 if step is None else step
    if dtype is None:
        floats = builtins.any(isinstance(v, float) or np.asarray(v).dtype.kind == "f"
                              for v in (start, stop, step) if v is not None)
        dtype = backend.floatx() if floats else "int32"
    values = np.arange(start, stop, step) if stop is not None else np.arange(0, start, step)
    return Tensor(values.astype(standardize_dtype(dtype)))


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """``num`` evenly spaced values from start to stop (floatx by default)."""
    values, step = np.linspace(np.asarray(start), np.asarray(stop), num, endpoint=endpoint,
                               retstep=True, axis=axis)
    values = Tensor(values.astype(standardize_dtype(dtype)))
    return (values, step) if retstep else values
