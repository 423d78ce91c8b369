"""Compiled transforms of the Winograd F(4x4, 3x3) convolution (see ``winograd.py``).

Imported only through ``neuropil.ops.accel.winograd_kernels()`` (it imports numba).
Each function works on one chunk of images and runs on the calling thread (a worker of
``backend.threads``). The innermost loop always runs along channels, contiguous in NHWC
images and in the transformed arrays, so LLVM turns it into vector code.

Tile t = (n, ty, tx) covers the 6x6 patch of the padded image at rows 4·ty .. 4·ty + 5 and
columns 4·tx .. 4·tx + 5, and yields the 4x4 output block at (4·ty, 4·tx). Transformed
arrays are tile-major, (tiles, 36, channels), position ξ = 6·i + j of the 6x6 transform
second: a tile's 36 rows are written and read as one run. (Position-major arrays, whose 36
planes sit a multiple of 4 KB apart, made F(2x2, 3x3)'s transforms 1.6x slower: the
streams shared one set of the L1 cache.) Each GEMM reads a (tiles, channels) matrix with
a row stride of 36·channels, which BLAS takes as it is.

The transforms (Lavin & Gray, 2016), with d a 6x6 input patch and m a 6x6 product:
    V = Bᵀ d B,   Bᵀ = [[4,  0, -5,  0, 1, 0],      Y = Aᵀ m A,   Aᵀ = [[1, 1,  1, 1,  1, 0],
                        [0, -4, -4,  1, 1, 0],                          [0, 1, -1, 2, -2, 0],
                        [0,  4, -4, -1, 1, 0],                          [0, 1,  1, 4,  4, 0],
                        [0, -2, -1,  2, 1, 0],                          [0, 1, -1, 8, -8, 1]]
                        [0,  2, -1, -2, 1, 0],
                        [0,  4,  0, -5, 0, 1]]
and their adjoints for backward: dm = A dY Aᵀ, dd = B dV Bᵀ. Each 2-D transform is the 1-D
one (``_bt``, ``_at``, ``_a``, ``_b``) on the columns, into a small (6, ·, C) buffer,
then on the rows. Compiled with ``fastmath`` contraction and reassociation (FMAs, the
constants' products regrouped): 1.3-1.5x faster; NaN and infinity keep their IEEE meaning.
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["input_transform", "output_transform", "output_transform_residual", "grad_transform",
           "input_adjoint"]

_FAST = {"contract", "reassoc", "nsz", "arcp"}


# The constant factors are written as additions (``_2x``, ``_4x``): an integer or float
# literal times a float32 would make numba compute in float64 (NumPy's promotion rules),
# at half the vector width; these transforms ran 1.6x slower that way.
@njit(cache=True, nogil=True, fastmath=_FAST, inline="always")
def _2x(x):
    return x + x


@njit(cache=True, nogil=True, fastmath=_FAST, inline="always")
def _4x(x):
    return _2x(x + x)


@njit(cache=True, nogil=True, fastmath=_FAST, inline="always")
def _bt(d0, d1, d2, d3, d4, d5):
    """Bᵀ d for one column (or row) of six."""
    return (_4x(d0 - d2) - d2 + d4, d3 + d4 - _4x(d1 + d2), _4x(d1 - d2) + d4 - d3,
            _2x(d3 - d1) + d4 - d2, _2x(d1 - d3) + d4 - d2, _4x(d1 - d3) - d3 + d5)


@njit(cache=True, nogil=True, fastmath=_FAST, inline="always")
def _at(m0, m1, m2, m3, m4, m5):
    """Aᵀ m for one column (or row) of six: four values."""
    a, b = m1 + m2, m1 - m2
    c, e = m3 + m4, m3 - m4
    return m0 + a + c, b + _2x(e), a + _4x(c), b + _2x(_4x(e)) + m5


@njit(cache=True, nogil=True, fastmath=_FAST, inline="always")
def _a(y0, y1, y2, y3):
    """A y for four values: six."""
    s, t = y0 + y2, y1 + y3
    u, w = y0 + _4x(y2), _2x(y1 + _4x(y3))
    return y0, s + t, s - t, u + w, u - w, y3


@njit(cache=True, nogil=True, fastmath=_FAST, inline="always")
def _b(v0, v1, v2, v3, v4, v5):
    """B v for six values."""
    return (_4x(v0), _4x(v2 - v1 + v5) + _2x(v4 - v3), -(_4x(v0 + v1 + v2) + v0 + v3 + v4),
            v1 - v2 + _2x(v3 - v4) - _4x(v5) - v5, v0 + v1 + v2 + v3 + v4, v5)


@njit(cache=True, nogil=True, fastmath=_FAST)
def input_transform(xp, tiles_h, tiles_w, v):
    """``v`` (N·tiles_h·tiles_w, 36, C), overwritten: Bᵀ d B of every tile's 6x6 patch d
    of the padded images ``xp`` (N, ≥ 4·tiles_h + 2, ≥ 4·tiles_w + 2, C).

    Bᵀ d (the six rows combined) is computed once per row of tiles for every column of
    the strip, and shared by the two tiles that overlap there (7% faster than per tile).
    Padded images, not bounds checks per tile: copying a chunk into a zero-bordered buffer
    costs a few % of the transform, and a branch-free loop over direct indices vectorizes
    (F(2x2, 3x3)'s version with border tiles read through a small buffer was 1.6x slower).
    """
    n_images, channels = xp.shape[0], xp.shape[3]
    columns = 4 * tiles_w + 2
    strip = np.empty((6, columns, channels), v.dtype)  # Bᵀ d for the strip's columns
    t = 0
    for n in range(n_images):
        for ty in range(tiles_h):
            r0 = 4 * ty
            for q in range(columns):
                for c in range(channels):
                    e0, e1, e2, e3, e4, e5 = _bt(xp[n, r0, q, c], xp[n, r0 + 1, q, c],
                                                 xp[n, r0 + 2, q, c], xp[n, r0 + 3, q, c],
                                                 xp[n, r0 + 4, q, c], xp[n, r0 + 5, q, c])
                    strip[0, q, c], strip[1, q, c], strip[2, q, c] = e0, e1, e2
                    strip[3, q, c], strip[4, q, c], strip[5, q, c] = e3, e4, e5
            for tx in range(tiles_w):
                c0 = 4 * tx
                for i in range(6):
                    for c in range(channels):
                        e0, e1, e2, e3, e4, e5 = _bt(
                            strip[i, c0, c], strip[i, c0 + 1, c], strip[i, c0 + 2, c],
                            strip[i, c0 + 3, c], strip[i, c0 + 4, c], strip[i, c0 + 5, c])
                        v[t, 6 * i, c], v[t, 6 * i + 1, c], v[t, 6 * i + 2, c] = e0, e1, e2
                        v[t, 6 * i + 3, c], v[t, 6 * i + 4, c], v[t, 6 * i + 5, c] = e3, e4, e5
                t += 1


@njit(cache=True, nogil=True, fastmath=_FAST, inline="always")
def _columns(m, t, cols):
    """cols (4, 6, K) = Aᵀ m for tile t's products m[t] (36, K): the first half of Aᵀ m A."""
    for j in range(6):
        for k in range(m.shape[2]):
            a0, a1, a2, a3 = _at(m[t, j, k], m[t, 6 + j, k], m[t, 12 + j, k],
                                 m[t, 18 + j, k], m[t, 24 + j, k], m[t, 30 + j, k])
            cols[0, j, k], cols[1, j, k], cols[2, j, k], cols[3, j, k] = a0, a1, a2, a3


@njit(cache=True, nogil=True, fastmath=_FAST, inline="always")
def _output_row(cols, i, k, bias, relu, zero):
    """Row i of filter k's 4x4 block: (Aᵀ m) A from ``cols``, plus the bias, then relu when
    ``relu`` (NaN stays NaN, as np.maximum(y, 0))."""
    y0, y1, y2, y3 = _at(cols[i, 0, k], cols[i, 1, k], cols[i, 2, k],
                         cols[i, 3, k], cols[i, 4, k], cols[i, 5, k])
    y0, y1, y2, y3 = y0 + bias, y1 + bias, y2 + bias, y3 + bias
    if relu:
        y0, y1 = zero if y0 < 0 else y0, zero if y1 < 0 else y1
        y2, y3 = zero if y2 < 0 else y2, zero if y3 < 0 else y3
    return y0, y1, y2, y3


@njit(cache=True, nogil=True, fastmath=_FAST)
def output_transform(m, tiles_h, tiles_w, bias, relu, out):
    """``out`` (N, H, W, K), overwritten: Aᵀ m A of every tile's products ``m`` (tiles, 36,
    K), plus ``bias`` (K,), then relu when ``relu``; the part of a last tile past the image
    is dropped."""
    n_images, height, width, filters = out.shape
    zero = np.zeros(1, out.dtype)[0]  # typed: a literal 0 would turn float32 into float64
    cols = np.empty((4, 6, filters), out.dtype)
    block = np.empty((4, 4, filters), out.dtype)
    t = 0
    for n in range(n_images):
        for ty in range(tiles_h):
            for tx in range(tiles_w):
                r, q = 4 * ty, 4 * tx
                _columns(m, t, cols)
                full = r + 4 <= height and q + 4 <= width
                for i in range(4):
                    if full:
                        for k in range(filters):
                            y0, y1, y2, y3 = _output_row(cols, i, k, bias[k], relu, zero)
                            out[n, r + i, q, k], out[n, r + i, q + 1, k] = y0, y1
                            out[n, r + i, q + 2, k], out[n, r + i, q + 3, k] = y2, y3
                    else:  # the image ends inside this tile: finished pixel by pixel below
                        for k in range(filters):
                            y0, y1, y2, y3 = _output_row(cols, i, k, bias[k], relu, zero)
                            block[i, 0, k], block[i, 1, k] = y0, y1
                            block[i, 2, k], block[i, 3, k] = y2, y3
                if not full:
                    for i in range(min(4, height - r)):
                        for j in range(min(4, width - q)):
                            out[n, r + i, q + j] = block[i, j]
                t += 1


@njit(cache=True, nogil=True, fastmath=_FAST)
def output_transform_residual(m, tiles_h, tiles_w, bias, residual, relu, out):
    """``output_transform`` plus ``residual`` (N, H, W, K) before the relu: a ResNet
    block's skip connection in inference. (A separate function: one loop that tested
    whether to add the residual ran 2x slower even without one, LLVM vectorized less.)"""
    n_images, height, width, filters = out.shape
    zero = np.zeros(1, out.dtype)[0]  # typed: a literal 0 would turn float32 into float64
    cols = np.empty((4, 6, filters), out.dtype)
    block = np.empty((4, 4, filters), out.dtype)
    t = 0
    for n in range(n_images):
        for ty in range(tiles_h):
            for tx in range(tiles_w):
                r, q = 4 * ty, 4 * tx
                _columns(m, t, cols)
                for i in range(4):
                    for k in range(filters):  # relu comes after the residual, below
                        y0, y1, y2, y3 = _output_row(cols, i, k, bias[k], False, zero)
                        block[i, 0, k], block[i, 1, k] = y0, y1
                        block[i, 2, k], block[i, 3, k] = y2, y3
                for i in range(min(4, height - r)):
                    for j in range(min(4, width - q)):
                        for k in range(filters):
                            y = block[i, j, k] + residual[n, r + i, q + j, k]
                            out[n, r + i, q + j, k] = zero if relu and y < 0 else y
                t += 1


@njit(cache=True, nogil=True, fastmath=_FAST)
def grad_transform(grad, out, relu, tiles_h, tiles_w, dm, gb):
    """``dm`` (tiles, 36, K), overwritten: A dY Aᵀ of every tile's 4x4 block dY of the
    output gradient ``grad`` (N, H, W, K) (zero past the image), masked by ``out`` > 0 when
    ``relu``; ``gb`` (K,), overwritten: the sum of the (masked) gradient, the bias's."""
    n_images, height, width, filters = grad.shape
    block = np.zeros((4, 4, filters), dm.dtype)
    zero = block[0, 0, 0]  # typed: a literal 0 would turn float32 into float64
    rows = np.empty((6, 4, filters), dm.dtype)
    gb[:] = 0
    t = 0
    for n in range(n_images):
        for ty in range(tiles_h):
            for tx in range(tiles_w):
                r, q = 4 * ty, 4 * tx
                if r + 4 > height or q + 4 > width:
                    block[:] = 0
                for i in range(min(4, height - r)):
                    for j in range(min(4, width - q)):
                        for k in range(filters):
                            g = grad[n, r + i, q + j, k]
                            if relu and not out[n, r + i, q + j, k] > 0:
                                g = zero
                            block[i, j, k] = g
                            gb[k] += g
                for j in range(4):
                    for k in range(filters):
                        e0, e1, e2, e3, e4, e5 = _a(block[0, j, k], block[1, j, k],
                                                    block[2, j, k], block[3, j, k])
                        rows[0, j, k], rows[1, j, k], rows[2, j, k] = e0, e1, e2
                        rows[3, j, k], rows[4, j, k], rows[5, j, k] = e3, e4, e5
                for i in range(6):
                    for k in range(filters):
                        e0, e1, e2, e3, e4, e5 = _a(rows[i, 0, k], rows[i, 1, k], rows[i, 2, k],
                                                    rows[i, 3, k])
                        dm[t, 6 * i, k], dm[t, 6 * i + 1, k], dm[t, 6 * i + 2, k] = e0, e1, e2
                        dm[t, 6 * i + 3, k], dm[t, 6 * i + 4, k], dm[t, 6 * i + 5, k] = e3, e4, e5
                t += 1


@njit(cache=True, nogil=True, fastmath=_FAST)
def input_adjoint(dv, tiles_h, tiles_w, gxp):
    """``gxp`` (N, ≥ 4·tiles_h + 2, ≥ 4·tiles_w + 2, C), overwritten: the padded images'
    gradient, every tile's B dV Bᵀ added where its patch was read (neighbouring patches
    overlap by two rows or columns)."""
    n_images, channels = gxp.shape[0], gxp.shape[3]
    rows = np.empty((6, 6, channels), gxp.dtype)
    gxp[:] = 0
    t = 0
    for n in range(n_images):
        for ty in range(tiles_h):
            for tx in range(tiles_w):
                for j in range(6):
                    for c in range(channels):
                        e0, e1, e2, e3, e4, e5 = _b(dv[t, j, c], dv[t, 6 + j, c], dv[t, 12 + j, c],
                                                    dv[t, 18 + j, c], dv[t, 24 + j, c],
                                                    dv[t, 30 + j, c])
                        rows[0, j, c], rows[1, j, c], rows[2, j, c] = e0, e1, e2
                        rows[3, j, c], rows[4, j, c], rows[5, j, c] = e3, e4, e5
                r0, c0 = 4 * ty, 4 * tx
                for i in range(6):
                    for c in range(channels):
                        e0, e1, e2, e3, e4, e5 = _b(rows[i, 0, c], rows[i, 1, c], rows[i, 2, c],
                                                    rows[i, 3, c], rows[i, 4, c], rows[i, 5, c])
                        gxp[n, r0 + i, c0, c] += e0
                        gxp[n, r0 + i, c0 + 1, c] += e1
                        gxp[n, r0 + i, c0 + 2, c] += e2
                        gxp[n, r0 + i, c0 + 3, c] += e3
                        gxp[n, r0 + i, c0 + 4, c] += e4
                        gxp[n, r0 + i, c0 + 5, c] += e5
                t += 1
