"""3x3 stride-1 convolutions with fewer multiplications: Winograd's F(4x4, 3x3).

A 4x4 block of outputs of a 3x3 convolution reads a 6x6 patch d of the input. Directly,
that is 16 · 9 = 144 multiply-adds per input channel and filter; Winograd's minimal
filtering computes the same block from 36 products of transformed numbers,
    Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A,
where g is the 3x3 kernel and A, B, G are small constant matrices (Lavin & Gray, "Fast
Algorithms for Convolutional Neural Networks", 2016; see ``winograd_kernels``). Summed
over input channels, each of the 36 positions ξ of the 6x6 transform is one matrix
product: M[ξ] = V[ξ] (tiles, C) @ U[ξ] (C, K), with V = Bᵀ d B per tile and U = G g Gᵀ per
input channel and filter. That is 4x fewer multiply-adds than im2col's GEMM, plus
transforms of additions and small constant factors (compiled: ``winograd_kernels``).

Backward uses the same pieces. With dM = A dY Aᵀ the transformed output gradient:
    dU[ξ] = V[ξ]ᵀ @ dM[ξ]  (summed over tiles) -> kernel gradient Gᵀ dU G,
    dV[ξ] = dM[ξ] @ U[ξ]ᵀ                      -> input gradient B dV Bᵀ, added per patch.
All of it exact in exact arithmetic; in float32 the results differ from im2col's by up to
~1e-5 of their scale (the transforms add and subtract values up to 100x apart), where
im2col's own rounding is ~1e-6. float64 agrees to 1e-11.

Like ``conv.py``'s GEMM path, the batch is cut into chunks of a few MB (the transformed
chunk stays in the cache between the transform and the GEMMs) shared by the worker
threads, and backward recomputes V rather than keeping it (2.25x the input's size).

Used for 3x3 kernels at stride 1 without dilation, with numba installed and at least 4
input channels (one channel goes to ``conv.py``'s direct loop); the NumPy im2col path stays
the reference (tests compare). Measured per chunk on ResNet-20's 3x3 convolutions (one
thread, CPU time; forward = transform + 36 GEMMs + inverse transform): 32x32x16 -> 16, 4
images: forward 0.17 ms, backward ~0.32; 16x16x32 -> 32, 8 images: 0.19; 8x8x64 -> 64, 16
images: 0.26 and ~0.50. im2col + GEMM took 0.35, 0.50 and 0.84 ms for those forwards, and
F(2x2, 3x3), which this replaced (16 products per 2x2 block, 2.25x fewer than im2col),
0.22, 0.27 and 0.52: its GEMMs took twice as long for about the same transforms.
"""
from __future__ import annotations

import numpy as np

from neuropil.backend import threads
from neuropil.ops import accel
from neuropil.ops.window import batch_chunks, bordered, scratch

__all__ = ["applies", "Tiling", "transform_kernel", "kernel_gradient"]

# Fewer input channels stay with im2col: with 3 (an RGB first layer, 32x32 -> 16 filters,
# batch 128, one thread) the two took the same time (forward 5.2 ms, with backward 15-16);
# with 4, Winograd 4.8 / 14.3 ms against 5.8 / 18.2.
MIN_CHANNELS = 4
TILE = 4  # outputs per tile side: F(4x4, 3x3)
POSITIONS = (TILE + 2) ** 2  # numbers per transformed 6x6 tile
# G, as in U = G g Gᵀ (6x3).
_G = np.array([[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
               [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]])
_G_PAIRS = np.kron(_G, _G)  # (36, 9): row (i, j), column (a, b) holds G[i, a]·G[j, b]


def applies(window, kernel_shape, dtype=np.float32) -> bool:
    """Whether a convolution with this geometry, (kh, kw, in, out) kernel and ``dtype``
    (of the input, kernel and output alike) goes here."""
    return (tuple(kernel_shape[:2]) == (3, 3) and window.strides == window.dilation == (1, 1)
            and kernel_shape[2] >= MIN_CHANNELS and np.dtype(dtype) in _DTYPES
            and accel.winograd_kernels() is not None)


_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def transform_kernel(kernel: np.ndarray) -> np.ndarray:
    """U = G g Gᵀ for every (input channel, filter): (3, 3, C, K) -> (36, C, K).

    As one GEMM: U[(i, j)] = Σ_ab G[i, a] G[j, b] g[a, b], i.e. (G ⊗ G) (36 x 9) times the
    kernel seen as (9, C·K). (Two tensordots and a transposing copy took 0.53 ms for 64
    channels and 64 filters, 36 times a ResNet-20 step; einsum(optimize=True) searched its
    path anew on every call.)"""
    c, k = kernel.shape[2:]
    u = _G_PAIRS.astype(kernel.dtype) @ np.ascontiguousarray(kernel).reshape(9, c * k)
    return u.reshape(POSITIONS, c, k)


def kernel_gradient(du: np.ndarray) -> np.ndarray:
    """The kernel's gradient Gᵀ dU G from dU (36, C, K) -> (3, 3, C, K): the transpose of
    ``transform_kernel``'s GEMM."""
    c, k = du.shape[1:]
    return (_G_PAIRS.T.astype(du.dtype) @ du.reshape(POSITIONS, c * k)).reshape(3, 3, c, k)


class Tiling:
    """How the 4x4 output blocks cover an image: ``tiles_h`` x ``tiles_w`` tiles, each
    reading a 6x6 patch of the image padded with ``window``'s top and left padding and
    zeros after it as far as the last tiles reach."""

    def __init__(self, window, channels: int, filters: int, itemsize: int):
        (self.out_h, self.out_w), self.window = window.out_hw, window
        self.tiles_h, self.tiles_w = -(-self.out_h // TILE), -(-self.out_w // TILE)
        self.per_image = self.tiles_h * self.tiles_w
        self.padded_hw = (TILE * self.tiles_h + 2, TILE * self.tiles_w + 2)
        self.channels, self.filters = channels, filters
        # V and M of a chunk (36 numbers a tile, per channel and per filter)
        self.bytes_per_image = self.per_image * POSITIONS * (channels + filters) * itemsize

    def chunks(self, n: int) -> list:
        return batch_chunks(n, self.bytes_per_image)

    def padded(self, x):
        """x (n, h, w, C) in this thread's zero-bordered buffer of the tiles' size."""
        (top, _), (left, _) = self.window.pads
        shape = (len(x),) + self.padded_hw + (x.shape[3],)
        out = bordered(shape, x.dtype, 0, (top, left) + x.shape[1:3])
        out[:, top:top + x.shape[1], left:left + x.shape[2]] = x
        return out

    def transformed(self, x, compiled):
        """V (tiles, 36, C) of a chunk of images x, in this thread's scratch."""
        v = scratch((len(x) * self.per_image, POSITIONS, self.channels), x.dtype,
                    "winograd V")
        compiled.input_transform(self.padded(x), self.tiles_h, self.tiles_w, v)
        return v


def forward(x, kernel, bias, relu: bool, out, window, residual=None):
    """``out`` (N, out_h, out_w, K), overwritten: conv2d(x, kernel) + bias (+ residual),
    then relu. Returns U, the transformed kernel, for backward."""
    compiled = accel.winograd_kernels()
    tiling = Tiling(window, x.shape[3], kernel.shape[3], out.itemsize)
    if residual is not None:  # the compiled loop indexes it like ``out``
        residual = np.ascontiguousarray(residual, out.dtype)
    u = transform_kernel(kernel.astype(out.dtype, copy=False))
    bias = np.zeros(kernel.shape[3], out.dtype) if bias is None else bias.astype(out.dtype)

    def chunk(part):
        v = tiling.transformed(x[part], compiled)
        m = scratch((len(v), POSITIONS, u.shape[2]), out.dtype, "winograd M")
        np.matmul(v.transpose(1, 0, 2), u, out=m.transpose(1, 0, 2))  # per ξ: V[ξ] @ U[ξ]
        if residual is None:
            compiled.output_transform(m, tiling.tiles_h, tiling.tiles_w, bias, relu, out[part])
        else:
            compiled.output_transform_residual(m, tiling.tiles_h, tiling.tiles_w, bias,
                                               residual[part], relu, out[part])

    threads.map_chunks(chunk, tiling.chunks(len(x)))
    return u


def backward(grad, out, x, u, window, want_input: bool, want_weights: bool):
    """The gradients (input, dU and the bias's) of ``forward`` given the output's ``grad``
    (masked by ``out`` > 0 when ``out`` is not None: the fused relu). ``x`` is needed for
    the kernel's gradient, ``u`` for the input's. Returns (gx or None, dU (36, C, K) or
    None, bias gradient (K,))."""
    compiled = accel.winograd_kernels()
    n, channels, filters = len(grad), u.shape[1], u.shape[2]
    tiling = Tiling(window, channels, filters, grad.itemsize)
    grad = np.ascontiguousarray(grad)
    gx = np.empty((n,) + window.image_hw + (channels,), grad.dtype) if want_input else None
    (top, _), (left, _) = window.pads
    height, width = window.image_hw
    ut = np.ascontiguousarray(u.transpose(0, 2, 1)) if want_input else None

    def chunk(part):
        g = grad[part]
        dm = scratch((len(g) * tiling.per_image, POSITIONS, filters), grad.dtype,
                     "winograd dM")
        gb = np.empty(filters, grad.dtype)
        compiled.grad_transform(g, g if out is None else out[part], out is not None,
                                tiling.tiles_h, tiling.tiles_w, dm, gb)
        du = None
        if want_weights:
            v = tiling.transformed(x[part], compiled)
            du = np.matmul(v.transpose(1, 2, 0), dm.transpose(1, 0, 2))  # (36, C, K)
        if want_input:
            dv = scratch((len(dm), POSITIONS, channels), grad.dtype, "winograd V")
            np.matmul(dm.transpose(1, 0, 2), ut, out=dv.transpose(1, 0, 2))
            gxp = scratch((len(g),) + tiling.padded_hw + (channels,), grad.dtype,
                          "winograd gx")
            compiled.input_adjoint(dv, tiling.tiles_h, tiling.tiles_w, gxp)
            gx[part] = gxp[:, top:top + height, left:left + width]
        return du, gb

    partials = threads.map_chunks(chunk, tiling.chunks(n))
    du = np.sum([p[0] for p in partials], axis=0) if want_weights else None
    return gx, du, np.sum([p[1] for p in partials], axis=0)
