"""``keras.ops``, values placed or gathered by index: ``scatter``, ``scatter_update``,
``segment_sum``, ``segment_max``, ``bincount``, ``searchsorted``.

Indices are never differentiated. ``scatter``, ``scatter_update`` and the segment
reductions each have a small op below: the gradient of a value goes back through the index
it was written to (read from, for the segments); ``bincount`` and ``searchsorted`` give
constants.

Example:
>>> from neuropil import ops
>>> ops.segment_sum([1, 2, 10, 20], [0, 0, 1, 1], num_segments=2).numpy()
array([ 3, 30], dtype=int32)
"""
from __future__ import annotations

import numpy as np

from neuropil.autodiff import Op, Tensor
from neuropil.ops.core_api import as_operand, constant

__all__ = ["scatter", "scatter_update", "segment_sum", "segment_max", "bincount",
           "searchsorted"]


def _index_tuple(name, indices, shape, updates_shape):
    """``indices`` (..., k) as a NumPy index tuple into the first k axes of ``shape``,
    checked against the bounds and against the updates' shape (...) + shape[k:]."""
    indices = np.asarray(indices.data if isinstance(indices, Tensor) else indices)
    if indices.dtype.kind not in "iu" or indices.ndim == 0:
        raise ValueError(f"{name}: indices must be integers of shape (..., k). Received: "
                         f"indices of dtype {indices.dtype} and shape {indices.shape}")
    k = indices.shape[-1]
    if k > len(shape):
        raise ValueError(f"{name}: each index has {k} entries but the target has only "
                         f"{len(shape)} axes (shape {tuple(shape)}).")
    expected = indices.shape[:-1] + tuple(shape[k:])
    if tuple(updates_shape) != expected:
        raise ValueError(f"{name}: with indices of shape {indices.shape} into shape "
                         f"{tuple(shape)}, the updates must have shape {expected}. "
                         f"Received: shape {tuple(updates_shape)}")
    flat = indices.reshape(-1, k)
    bad = (flat < -np.asarray(shape[:k])) | (flat >= np.asarray(shape[:k]))
    if bad.any():
        raise ValueError(f"{name}: index {flat[bad.any(axis=1)][0].tolist()} is out of "
                         f"range for shape {tuple(shape)}.")
    return tuple(flat.T), len(flat)


class Scatter(Op):
    """Zeros of ``shape`` with ``values`` added at ``index`` (duplicates add up)."""

    def __init__(self, index, count, shape):
        self.index, self.count, self.shape = index, count, tuple(shape)

    def forward(self, values):
        self.values_shape = values.shape
        out = np.zeros(self.shape, dtype=values.dtype)
        rows = values.reshape((self.count,) + self.shape[len(self.index):])
        np.add.at(out, self.index, rows)
        return out

    def backward(self, grad):
        return (grad[self.index].reshape(self.values_shape),)


def scatter(indices, values, shape):
    """A tensor of ``shape``, zero except at ``indices``, where ``values`` go.

    ``indices`` has shape (..., k): each row addresses the first k axes, and ``values``
    has shape (...) + shape[k:]. Values at a repeated index add up. Differentiable in
    ``values``; the result has their dtype.

    Example:
    >>> scatter([[0, 1], [1, 1]], [1.0, 1.0], shape=(2, 2)).numpy()
    array([[0., 1.],
           [0., 1.]], dtype=float32)
    """
    values = as_operand(values)
    shape = tuple(int(n) for n in shape)
    index, count = _index_tuple("scatter", indices, shape, values.shape)
    return Scatter(index, count, shape)(values)


class ScatterUpdate(Op):
    """``inputs`` with ``updates`` written (or added) at ``index``.

    Written: the gradient of a replaced entry of ``inputs`` is 0, and of a repeated index
    only the update that landed (the last one, as NumPy writes) gets a gradient. Added:
    both pass the gradient through unchanged.
    """

    def __init__(self, index, count, add):
        self.index, self.count, self.add = index, count, add

    def forward(self, inputs, updates):
        out = inputs.copy()
        self.updates_shape, self.updates_dtype = updates.shape, updates.dtype
        updates = updates.reshape((self.count,) + inputs.shape[len(self.index):])
        updates = updates.astype(inputs.dtype, copy=False)
        if self.add:
            np.add.at(out, self.index, updates)
        else:
            out[self.index] = updates
            if self.recording:  # which update landed where, written the same way
                slot = np.full(inputs.shape[:len(self.index)], -1)
                slot[self.index] = np.arange(self.count)
                self.landed = slot[self.index] == np.arange(self.count)
        return out

    def backward(self, grad):
        g_updates = grad[self.index].astype(self.updates_dtype, copy=False)
        if self.add:
            return grad, g_updates.reshape(self.updates_shape)
        g_inputs = grad.copy()
        g_inputs[self.index] = 0
        mask = self.landed.reshape((-1,) + (1,) * (g_updates.ndim - 1))
        return g_inputs, (g_updates * mask).reshape(self.updates_shape)


def scatter_update(inputs, indices, updates, reduction=None):
    """``inputs`` with ``inputs[indices] = updates``.

    ``indices`` has shape (N, k): each row addresses the first k axes of ``inputs``, and
    ``updates`` has shape (N,) + inputs.shape[k:]. The result has the shape and dtype of
    ``inputs``; differentiable in ``inputs`` and ``updates``.

    Args:
        inputs: the tensor to update.
        indices: integer tensor of shape (N, k).
        updates: the new values.
        reduction: None (default): updates replace the values, the last one wins at a
            repeated index; ``"add"``: they are added. Keras's ``"max"``, ``"min"`` and
            ``"mul"`` are not supported here.

    Example:
    >>> scatter_update([0.0, 0.0, 0.0], [[0], [2]], [1.0, 5.0]).numpy()
    array([1., 0., 5.], dtype=float32)
    """
    if reduction is not None and str(reduction).lower() not in ("add",):
        raise NotImplementedError(f"scatter_update: neuropil supports reduction=None and "
                                  f"'add'. Received: reduction={reduction!r}")
    inputs, updates = as_operand(inputs), as_operand(updates)
    index, count = _index_tuple("scatter_update", indices, inputs.shape, updates.shape)
    return ScatterUpdate(index, count, reduction is not None)(inputs, updates)


def _segments(name, data, segment_ids, num_segments):
    """The segment ids as a 1-D int array matching data's first axis, and the count."""
    ids = np.asarray(segment_ids.data if isinstance(segment_ids, Tensor) else segment_ids)
    if ids.ndim != 1 or ids.dtype.kind not in "iu":
        raise ValueError(f"{name}: segment_ids must be a 1-D integer tensor. Received: "
                         f"dtype {ids.dtype}, shape {ids.shape}")
    if data.ndim == 0 or ids.shape[0] != data.shape[0]:
        raise ValueError(f"{name}: segment_ids and data must have the same leading "
                         f"dimension. Received: segment_ids shape {ids.shape}, data shape "
                         f"{data.shape}")
    if num_segments is None:
        num_segments = int(ids.max()) + 1 if ids.size else 0
    num_segments = int(num_segments)
    if ids.size and ids.max() >= num_segments:
        raise ValueError(f"{name}: segment id {int(ids.max())} is out of range for "
                         f"num_segments={num_segments}.")
    return ids.astype(np.int64), num_segments


class SegmentSum(Op):
    """Sums rows of data per segment; each row's gradient is its segment's (negative ids
    are dropped: gradient 0)."""

    def __init__(self, ids, num_segments):
        self.ids, self.num_segments = ids, num_segments
        self.kept = ids >= 0

    def forward(self, data):
        out = np.zeros((self.num_segments,) + data.shape[1:], dtype=data.dtype)
        np.add.at(out, self.ids[self.kept], data[self.kept])
        return out

    def backward(self, grad):
        back = grad[np.where(self.kept, self.ids, 0)]
        back[~self.kept] = 0
        return (back,)


class SegmentMax(Op):
    """The maximum of rows per segment (-inf, or the dtype's minimum for ints, where a
    segment is empty). The gradient goes to the rows that reached the maximum, split
    evenly among ties, as JAX and TensorFlow do."""

    def __init__(self, ids, num_segments):
        self.ids, self.num_segments = ids, num_segments
        self.kept = ids >= 0

    def forward(self, data):
        lowest = -np.inf if data.dtype.kind == "f" else np.iinfo(data.dtype).min
        out = np.full((self.num_segments,) + data.shape[1:], lowest, dtype=data.dtype)
        np.maximum.at(out, self.ids[self.kept], data[self.kept])
        if self.recording:
            self.data, self.out = data, out
        return out

    def backward(self, grad):
        ids = np.where(self.kept, self.ids, 0)
        chosen = (self.data == self.out[ids]) & self.kept.reshape(
            (-1,) + (1,) * (self.data.ndim - 1))
        ties = np.zeros(self.out.shape)
        np.add.at(ties, ids, chosen)
        return (np.where(chosen, grad[ids] / np.maximum(ties[ids], 1), 0).astype(grad.dtype),)


def segment_sum(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """The sum of ``data``'s rows per segment: ``out[s] = Σ data[i] where
    segment_ids[i] == s``.

    Args:
        data: input tensor; its first axis is split into segments.
        segment_ids: 1-D integer tensor, one id per row of ``data``; rows with a negative
            id are left out.
        num_segments: the number of segments. Defaults to ``max(segment_ids) + 1``.
        sorted: whether ``segment_ids`` is sorted (a hint; the result is the same).

    Returns:
        A tensor of shape (num_segments,) + data.shape[1:], data's dtype; differentiable
        in ``data``.
    """
    data = as_operand(data)
    ids, count = _segments("segment_sum", data, segment_ids, num_segments)
    return SegmentSum(ids, count)(data)


def segment_max(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """The maximum of ``data``'s rows per segment (arguments as ``segment_sum``).

    An empty segment holds -inf (the dtype's minimum for integers). The gradient goes to
    the rows holding the maximum, split evenly among ties.

    Example:
    >>> segment_max([1.0, 2.0, 10.0, 20.0], [0, 0, 1, 1], num_segments=2).numpy()
    array([ 2., 20.], dtype=float32)
    """
    data = as_operand(data)
    ids, count = _segments("segment_max", data, segment_ids, num_segments)
    return SegmentMax(ids, count)(data)


def bincount(x, weights=None, minlength=0, sparse=False):
    """How often each value 0, 1, ... occurs in ``x`` (or the sum of ``weights`` there).

    Args:
        x: 1-D tensor of non-negative integers (2-D: one count per row).
        weights: optional tensor shaped like ``x``: ``out[x[i]] += weights[i]``.
        minlength: the least number of bins. Defaults to 0.
        sparse: must be False (neuropil has no sparse tensors).

    Returns:
        Counts of length max(max(x) + 1, minlength): int32, or the weights' dtype. Not
        differentiated.

    Example:
    >>> bincount([1, 2, 2, 3]).numpy()
    array([0, 1, 2, 1], dtype=int32)
    """
    if sparse:
        raise ValueError("bincount: sparse=True is not supported, neuropil has no sparse "
                         "tensors. Use sparse=False.")
    x = np.asarray(as_operand(x).data)
    if x.dtype.kind not in "biu" or x.ndim not in (1, 2):
        raise ValueError(f"bincount: x must be a 1-D or 2-D integer tensor. Received: "
                         f"dtype {x.dtype}, shape {x.shape}")
    if x.size and x.min() < 0:
        raise ValueError(f"bincount: x must be non-negative. Received: min(x)={x.min()}")
    length = max(int(x.max()) + 1 if x.size else 0, int(minlength))
    if weights is None:
        dtype, w = np.dtype("int32"), None
    else:
        w = np.asarray(as_operand(weights).data)
        if w.shape != x.shape:
            raise ValueError(f"bincount: weights must have x's shape {x.shape}. Received: "
                             f"{w.shape}")
        dtype = w.dtype if w.dtype.kind == "f" else np.result_type(x.dtype, w.dtype)
    rows = x.reshape(-1, x.shape[-1]) if x.ndim == 2 else x[None]
    w_rows = None if w is None else w.reshape(rows.shape)
    counts = [np.bincount(r, None if w_rows is None else w_rows[i], length)
              for i, r in enumerate(rows)]
    counts = np.stack(counts).astype(dtype) if counts else np.zeros((0, length), dtype)
    return constant(counts if x.ndim == 2 else counts[0])


def searchsorted(sorted_sequence, values, side="left"):
    """Where to insert ``values`` into the 1-D ``sorted_sequence`` to keep it sorted.

    Args:
        sorted_sequence: 1-D sorted tensor.
        values: tensor of any shape.
        side: ``"left"`` (the first suitable index) or ``"right"`` (the last) on ties.

    Returns:
        int32 indices shaped like ``values`` (no gradient).

    Example:
    >>> searchsorted([1, 3, 3, 5], [3, 4], side="right").numpy()
    array([3, 3], dtype=int32)
    """
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right'. Received: "
                         f"side={side!r}")
    sequence = np.asarray(as_operand(sorted_sequence).data)
    if sequence.ndim != 1:
        raise ValueError(f"searchsorted: sorted_sequence must be 1-D. Received: shape "
                         f"{sequence.shape}. Use keras.ops.vectorized_map for N-D.")
    found = np.searchsorted(sequence, np.asarray(as_operand(values).data), side=side)
    dtype = np.int32 if len(sequence) <= np.iinfo(np.int32).max else np.int64
    return constant(np.asarray(found, dtype=dtype))
