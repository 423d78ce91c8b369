"""2-D pooling on channels-last images, and constant padding.

A pooling window is visited tap by tap: each tap of a (ph, pw) window is one strided slice of
the whole batch (``SlidingWindow.taps``), so pooling is ph·pw vectorized array operations and
backward is ph·pw vectorized adds; nothing loops over pixels. Global pooling needs no op of
its own: it is ``ops.mean`` / ``ops.max`` over the spatial axes.

With numba installed (``accel.py``, ``pool_kernels.py``), max pooling is one compiled pass
each way: forward also records which tap won each window, backward adds each gradient there
(instead of ph·pw rounds of compare, mask, multiply and add). The compiled passes run over chunks of the
batch on the worker threads (``backend.threads``).
"""
from __future__ import annotations

import numpy as np

from neuropil.autodiff import Op
from neuropil.backend import threads
from neuropil.ops import accel
from neuropil.ops.window import SlidingWindow, batch_chunks, image_bytes, pair

__all__ = ["max_pool2d", "avg_pool2d", "pad"]


def _window(x, pool_size, strides, padding) -> SlidingWindow:
    if x.ndim != 4:
        raise ValueError("Pooling expects x of shape (batch, height, width, channels). "
                         f"Received: x.shape={x.shape}")
    pool_size = pair(pool_size, "pool_size")
    strides = pool_size if strides is None else pair(strides, "strides")
    return SlidingWindow(x.shape[1:3], pool_size, strides, (1, 1), padding, what="pool window")


class MaxPool2D(Op):
    """The largest value of each window; its gradient goes to that one position.

    NumPy: forward is a running ``np.maximum`` over the taps. Backward finds, tap by tap,
    where the input equals the output, and gives the gradient to the first such tap of each
    window (ties: one position, as TensorFlow and PyTorch). Measured on LeNet's pools this is
    ~5x faster overall than tracking an argmax in forward, whose masked copies are slow in
    NumPy. It keeps the (padded) input and the output. 'same' pads with -inf, which never
    wins. Compiled (numba): forward also keeps the index of the first winning tap (one byte
    per output), and backward adds each gradient there.
    """

    arg = None  # the compiled path's winning taps

    def __init__(self, pool_size, strides, padding):
        self.pool_size, self.strides, self.padding = pool_size, strides, padding

    def forward(self, x):
        window = _window(x, self.pool_size, self.strides, self.padding)
        compiled = accel.pool_kernels()
        if compiled is not None:
            return self._compiled_forward(compiled, window, np.ascontiguousarray(x))
        xp = window.pad(x, -np.inf)
        out = None
        for _, where in window.taps():
            out = xp[where].copy() if out is None else np.maximum(out, xp[where], out=out)
        if self.recording:
            self.window, self.xp, self.out, self.x_shape = window, xp, out, x.shape
        return out

    def _compiled_forward(self, compiled, window, x):
        out = np.empty((x.shape[0],) + window.out_hw + (x.shape[3],), x.dtype)
        taps = window.kernel_hw[0] * window.kernel_hw[1]
        arg = np.empty(out.shape, np.uint8 if taps <= 256 else np.int32)
        if window.kernel_hw == window.strides == (2, 2) and not any(map(any, window.pads)):
            def chunk(part):
                compiled.max_pool_2x2_forward(x[part], out[part], arg[part])
        else:
            (top, _), (left, _) = window.pads

            def chunk(part):
                compiled.max_pool_forward(x[part], *window.kernel_hw, *window.strides, top,
                                          left, out[part], arg[part])
        threads.map_chunks(chunk, batch_chunks(len(x), image_bytes(x)))
        if self.recording:
            self.window, self.arg, self.x_shape, self.compiled = window, arg, x.shape, compiled
        return out

    def backward(self, grad):
        if self.arg is not None:
            gx = np.empty(self.x_shape, grad.dtype)
            grad = np.ascontiguousarray(grad)
            window, compiled = self.window, self.compiled
            (top, _), (left, _) = window.pads
            if window.kernel_hw == window.strides == (2, 2) and not any(map(any, window.pads)):
                def chunk(part):
                    compiled.max_pool_2x2_backward(grad[part], self.arg[part], gx[part])
            else:
                def chunk(part):
                    compiled.max_pool_backward(grad[part], self.arg[part], *window.kernel_hw,
                                               *window.strides, top, left, gx[part])
            threads.map_chunks(chunk, batch_chunks(len(gx), image_bytes(gx)))
            return (gx,)
        gx = self.window.scatter(self._routed(grad), (self.x_shape[0], self.x_shape[3]),
                                 grad.dtype)
        return (self.window.crop(gx),)

    def _routed(self, grad):
        """Per tap, in order: the gradient of the windows whose first maximum is that tap.

        One buffer serves every tap: ``scatter`` adds each piece in before asking for the
        next."""
        open_ = None  # windows whose maximum no earlier tap has claimed
        hit, piece = np.empty(grad.shape, bool), np.empty_like(grad)
        for _, where in self.window.taps():
            np.equal(self.xp[where], self.out, out=hit)
            if open_ is None:
                open_ = ~hit
            else:
                hit &= open_
                open_ ^= hit
            yield np.multiply(grad, hit, out=piece)


class AvgPool2D(Op):
    """The mean of each window. With 'same' padding only the image's values count, as in
    Keras/TensorFlow: a corner window of a 3x3 pool that covers 4 pixels divides by 4."""

    def __init__(self, pool_size, strides, padding):
        self.pool_size, self.strides, self.padding = pool_size, strides, padding

    def forward(self, x):
        window = _window(x, self.pool_size, self.strides, self.padding)
        xp = window.pad(x)
        out = None
        for _, where in window.taps():
            out = xp[where].copy() if out is None else np.add(out, xp[where], out=out)
        self.window, self.x_shape = window, x.shape
        self.count = self._count(window).astype(out.dtype)
        out /= self.count
        return out

    @staticmethod
    def _count(window):
        """How many image (not padding) values each window covers: (out_h, out_w, 1)."""
        counts = []
        for n, k, s, (before, _), out in zip(window.image_hw, window.kernel_hw, window.strides,
                                              window.pads, window.out_hw):
            start = np.arange(out) * s - before
            counts.append(np.minimum(start + k, n) - np.maximum(start, 0))
        return np.multiply.outer(*counts)[..., None]

    def backward(self, grad):
        share = grad / self.count
        taps = self.window.kernel_hw[0] * self.window.kernel_hw[1]
        gx = self.window.scatter([share] * taps, (self.x_shape[0], self.x_shape[3]), grad.dtype)
        return (self.window.crop(gx),)


class Pad(Op):
    """A border of ``constant`` around x; the gradient is the inner part of the output's."""

    def __init__(self, pad_width, constant):
        self.pad_width, self.constant = pad_width, constant

    def forward(self, x):
        widths = np.broadcast_to(np.asarray(self.pad_width, dtype=int), (x.ndim, 2))
        if (widths < 0).any():
            raise ValueError(f"pad widths must be >= 0. Received: pad_width={self.pad_width!r}")
        self.inner = tuple(slice(before, before + n) for (before, _), n in zip(widths, x.shape))
        return np.pad(x, widths, constant_values=self.constant)

    def backward(self, grad):
        return (grad[self.inner],)


def max_pool2d(x, pool_size, strides=None, padding="valid"):
    """Max pooling, as ``keras.ops.max_pool`` on channels-last images.

    Args:
        x: (batch, height, width, channels).
        pool_size: int or (ph, pw).
        strides: int or (sh, sw); default ``pool_size`` (windows side by side).
        padding: ``"valid"`` (default) or ``"same"`` (output = ceil(in / stride)).

    Output shape: (batch, out_h, out_w, channels).
    """
    return MaxPool2D(pool_size, strides, padding)(x)


def avg_pool2d(x, pool_size, strides=None, padding="valid"):
    """Average pooling, as ``keras.ops.average_pool``; arguments as :func:`max_pool2d`.

    With ``"same"`` each window is averaged over its non-padded values only.
    """
    return AvgPool2D(pool_size, strides, padding)(x)


def pad(x, pad_width, constant=0):
    """``np.pad(x, pad_width, constant_values=constant)`` with a gradient.

    Args:
        pad_width: as NumPy: an int, (before, after) for every axis, or one pair per axis.
        constant: the value of the border (default 0).
    """
    return Pad(pad_width, constant)(x)
