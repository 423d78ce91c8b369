"""Compiled loops (numba) for max pooling: one pass each way, forward keeping the index of
each window's winning tap (one byte), backward putting each gradient there.

Imported only through ``neuropil.ops.accel.pool_kernels()`` (importing this module imports
numba). ``pool.py``'s NumPy code stays the reference: tests/ops/test_pool.py runs both and
compares, bit for bit. Geometry arguments follow ``window.SlidingWindow``, as in
``numba_kernels`` (the convolutions' loops).
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["max_pool_forward", "max_pool_2x2_forward", "max_pool_backward",
           "max_pool_2x2_backward"]


@njit(cache=True, nogil=True)
def max_pool_forward(x, ph, pw, sh, sw, top, left, out, arg):
    """``out`` (N, OH, OW, C): the maximum of each window; ``arg``: the row-major index
    a·pw + b of the first tap holding it (ties: the first, as TensorFlow and PyTorch). A NaN
    wins its window, as in ``np.maximum`` (then ``arg`` is its last NaN, where the NumPy
    backward routes nothing: both are NaN from there on). Taps in the padding are skipped.

    Branch-free selects, not ``if v > best``: which tap wins is random, and mispredicted
    branches made an earlier version 4x slower. Few channels: one window at a time; eight
    or more: the channels innermost (a vector loop over each pixel's channels).
    """
    n_images, height, width, channels = x.shape
    _, out_h, out_w, _ = out.shape
    for n in range(n_images):
        for i in range(out_h):
            a0 = max(0, top - i * sh)
            a1 = min(ph, height + top - i * sh)
            for j in range(out_w):
                b0 = max(0, left - j * sw)
                b1 = min(pw, width + left - j * sw)
                r0, q0 = i * sh + a0 - top, j * sw + b0 - left  # the first tap in the image
                if channels < 8:
                    for c in range(channels):
                        best = x[n, r0, q0, c]
                        tap = a0 * pw + b0
                        for a in range(a0, a1):
                            for b in range(b0, b1):
                                v = x[n, i * sh + a - top, j * sw + b - left, c]
                                wins = (v > best) | (v != v)  # no branch; a NaN stays
                                tap = a * pw + b if wins else tap
                                best = v if wins else best
                        out[n, i, j, c] = best
                        arg[n, i, j, c] = tap
                else:
                    for c in range(channels):
                        out[n, i, j, c] = x[n, r0, q0, c]
                        arg[n, i, j, c] = a0 * pw + b0
                    for a in range(a0, a1):
                        for b in range(b0, b1):
                            r, q, tap = i * sh + a - top, j * sw + b - left, a * pw + b
                            for c in range(channels):
                                v, best = x[n, r, q, c], out[n, i, j, c]
                                wins = (v > best) | (v != v)  # no branch; a NaN stays
                                arg[n, i, j, c] = tap if wins else arg[n, i, j, c]
                                out[n, i, j, c] = v if wins else best


# Lanes per run in the 2x2 kernels, tuned on AVX-512 (Zen 4). The forward's loop is
# vectorized 16 lanes at a time for float32 and float64 alike (8 lanes for float64 ran
# in the scalar remainder, 4x slower); the backward's fills 64-byte vectors (16 float32,
# 8 float64: 16 float64 lanes made C = 2 1.9x slower).
_LANES = 16
_VECTOR_BYTES = 64
_u = np.uint64  # an unsigned index: see max_pool_2x2_forward


@njit(cache=True, nogil=True)
def _window_max(t0, t1, t2, t3):
    """The maximum of a 2x2 window's taps (row-major) and the index 0..3 of the tap holding
    it: two pairs, then their winners. Ties go to the earlier tap at every comparison, which
    is the first in row-major order; ``(b > a) | (b != b)`` lets a NaN win each comparison.
    Branch-free selects, so a loop of these vectorizes."""
    upper = (t1 > t0) | (t1 != t1)
    lower = (t3 > t2) | (t3 != t3)
    m01 = t1 if upper else t0
    k01 = np.uint8(1) if upper else np.uint8(0)
    m23 = t3 if lower else t2
    k23 = np.uint8(3) if lower else np.uint8(2)
    second = (m23 > m01) | ((m23 != m23) & (m01 == m01))
    return (m23 if second else m01), (k23 if second else k01)


@njit(cache=True, nogil=True)
def _max_pool_2x2_channels_innermost(x, out, arg):
    """``max_pool_2x2_forward`` for ``_LANES`` channels or more, which are a vector already:
    the loop over channels innermost."""
    n_images, out_h, out_w, channels = out.shape
    for n in range(n_images):
        for i in range(out_h):
            for j in range(out_w):
                for c in range(channels):
                    m, k = _window_max(x[n, 2 * i, 2 * j, c], x[n, 2 * i, 2 * j + 1, c],
                                       x[n, 2 * i + 1, 2 * j, c], x[n, 2 * i + 1, 2 * j + 1, c])
                    out[n, i, j, c] = m
                    arg[n, i, j, c] = k


@njit(cache=True, nogil=True)
def _max_pool_2x2_runs(x, out, arg):
    """``max_pool_2x2_forward`` for fewer than ``_LANES`` channels, in runs of ``_LANES``."""
    n_images, height, width, channels = x.shape
    _, out_h, out_w, _ = out.shape
    xf, of, af = x.reshape(-1), out.reshape(-1), arg.reshape(-1)
    run, line = out_w * channels, width * channels  # an output row, an input row
    spill = max(channels, _LANES) - channels  # lanes past a pixel's channels
    o = 0  # the output row's start
    for n in range(n_images):
        for i in range(out_h):
            t = (n * height + 2 * i) * line  # the row pair's top row ...
            b = t + line  # ... and bottom row
            if channels == 1:
                for j in range(out_w):
                    m, k = _window_max(xf[_u(t + 2 * j)], xf[_u(t + 2 * j + 1)],
                                       xf[_u(b + 2 * j)], xf[_u(b + 2 * j + 1)])
                    of[_u(o + j)], af[_u(o + j)] = m, k
            else:
                # the last pixel's extra lanes read past the row pair and write into the
                # next output row (computed later): only where both are inside the arrays
                inside = o + run + spill <= of.size and b + 2 * run + spill <= xf.size
                lanes = channels + spill if inside else channels
                for j in range(out_w):
                    for c in range(lanes):
                        p = t + 2 * j * channels + c
                        m, k = _window_max(xf[_u(p)], xf[_u(p + channels)],
                                           xf[_u(p + line)], xf[_u(p + line + channels)])
                        of[_u(o + j * channels + c)], af[_u(o + j * channels + c)] = m, k
            o += run


def max_pool_2x2_forward(x, out, arg):
    """``max_pool_forward`` for the common case, 2x2 windows side by side, no padding
    (C-contiguous arrays); windows as ``_window_max``.

    Each image row is one flat run of width·C values. Output pixel j's C channels read the
    row pair at 2jC + c and 2jC + C + c, so its loop is unit-stride but only C long, too
    short to vectorize for few channels. Instead each pixel's loop runs ``_LANES`` lanes
    whenever that stays inside the arrays: lanes past C compute windows that straddle two
    pixels, and the next pixel's run, which starts C further on, overwrites them. C = 1 is
    a loop over pixels (stride-2 pairs, which LLVM vectorizes); C >= 16 keeps the loop
    over channels innermost. That one is a kernel of its own, chosen here in Python: called
    from inside the other kernel, it ran 35% slower (C = 16) once loaded from numba's cache.

    Indices are cast to unsigned: numba wraps a negative signed index (i + length), and for
    a computed index LLVM cannot rule that out, so the loops became gathers or scalar code.

    Measured single-thread (best of 5-7), x (128, 28, 28, C) float32, against the loop
    over C innermost for every C: C = 6 (LeNet's first pool) 0.125 ms (0.295); C = 1 0.032
    (0.127); C = 3 0.118 (0.32); (128, 12, 12, 12) 0.028 (0.040).
    """
    if x.shape[3] >= _LANES:
        _max_pool_2x2_channels_innermost(x, out, arg)
    else:
        _max_pool_2x2_runs(x, out, arg)


@njit(cache=True, nogil=True)
def max_pool_backward(grad, arg, ph, pw, sh, sw, top, left, gx):
    """``gx`` (N, H, W, C), overwritten: each window's gradient at its ``arg`` tap, zero
    elsewhere. Windows side by side inside the image (the usual pooling) own their
    positions, so each tap is stored once, gradient or zero, with no separate pass to clear
    ``gx``; otherwise ``gx`` is cleared and the gradients added (overlapping windows may
    pick the same position)."""
    n_images, out_h, out_w, channels = grad.shape
    height, width = gx.shape[1], gx.shape[2]
    zero = gx.dtype.type(0)
    if (sh == ph and sw == pw and top == 0 and left == 0 and out_h * ph <= height
            and out_w * pw <= width):
        for n in range(n_images):
            gx[n, out_h * ph:] = 0  # rows and columns no window reaches
            gx[n, :, out_w * pw:] = 0
            for i in range(out_h):
                for a in range(ph):
                    for j in range(out_w):
                        for b in range(pw):
                            tap, r, q = a * pw + b, i * ph + a, j * pw + b
                            for c in range(channels):
                                won = arg[n, i, j, c] == tap
                                gx[n, r, q, c] = grad[n, i, j, c] if won else zero
        return
    for n in range(n_images):
        gx[n] = 0
        for i in range(out_h):
            for j in range(out_w):
                for c in range(channels):
                    a = arg[n, i, j, c] // pw
                    b = arg[n, i, j, c] - a * pw
                    r, q = i * sh + a - top, j * sw + b - left
                    if 0 <= r < height and 0 <= q < width:
                        gx[n, r, q, c] += grad[n, i, j, c]


@njit(cache=True, nogil=True)
def max_pool_2x2_backward(grad, arg, gx):
    """``max_pool_backward`` for ``max_pool_2x2_forward``'s windows (C-contiguous arrays):
    each window's gradient goes to its winning tap and zeros to the other three. Every
    position of ``gx`` is written, so no pass clears it first; a last odd row or column,
    which no window covers, gets zeros.

    One gx row at a time, as a flat run. For C up to a vector (16 float32, 8 float64) it is
    cut into blocks of 2C: the right column of pixel j - 1 and the left column of pixel j,
    whose gradients are the 2C consecutive values from (j - 1)·C, so a block is one
    unit-stride loop with a table of the tap each lane stands for. Blocks run 2C rounded up
    to whole vectors; the extra lanes write further on, where the next block, the other row
    or the zeroed margins overwrite them, in order. Rows where that would leave the arrays,
    and more channels, take exactly C lanes per column; C = 1 is a loop over pixels.

    Measured single-thread (best of 5-7), float32, against a loop over C innermost that
    stored the four taps of each channel: LeNet's first pool, gx (128, 28, 28, 6), 0.155 ms
    (0.295); its second, (128, 10, 10, 16), 0.033 (0.093); C = 1 0.024 (0.125); C = 3
    0.150 (0.197); (128, 14, 14, 32) 0.075 (0.34); (128, 8, 8, 64) 0.045 (0.22).
    """
    n_images, out_h, out_w, channels = grad.shape
    height, width = gx.shape[1], gx.shape[2]
    gf, af, xf = grad.reshape(-1), arg.reshape(-1), gx.reshape(-1)
    zero = gx.dtype.type(0)
    run, line = out_w * channels, width * channels
    vector = _VECTOR_BYTES // gx.itemsize
    lanes = max(-(-2 * channels // vector) * vector, vector)  # 2C rounded up to vectors
    # taps[a, s, c]: the tap that lane c of a block stands for in row a of the window;
    # s = 0 for the row's first block (a left column), s = 1 for the others (right, left)
    taps = np.empty((2, 2, lanes), np.uint8)
    for a in range(2):
        for c in range(lanes):
            taps[a, 0, c] = 2 * a
            taps[a, 1, c] = 2 * a + 1 if c < channels else 2 * a
    o = 0  # the gradient row's start
    for n in range(n_images):
        for i in range(out_h):
            for a in range(2):
                row = (n * height + 2 * i + a) * line
                left, right = taps[a, 0, 0], taps[a, 1, 0]
                if channels == 1:
                    for j in range(out_w):
                        g, k = gf[_u(o + j)], af[_u(o + j)]
                        xf[_u(row + 2 * j)] = g if k == left else zero
                        xf[_u(row + 2 * j + 1)] = g if k == right else zero
                elif (channels <= vector and o + run + lanes <= gf.size
                      and row + 2 * run + lanes <= xf.size):
                    tap = taps[a, 0]
                    for c in range(lanes):
                        xf[_u(row + c)] = gf[_u(o + c)] if af[_u(o + c)] == tap[c] else zero
                    tap = taps[a, 1]
                    for j in range(1, out_w + 1):
                        s, q = row + (2 * j - 1) * channels, o + (j - 1) * channels
                        for c in range(lanes):
                            xf[_u(s + c)] = gf[_u(q + c)] if af[_u(q + c)] == tap[c] else zero
                else:
                    for j in range(out_w):
                        s, q = row + 2 * j * channels, o + j * channels
                        for c in range(channels):
                            xf[_u(s + c)] = gf[_u(q + c)] if af[_u(q + c)] == left else zero
                        for c in range(channels):
                            xf[_u(s + channels + c)] = (gf[_u(q + c)] if af[_u(q + c)] == right
                                                        else zero)
            o += run
        gx[n, :, 2 * out_w:] = 0  # after the rows, whose extra lanes may reach here
        gx[n, 2 * out_h:] = 0
