"""Compiled transforms of the Winograd F(2x2, 3x3) convolution (see ``winograd.py``).

Imported only through ``winograd.kernels()``, after ``accel`` has said numba may be used.
Each function works on one chunk of images and runs on the calling thread (a worker of
``backend.threads``). The innermost loop always runs along channels, which are contiguous
in NHWC images and in the (tiles, 16, channels) arrays, so LLVM turns it into vector code.

Tile t = (n, ty, tx) covers the 4x4 patch of the padded image at rows 2·ty .. 2·ty + 3 and
columns 2·tx .. 2·tx + 3, and yields the 2x2 output block at (2·ty, 2·tx). Transformed
arrays are tile-major, (tiles, 16, channels), position ξ = 4·i + j of the 4x4 transform
second: a tile's 16 rows are written (and read) as one run. Position-major (16, tiles,
channels) arrays, whose 16 planes sit a multiple of 4 KB apart, made the transforms 1.6x
slower (the 16 streams share one set of the L1 cache); each GEMM now reads a (tiles,
channels) matrix with a row stride of 16·channels, which BLAS takes as it is.

The transforms (Lavin & Gray, 2016), with d a 4x4 input patch and m a 4x4 product:
    V = Bᵀ d B,   Bᵀ = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]
    Y = Aᵀ m A,   Aᵀ = [[1, 1, 1, 0], [0, 1, -1, -1]]
and their adjoints for backward: dm = A dY Aᵀ, dd = B dV Bᵀ.
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["input_transform", "output_transform", "grad_transform", "input_adjoint"]


@njit(cache=True, nogil=True)
def input_transform(xp, tiles_h, tiles_w, v):
    """``v`` (N·tiles_h·tiles_w, 16, C), overwritten: Bᵀ d B of every tile's 4x4 patch d
    of the padded images ``xp`` (N, ≥ 2·tiles_h + 2, ≥ 2·tiles_w + 2, C).

    Padded images, not bounds checks per tile: copying a chunk into a zero-bordered
    buffer costs ~5% of the transform, and the branch-free loop ran 1.6x faster than one
    reading border tiles through a small buffer. Per channel, the 16 numbers in and the
    16 out stay in registers (a (4, 4, C) buffer for Bᵀ d between two passes: 1.3x slower).
    """
    n_images, channels = xp.shape[0], xp.shape[3]
    t = 0
    for n in range(n_images):
        for ty in range(tiles_h):
            for tx in range(tiles_w):
                r0, c0 = 2 * ty, 2 * tx
                for c in range(channels):
                    # Bᵀ d, row by row: (d0 - d2, d1 + d2, d2 - d1, d1 - d3) of the rows
                    a0 = xp[n, r0 + 0, c0 + 0, c] - xp[n, r0 + 2, c0 + 0, c]
                    a1 = xp[n, r0 + 0, c0 + 1, c] - xp[n, r0 + 2, c0 + 1, c]
                    a2 = xp[n, r0 + 0, c0 + 2, c] - xp[n, r0 + 2, c0 + 2, c]
                    a3 = xp[n, r0 + 0, c0 + 3, c] - xp[n, r0 + 2, c0 + 3, c]
                    b0 = xp[n, r0 + 1, c0 + 0, c] + xp[n, r0 + 2, c0 + 0, c]
                    b1 = xp[n, r0 + 1, c0 + 1, c] + xp[n, r0 + 2, c0 + 1, c]
                    b2 = xp[n, r0 + 1, c0 + 2, c] + xp[n, r0 + 2, c0 + 2, c]
                    b3 = xp[n, r0 + 1, c0 + 3, c] + xp[n, r0 + 2, c0 + 3, c]
                    e0 = xp[n, r0 + 2, c0 + 0, c] - xp[n, r0 + 1, c0 + 0, c]
                    e1 = xp[n, r0 + 2, c0 + 1, c] - xp[n, r0 + 1, c0 + 1, c]
                    e2 = xp[n, r0 + 2, c0 + 2, c] - xp[n, r0 + 1, c0 + 2, c]
                    e3 = xp[n, r0 + 2, c0 + 3, c] - xp[n, r0 + 1, c0 + 3, c]
                    f0 = xp[n, r0 + 1, c0 + 0, c] - xp[n, r0 + 3, c0 + 0, c]
                    f1 = xp[n, r0 + 1, c0 + 1, c] - xp[n, r0 + 3, c0 + 1, c]
                    f2 = xp[n, r0 + 1, c0 + 2, c] - xp[n, r0 + 3, c0 + 2, c]
                    f3 = xp[n, r0 + 1, c0 + 3, c] - xp[n, r0 + 3, c0 + 3, c]
                    # ... then B on the right: the same combination of the columns
                    v[t, 0, c], v[t, 1, c], v[t, 2, c], v[t, 3, c] = a0 - a2, a1 + a2, a2 - a1, a1 - a3
                    v[t, 4, c], v[t, 5, c], v[t, 6, c], v[t, 7, c] = b0 - b2, b1 + b2, b2 - b1, b1 - b3
                    v[t, 8, c], v[t, 9, c], v[t, 10, c], v[t, 11, c] = e0 - e2, e1 + e2, e2 - e1, e1 - e3
                    v[t, 12, c], v[t, 13, c], v[t, 14, c], v[t, 15, c] = f0 - f2, f1 + f2, f2 - f1, f1 - f3
                t += 1


@njit(cache=True, nogil=True)
def output_transform(m, tiles_h, tiles_w, bias, relu, out):
    """``out`` (N, H, W, K), overwritten: Aᵀ m A of every tile's products ``m`` (tiles, 16,
    K), plus ``bias`` (K,), then relu when ``relu``; a last tile's row or column past the
    image (odd H or W) is dropped."""
    n_images, height, width, filters = out.shape
    block = np.empty((2, 2, filters), out.dtype)
    t = 0
    for n in range(n_images):
        for ty in range(tiles_h):
            for tx in range(tiles_w):
                r, q = 2 * ty, 2 * tx
                if r + 2 <= height and q + 2 <= width:
                    for k in range(filters):
                        y00, y01, y10, y11 = _output_block(m, t, k, bias[k], relu)
                        out[n, r, q, k], out[n, r, q + 1, k] = y00, y01
                        out[n, r + 1, q, k], out[n, r + 1, q + 1, k] = y10, y11
                else:  # the image ends inside this tile
                    for k in range(filters):
                        y00, y01, y10, y11 = _output_block(m, t, k, bias[k], relu)
                        block[0, 0, k], block[0, 1, k] = y00, y01
                        block[1, 0, k], block[1, 1, k] = y10, y11
                    for i in range(min(2, height - r)):
                        for j in range(min(2, width - q)):
                            out[n, r + i, q + j] = block[i, j]
                t += 1


@njit(cache=True, nogil=True, inline="always")
def _output_block(m, t, k, bias, relu):
    """Aᵀ m A + bias (then relu) of tile t's filter k: the 2x2 block, row by row."""
    # Aᵀ m: rows 0 + 1 + 2 and 1 - 2 - 3, per column
    s0 = m[t, 0, k] + m[t, 4, k] + m[t, 8, k]
    s1 = m[t, 1, k] + m[t, 5, k] + m[t, 9, k]
    s2 = m[t, 2, k] + m[t, 6, k] + m[t, 10, k]
    s3 = m[t, 3, k] + m[t, 7, k] + m[t, 11, k]
    d0 = m[t, 4, k] - m[t, 8, k] - m[t, 12, k]
    d1 = m[t, 5, k] - m[t, 9, k] - m[t, 13, k]
    d2 = m[t, 6, k] - m[t, 10, k] - m[t, 14, k]
    d3 = m[t, 7, k] - m[t, 11, k] - m[t, 15, k]
    # ... then A on the right, the same combination of the columns
    y00, y01 = s0 + s1 + s2 + bias, s1 - s2 - s3 + bias
    y10, y11 = d0 + d1 + d2 + bias, d1 - d2 - d3 + bias
    if relu:
        return max(y00, 0), max(y01, 0), max(y10, 0), max(y11, 0)
    return y00, y01, y10, y11


@njit(cache=True, nogil=True)
def grad_transform(grad, out, relu, tiles_h, tiles_w, dm, gb):
    """``dm`` (tiles, 16, K), overwritten: A dY Aᵀ of every tile's 2x2 block dY of the
    output gradient ``grad`` (N, H, W, K) (zero past the image), masked by ``out`` > 0 when
    ``relu``; ``gb`` (K,), overwritten: the sum of the (masked) gradient, the bias's."""
    n_images, height, width, filters = grad.shape
    block = np.zeros((2, 2, filters), dm.dtype)
    gb[:] = 0
    t = 0
    for n in range(n_images):
        for ty in range(tiles_h):
            for tx in range(tiles_w):
                r, q = 2 * ty, 2 * tx
                if r + 2 <= height and q + 2 <= width:
                    for k in range(filters):
                        g00, g01 = grad[n, r, q, k], grad[n, r, q + 1, k]
                        g10, g11 = grad[n, r + 1, q, k], grad[n, r + 1, q + 1, k]
                        if relu:
                            g00 = g00 if out[n, r, q, k] > 0 else 0
                            g01 = g01 if out[n, r, q + 1, k] > 0 else 0
                            g10 = g10 if out[n, r + 1, q, k] > 0 else 0
                            g11 = g11 if out[n, r + 1, q + 1, k] > 0 else 0
                        gb[k] += (g00 + g01) + (g10 + g11)
                        _grad_block(g00, g01, g10, g11, dm, t, k)
                else:  # the image ends inside this tile: zeros past it
                    block[:] = 0
                    for i in range(min(2, height - r)):
                        for j in range(min(2, width - q)):
                            for k in range(filters):
                                g = grad[n, r + i, q + j, k]
                                block[i, j, k] = g if not relu or out[n, r + i, q + j, k] > 0 else 0
                                gb[k] += block[i, j, k]
                    for k in range(filters):
                        _grad_block(block[0, 0, k], block[0, 1, k], block[1, 0, k],
                                    block[1, 1, k], dm, t, k)
                t += 1


@njit(cache=True, nogil=True, inline="always")
def _grad_block(g00, g01, g10, g11, dm, t, k):
    """dm[t, :, k] = A dY Aᵀ of the 2x2 block dY = [[g00, g01], [g10, g11]]."""
    # A dY: rows (g0, g0 + g1, g0 - g1, -g1) of dY's two rows ...
    p0, q0 = g00, g01
    p1, q1 = g00 + g10, g01 + g11
    p2, q2 = g00 - g10, g01 - g11
    p3, q3 = -g10, -g11
    # ... then Aᵀ on the right: (p, p + q, p - q, -q) of each row
    dm[t, 0, k], dm[t, 1, k], dm[t, 2, k], dm[t, 3, k] = p0, p0 + q0, p0 - q0, -q0
    dm[t, 4, k], dm[t, 5, k], dm[t, 6, k], dm[t, 7, k] = p1, p1 + q1, p1 - q1, -q1
    dm[t, 8, k], dm[t, 9, k], dm[t, 10, k], dm[t, 11, k] = p2, p2 + q2, p2 - q2, -q2
    dm[t, 12, k], dm[t, 13, k], dm[t, 14, k], dm[t, 15, k] = p3, p3 + q3, p3 - q3, -q3


@njit(cache=True, nogil=True)
def input_adjoint(dv, tiles_h, tiles_w, gxp):
    """``gxp`` (N, ≥ 2·tiles_h + 2, ≥ 2·tiles_w + 2, C), overwritten: the padded images'
    gradient, every tile's B dV Bᵀ added where its patch was read (neighbouring patches
    overlap by two rows or columns)."""
    n_images, channels = gxp.shape[0], gxp.shape[3]
    gxp[:] = 0
    t = 0
    for n in range(n_images):
        for ty in range(tiles_h):
            for tx in range(tiles_w):
                r0, c0 = 2 * ty, 2 * tx
                for c in range(channels):
                    # B dV: rows (v0, v1 - v2 + v3, v1 + v2 - v0, -v3), per column j ...
                    a0, a1, a2, a3 = dv[t, 0, c], dv[t, 1, c], dv[t, 2, c], dv[t, 3, c]
                    b0 = dv[t, 4, c] - dv[t, 8, c] + dv[t, 12, c]
                    b1 = dv[t, 5, c] - dv[t, 9, c] + dv[t, 13, c]
                    b2 = dv[t, 6, c] - dv[t, 10, c] + dv[t, 14, c]
                    b3 = dv[t, 7, c] - dv[t, 11, c] + dv[t, 15, c]
                    e0 = dv[t, 4, c] + dv[t, 8, c] - dv[t, 0, c]
                    e1 = dv[t, 5, c] + dv[t, 9, c] - dv[t, 1, c]
                    e2 = dv[t, 6, c] + dv[t, 10, c] - dv[t, 2, c]
                    e3 = dv[t, 7, c] + dv[t, 11, c] - dv[t, 3, c]
                    f0, f1, f2, f3 = dv[t, 12, c], dv[t, 13, c], dv[t, 14, c], dv[t, 15, c]
                    # ... then Bᵀ on the right: the same combination of the columns
                    gxp[n, r0 + 0, c0 + 0, c] += a0
                    gxp[n, r0 + 0, c0 + 1, c] += a1 - a2 + a3
                    gxp[n, r0 + 0, c0 + 2, c] += a1 + a2 - a0
                    gxp[n, r0 + 0, c0 + 3, c] -= a3
                    gxp[n, r0 + 1, c0 + 0, c] += b0
                    gxp[n, r0 + 1, c0 + 1, c] += b1 - b2 + b3
                    gxp[n, r0 + 1, c0 + 2, c] += b1 + b2 - b0
                    gxp[n, r0 + 1, c0 + 3, c] -= b3
                    gxp[n, r0 + 2, c0 + 0, c] += e0
                    gxp[n, r0 + 2, c0 + 1, c] += e1 - e2 + e3
                    gxp[n, r0 + 2, c0 + 2, c] += e1 + e2 - e0
                    gxp[n, r0 + 2, c0 + 3, c] -= e3
                    gxp[n, r0 + 3, c0 + 0, c] -= f0
                    gxp[n, r0 + 3, c0 + 1, c] -= f1 - f2 + f3
                    gxp[n, r0 + 3, c0 + 2, c] -= f1 + f2 - f0
                    gxp[n, r0 + 3, c0 + 3, c] += f3
                t += 1
