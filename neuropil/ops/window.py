"""Where a sliding window lands on a batch of images, and the scratch space ops reuse.

Shared by the convolutions (``conv.py``) and pooling (``pool.py``):

- ``pair``: an int or a pair of ints, validated, as Keras's ``kernel_size`` / ``strides``.
- ``SlidingWindow``: the geometry (output size, Keras's padding split, which strided slice
  each tap reads), and the two data movements built on it: ``columns`` (im2col: every
  window's numbers in one row) and ``scatter`` (its adjoint: each tap's piece added back
  where it was read).
- ``scratch``: per-thread reusable buffers for arrays that never leave an op (a chunk's
  columns, its padded images): the same few MB every call instead of fresh arrays whose
  pages the kernel must fault in again (~1 ms per 2.4 MB on a small VM). Per thread,
  because ``backend.threads.map_chunks`` runs an op's chunks on several threads at once.
- ``batch_chunks``: the batch cut into chunks of about ``CHUNK_BYTES`` of work, small
  enough that a chunk's columns stay in the cache between the copy that writes them and
  the GEMM that reads them, and at least one chunk per worker thread.
"""
from __future__ import annotations

import math
import numbers
import threading

import numpy as np
from numpy.lib.stride_tricks import as_strided, sliding_window_view

from neuropil.backend import threads
from neuropil.ops import accel

__all__ = ["pair", "SlidingWindow", "scratch", "bordered", "batch_chunks", "image_bytes",
           "CHUNK_BYTES"]


def pair(value, name: str, low: int = 1) -> tuple:
    """An int or a 2-sequence of ints (each >= ``low``) -> a 2-tuple."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (value, value)
    value = tuple(value)
    if len(value) != 2 or any(not isinstance(v, numbers.Integral) or isinstance(v, bool)
                              or v < low for v in value):
        raise ValueError(f"`{name}` must be an integer >= {low} or a tuple of two. "
                         f"Received: {name}={value!r}")
    return tuple(int(v) for v in value)


class SlidingWindow:
    """Where a (kh, kw) window, moved by ``strides`` and spread by ``dilation``, lands on an
    (h, w) image with Keras's padding rule.

    ``"valid"`` adds nothing and keeps only windows that fit: out = (n - span) // s + 1, where
    span = (k - 1)·d + 1. ``"same"`` gives out = ceil(n / s) by padding the least that makes
    the last window fit, (out - 1)·s + span - n (never negative), split with the smaller half
    before and the larger after (TensorFlow's rule; PyTorch would pad symmetrically).
    Tap (a, b) of the window reads the padded image at rows a·d + s·i for i < out_h, and
    columns b·d + s·j: one strided slice of the whole batch per tap.
    """

    def __init__(self, image_hw, kernel_hw, strides, dilation, padding: str, what="kernel"):
        padding = padding.lower() if isinstance(padding, str) else padding
        if padding not in ("valid", "same"):
            raise ValueError(f"`padding` must be 'valid' or 'same'. Received: padding={padding!r}")
        self.kernel_hw, self.strides, self.dilation = tuple(kernel_hw), strides, dilation
        self.out_hw, self.pads = [], []
        for n, k, s, d in zip(image_hw, kernel_hw, strides, dilation):
            span = (k - 1) * d + 1
            if padding == "valid":
                out, total = (n - span) // s + 1, 0
            else:
                out = -(-n // s)
                total = max((out - 1) * s + span - n, 0)
            if out < 1:
                raise ValueError(
                    f"The {what} of size {tuple(kernel_hw)} (dilation {tuple(dilation)}) does "
                    f"not fit in an image of size {tuple(image_hw)} with padding='valid': the "
                    f"output would be empty. Use padding='same', a smaller {what} or a larger "
                    "input.")
            self.out_hw.append(out)
            self.pads.append((total // 2, total - total // 2))
        self.out_hw = tuple(self.out_hw)
        # Windows that never overlap (stride >= span): no two taps read the same position.
        self.disjoint = all(s >= (k - 1) * d + 1
                            for k, s, d in zip(kernel_hw, strides, dilation))
        self.image_hw = tuple(image_hw)
        self.padded_hw = tuple(n + sum(p) for n, p in zip(image_hw, self.pads))

    def taps(self):
        """Yields (tap index, (row slice, column slice)) in row-major kernel order."""
        (kh, kw), (sh, sw), (dh, dw), (oh, ow) = (self.kernel_hw, self.strides, self.dilation,
                                                  self.out_hw)
        for a in range(kh):
            for b in range(kw):
                yield a * kw + b, (slice(None), slice(a * dh, a * dh + sh * (oh - 1) + 1, sh),
                                   slice(b * dw, b * dw + sw * (ow - 1) + 1, sw))

    def pad(self, x, value=0, in_scratch: bool = False):
        """x (N, h, w, C) inside a border of ``value``; x itself when there is no border.
        ``in_scratch``: built in this thread's scratch buffer for padded images."""
        if not any(any(p) for p in self.pads):
            return x
        (top, _), (left, _) = self.pads
        shape = (x.shape[0],) + self.padded_hw + x.shape[3:]
        if in_scratch:
            out = bordered(shape, x.dtype, value, (top, left) + x.shape[1:3])
        else:
            out = np.full(shape, value, dtype=x.dtype)
        out[:, top:top + x.shape[1], left:left + x.shape[2]] = x
        return out

    def crop(self, padded):
        """The inverse of ``pad``: the image's part of a padded array (a view)."""
        (top, _), (left, _) = self.pads
        return padded[:, top:top + self.image_hw[0], left:left + self.image_hw[1]]

    def scatter(self, pieces, batch_shape, dtype, in_scratch: bool = False):
        """Adds each tap's piece (N, out_h, out_w, ...), given in tap order, where that tap
        read from: the adjoint of taking the slices. Returns the padded-image-sized sum
        (in this thread's scratch buffer for scatters when ``in_scratch``).

        Each piece is used before the next is asked for, so a generator may hand out one
        buffer over and over."""
        shape = (batch_shape[0],) + self.padded_hw + tuple(batch_shape[1:])
        if in_scratch:
            out = scratch(shape, dtype, "scatter")
            out[...] = 0
        else:
            out = np.zeros(shape, dtype)
        for (_, where), piece in zip(self.taps(), pieces):
            if self.disjoint:
                out[where] = piece  # nothing to add to: a plain copy is faster than +=
            else:
                out[where] += piece
        return out

    def columns(self, x, ones: bool = False, in_scratch: bool = False):
        """im2col: (N·out_h·out_w, kh·kw·C) with columns in the kernel's (kh, kw, C) order,
        and a last column of ones when ``ones`` (the bias's partner in the GEMM).

        ``in_scratch``: build it (and the padded images) in this thread's reusable buffers
        (the caller must be done with it before the next such call); else in a fresh array.

        With numba (``accel``) and several channels, a compiled loop copies the runs
        (``numba_kernels.im2col``: 2x faster, and one call). With one channel the tap-major
        copy (one contiguous slice per tap) is ~4x faster than copying the 6-D window view,
        whose innermost run is a single number; its transpose is the same matrix, and BLAS
        takes transposed operands at no cost.
        """
        xp = self.pad(x, in_scratch=in_scratch)
        n, c = x.shape[0], x.shape[-1]
        rows = n * self.out_hw[0] * self.out_hw[1]
        depth = self.kernel_hw[0] * self.kernel_hw[1] * c
        compiled = accel.kernels()
        if compiled is not None and c > 1 and xp.flags.c_contiguous and \
                xp.dtype in (np.float32, np.float64):
            cols = _empty((rows, depth + ones), x.dtype, in_scratch)
            compiled.im2col(xp, *self.kernel_hw, *self.strides, *self.dilation, *self.out_hw,
                            cols)
            return cols
        if c == 1:
            tap_major = _empty((depth + ones, n) + self.out_hw, x.dtype, in_scratch)
            for t, where in self.taps():
                tap_major[t] = xp[where][..., 0]
            if ones:
                tap_major[depth] = 1
            return tap_major.reshape(depth + ones, rows).T
        (sh, sw), (dh, dw) = self.strides, self.dilation
        (kh, kw), (oh, ow) = self.kernel_hw, self.out_hw
        if dw == 1 and xp.strides[2] == c * xp.strides[3]:
            # A kernel row's taps read kw·C consecutive numbers of an image row (when each
            # row's pixels and channels are contiguous: not in a channel slice): copying
            # (N, oh, ow, kh, kw·C) runs of that length is 20-40% faster than the 6-D view,
            # whose innermost run is C numbers.
            s = xp.strides
            view = as_strided(xp, (n, oh, ow, kh, kw * c),
                              (s[0], s[1] * sh, s[2] * sw, s[1] * dh, s[3]), writeable=False)
        else:
            spans = [(k - 1) * d + 1 for k, d in zip(self.kernel_hw, self.dilation)]
            view = sliding_window_view(xp, spans, axis=(1, 2))  # (N, h', w', C, sh', sw')
            view = view[:, ::sh, ::sw, :, ::dh, ::dw].transpose(0, 1, 2, 4, 5, 3)
        cols = _empty((rows, depth + ones), x.dtype, in_scratch)
        np.copyto(cols[:, :depth].reshape(view.shape), view)
        if ones:
            cols[:, depth] = 1
        return cols



_scratch = threading.local()  # per thread: purpose -> a byte buffer, grown, never shrunk
CHUNK_BYTES = 2 << 20  # columns built at a time: two chunks (one per core) fit the L3 cache
# Without threadpoolctl, BLAS keeps its own threads in the chunk loops, and a few large GEMMs
# beat many small ones (whose threads wake and sleep around each copy): ResNet-20's first
# stage, 16 chunks 37 ms, the whole batch 16 ms.
UNCONTROLLED_CHUNK_BYTES = 64 << 20
MIN_SPLIT_BYTES = 1 << 20  # less work than this stays in one chunk (LeNet's second pool)


def scratch(shape, dtype, purpose: str):
    """An uninitialized array of ``shape`` in this thread's reusable buffer for ``purpose``
    (valid until the next request for the same purpose on this thread)."""
    size = math.prod(shape) * np.dtype(dtype).itemsize  # (np.prod: ~10 us a call)
    buffers = _scratch.__dict__.setdefault("buffers", {})
    buffer = buffers.get(purpose)
    if buffer is None or buffer.size < size:
        buffer = buffers[purpose] = np.empty(size, np.uint8)
    return buffer[:size].view(dtype).reshape(shape)


def bordered(shape, dtype, value, inside):
    """This thread's buffer of ``shape`` for padded images, whose border (all but the
    ``inside`` = (top, left, height, width) rectangle) already holds ``value``: only the
    inside is copied each time (a few such buffers are kept per thread, one per layer)."""
    key = (shape, np.dtype(dtype).str, value, inside)
    kept = _scratch.__dict__.setdefault("bordered", {})
    buffer = kept.pop(key, None)
    if buffer is None:
        if len(kept) >= 16:  # the least recently used goes
            kept.pop(next(iter(kept)))
        buffer = np.full(shape, value, dtype)
    kept[key] = buffer  # (re)inserted last: the most recently used
    return buffer


def _empty(shape, dtype, in_scratch: bool):
    return scratch(shape, dtype, "columns") if in_scratch else np.empty(shape, dtype)


def image_bytes(batch: np.ndarray) -> int:
    """Bytes of one image of a batch (also of an empty batch)."""
    return batch.itemsize * math.prod(batch.shape[1:])


def batch_chunks(n: int, bytes_per_image: int) -> list:
    """Slices of the batch with about CHUNK_BYTES of work each (at least one image), and at
    least as many as there are worker threads when the batch allows."""
    target = CHUNK_BYTES if threads.controls_blas() else UNCONTROLLED_CHUNK_BYTES
    return threads.split(n, bytes_per_image, target, MIN_SPLIT_BYTES, serial_too=True)
