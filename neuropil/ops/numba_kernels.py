"""Compiled loops for the steps of conv2d and max pooling that NumPy cannot vectorize well.

Imported only through ``neuropil.ops.accel`` (which decides whether numba is used at all);
importing this module imports numba. Each function is the loop-by-loop version of a NumPy
computation in ``conv.py`` / ``pool.py``, which stays the reference: the tests run both and
compare. The loops run on the calling thread: compiled with ``parallel=True`` they were 2x
faster alone, but inside a training step numba's worker threads and OpenBLAS's spin against
each other on the same cores, and a LeNet-5 step took 57 ms instead of 17 (2 cores).
``cache=True`` keeps the machine code in ``__pycache__``, so only the first run on a machine
pays the compilation (a few seconds per dtype).

Geometry arguments follow ``conv.SlidingWindow``: tap (a, b) of output pixel (i, j) reads
input row i·sh + a·dh - top and column j·sw + b·dw - left; positions outside the image are
padding (zeros for a convolution, never the maximum for pooling).
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["col2im", "conv_one_channel_forward", "conv_one_channel_backward", "max_pool_forward",
           "max_pool_2x2_forward", "max_pool_backward", "max_pool_2x2_backward"]


@njit(cache=True, nogil=True)
def col2im(dcols, kh, kw, sh, sw, dh, dw, top, left, out_h, out_w, gx):
    """The adjoint of im2col: ``gx`` (N, H, W, C), overwritten, becomes the sum, over every
    output pixel m = (n, i, j) and tap (a, b), of row m of ``dcols`` (M, ≥ kh·kw·C), columns
    (a, b, c), added where that tap read from.

    With dw = 1 a tap row (a, b = 0..kw-1) covers kw·C consecutive numbers of the image
    row, so the inner loop is one run of kw·C adds (30 for LeNet's 5x5x6) instead of kw
    runs of C.
    """
    n_images, height, width, channels = gx.shape
    flat = gx.reshape(n_images, height, width * channels)
    run = kw * channels
    for n in range(n_images):
        flat[n] = 0
        for i in range(out_h):
            for j in range(out_w):
                m = (n * out_h + i) * out_w + j
                q0 = j * sw - left
                inside = dw == 1 and q0 >= 0 and q0 + kw <= width
                for a in range(kh):
                    r = i * sh + a * dh - top
                    if r < 0 or r >= height:
                        continue
                    k0 = a * run
                    if inside:
                        target, source = flat[n, r, q0 * channels:], dcols[m, k0:]
                        for e in range(run):
                            target[e] += source[e]
                    else:
                        for b in range(kw):
                            q = q0 + b * dw
                            if 0 <= q < width:
                                for c in range(channels):
                                    flat[n, r, q * channels + c] += dcols[m, k0 + b * channels + c]


@njit(cache=True, nogil=True, fastmath={"contract"})
def conv_one_channel_forward(xp, kernel, bias, relu, out):
    """``out`` (N, OH, OW, O), overwritten: the stride-1 convolution of one-channel images
    ``xp`` (N, OH + kh - 1, OW + kw - 1), already padded, with ``kernel`` (kh, kw, O), plus
    ``bias`` (O,), then relu when ``relu``.

    Direct, without im2col (which writes kh·kw copies of the image: 10 MB for LeNet's
    128x28x28 batch, evicted from the cache by the time backward reads them). Per image and
    filter, a plane as wide as the padded image collects kh·kw scaled copies of the image,
    each shifted by its tap: in the flattened plane a tap's shift is one offset, so every
    multiply-add is one long vector loop; the plane's extra kw - 1 columns are discarded.
    """
    n_images, out_h, out_w, filters = out.shape
    kh, kw = kernel.shape[0], kernel.shape[1]
    width = xp.shape[2]
    length = (out_h - 1) * width + out_w  # flat positions from the first output to the last
    planes = np.empty((filters, out_h * width), out.dtype)
    for n in range(n_images):
        image = xp[n].ravel()
        for o in range(filters):
            plane = planes[o]
            plane[:length] = bias[o]
            for a in range(kh):
                for b in range(0, kw - 1, 2):  # two taps a pass: half the plane's loads
                    w0, w1 = kernel[a, b, o], kernel[a, b + 1, o]
                    first, second = image[a * width + b:], image[a * width + b + 1:]
                    for f in range(length):
                        plane[f] += w0 * first[f] + w1 * second[f]
                if kw % 2:
                    w0, first = kernel[a, kw - 1, o], image[a * width + kw - 1:]
                    for f in range(length):
                        plane[f] += w0 * first[f]
            if relu:
                for f in range(length):
                    plane[f] = max(plane[f], 0)
        for i in range(out_h):
            for j in range(out_w):
                for o in range(filters):
                    out[n, i, j, o] = planes[o, i * width + j]


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def conv_one_channel_backward(xp, grad, out, relu, gk, gb):
    """``gk`` (kh, kw, O) and ``gb`` (O,), overwritten: the kernel and bias gradients of
    ``conv_one_channel_forward`` given the output's gradient ``grad`` (masked by out > 0
    when ``relu``). Each tap's gradient is a dot product of the flattened gradient plane
    with the image shifted by the tap (zeros in the plane's extra columns); ``reassoc``
    lets the sums run as vector loops (the order of additions differs from NumPy's)."""
    n_images, out_h, out_w, filters = grad.shape
    kh, kw = gk.shape[0], gk.shape[1]
    width = xp.shape[2]
    length = (out_h - 1) * width + out_w
    planes = np.zeros((filters, out_h * width), gk.dtype)
    gk[:] = 0
    gb[:] = 0
    for n in range(n_images):
        image = xp[n].ravel()
        for i in range(out_h):
            for j in range(out_w):
                for o in range(filters):
                    g = grad[n, i, j, o]
                    planes[o, i * width + j] = g * (out[n, i, j, o] > 0) if relu else g
        for o in range(filters):
            plane = planes[o]
            total = gk.dtype.type(0)
            for f in range(length):
                total += plane[f]
            gb[o] += total
            for a in range(kh):
                for b in range(0, kw - 1, 2):  # two taps a pass: half the plane's loads
                    first, second = image[a * width + b:], image[a * width + b + 1:]
                    total0 = total1 = gk.dtype.type(0)
                    for f in range(length):
                        total0 += first[f] * plane[f]
                        total1 += second[f] * plane[f]
                    gk[a, b, o] += total0
                    gk[a, b + 1, o] += total1
                if kw % 2:
                    first, total0 = image[a * width + kw - 1:], gk.dtype.type(0)
                    for f in range(length):
                        total0 += first[f] * plane[f]
                    gk[a, kw - 1, o] += total0


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


@njit(cache=True, nogil=True)
def max_pool_2x2_forward(x, out, arg):
    """``max_pool_forward`` for the common case, 2x2 windows side by side, no padding: the
    four taps compared as a tree (two pairs, then the winners), so each window's work is a
    short chain of selects and windows overlap in the CPU (2.5x faster than the general loop
    on LeNet's first pool). Ties go to the earlier tap at every comparison, which is the
    first in row-major order; ``(b > a) | (b != b)`` lets a NaN win each comparison."""
    n_images, out_h, out_w, channels = out.shape
    for n in range(n_images):
        for i in range(out_h):
            for j in range(out_w):
                for c in range(channels):
                    t0, t1 = x[n, 2 * i, 2 * j, c], x[n, 2 * i, 2 * j + 1, c]
                    t2, t3 = x[n, 2 * i + 1, 2 * j, c], x[n, 2 * i + 1, 2 * j + 1, c]
                    upper = (t1 > t0) | (t1 != t1)
                    lower = (t3 > t2) | (t3 != t3)
                    m01, k01 = (t1, 1) if upper else (t0, 0)
                    m23, k23 = (t3, 3) if lower else (t2, 2)
                    second = (m23 > m01) | ((m23 != m23) & (m01 == m01))
                    out[n, i, j, c] = m23 if second else m01
                    arg[n, i, j, c] = k23 if second else k01


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
    """``max_pool_backward`` for ``max_pool_2x2_forward``'s windows: each window's gradient
    goes to its winning tap and zeros to the other three, written in the forward's order
    (per output pixel, its four taps), so no pass clears ``gx`` first. 5x faster on LeNet's
    first pool (0.31 against 1.68 ms a batch, one thread) than the general loop, whose
    innermost loop runs over the channels once per tap. A last odd row or column, which no
    window covers, gets zeros."""
    n_images, out_h, out_w, channels = grad.shape
    zero = gx.dtype.type(0)
    for n in range(n_images):
        gx[n, 2 * out_h:] = 0
        gx[n, :, 2 * out_w:] = 0
        for i in range(out_h):
            for j in range(out_w):
                for c in range(channels):
                    g, tap = grad[n, i, j, c], arg[n, i, j, c]
                    gx[n, 2 * i, 2 * j, c] = g if tap == 0 else zero
                    gx[n, 2 * i, 2 * j + 1, c] = g if tap == 1 else zero
                    gx[n, 2 * i + 1, 2 * j, c] = g if tap == 2 else zero
                    gx[n, 2 * i + 1, 2 * j + 1, c] = g if tap == 3 else zero
