"""Compiled loops for the steps of conv2d that NumPy cannot vectorize well (max pooling's are
in ``pool_kernels``, batch norm's in ``norm_kernels``, Winograd's in ``winograd_kernels``).

Imported only through ``neuropil.ops.accel`` (which decides whether numba is used at all);
importing this module imports numba. Each function is the loop-by-loop version of a NumPy
computation in ``conv.py`` / ``window.py``, which stays the reference: the tests run both and
compare. The loops run on the calling thread: compiled with ``parallel=True`` they were 2x
faster alone, but inside a training step numba's worker threads and OpenBLAS's spin against
each other on the same cores, and a LeNet-5 step took 57 ms instead of 17 (2 cores).
``cache=True`` keeps the machine code in ``__pycache__``, so only the first run on a machine
pays the compilation (a few seconds per dtype).

Geometry arguments follow ``window.SlidingWindow``: tap (a, b) of output pixel (i, j) reads
input row i·sh + a·dh - top and column j·sw + b·dw - left; positions outside the image are
padding (zeros for a convolution, never the maximum for pooling).
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["im2col", "col2im", "one_channel_taps", "conv_one_channel_forward",
           "conv_one_channel_backward"]


@njit(cache=True, nogil=True)
def im2col(xp, kh, kw, sh, sw, dh, dw, out_h, out_w, cols):
    """``cols`` (M, kh·kw·C [+ 1]), overwritten: row m = (n, i, j) holds the window of
    output pixel (i, j) of the padded images ``xp`` (N, H, W, C), in the kernel's (a, b, c)
    order, and a last column of ones if ``cols`` has one more column (the bias's partner).

    With dw = 1 a kernel row's taps are kw·C consecutive numbers of an image row: one run
    per kernel row. Indices are unsigned: numba wraps negative signed indices, and for a
    computed index LLVM cannot rule that out, so the copies would be gathers. 2x faster
    than NumPy's copy of the strided window view (LeNet's 6->16 convolution, 21 images:
    0.047 against 0.10 ms), and one call instead of several, so a worker thread holds the
    GIL less often."""
    n_images, height, width, channels = xp.shape
    xf, cf = xp.reshape(-1), cols.reshape(-1)
    depth, taps = cols.shape[1], kh * kw * channels
    run = kw * channels if dw == 1 else channels
    pieces = 1 if dw == 1 else kw
    one = cols.dtype.type(1)
    m = 0
    for n in range(n_images):
        for i in range(out_h):
            for j in range(out_w):
                target = m * depth
                for a in range(kh):
                    row = (n * height + i * sh + a * dh) * width + j * sw
                    for b in range(pieces):
                        source = (row + b * dw) * channels
                        start = target + (a * pieces + b) * run
                        for e in range(run):
                            cf[np.uint64(start + e)] = xf[np.uint64(source + e)]
                if depth > taps:
                    cf[np.uint64(target + taps)] = one
                m += 1


@njit(cache=True, nogil=True)
def col2im(dcols, kh, kw, sh, sw, dh, dw, top, left, out_h, out_w, gx):
    """The adjoint of im2col: ``gx`` (N, H, W, C), overwritten, becomes the sum, over every
    output pixel m = (n, i, j) and tap (a, b), of row m of ``dcols`` (M, ≥ kh·kw·C), columns
    (a, b, c), added where that tap read from.

    With dw = 1 a tap row (a, b = 0..kw-1) covers kw·C consecutive numbers of the image
    row, so the inner loop is one run of kw·C adds (30 for LeNet's 5x5x6) instead of kw
    runs of C. Flat unsigned indices, as ``im2col``: 1.4-1.7x faster than 2-D indexing
    (LeNet's 6->16 convolution, 21 images: 0.082 against 0.112 ms; its first layer's
    padded 28x28x6 gradient, 16 images: 0.49 against 0.86).
    """
    n_images, height, width, channels = gx.shape
    gf, df = gx.reshape(-1), dcols.reshape(-1)
    depth, run, line = dcols.shape[1], kw * channels, width * channels
    gf[:] = 0
    for n in range(n_images):
        for i in range(out_h):
            for j in range(out_w):
                m = (n * out_h + i) * out_w + j
                q0 = j * sw - left
                inside = dw == 1 and q0 >= 0 and q0 + kw <= width
                for a in range(kh):
                    r = i * sh + a * dh - top
                    if r < 0 or r >= height:
                        continue
                    k0 = m * depth + a * run
                    if inside:
                        t0 = (n * height + r) * line + q0 * channels
                        for e in range(run):
                            gf[np.uint64(t0 + e)] += df[np.uint64(k0 + e)]
                    else:
                        for b in range(kw):
                            q = q0 + b * dw
                            if 0 <= q < width:
                                t0 = ((n * height + r) * width + q) * channels
                                for c in range(channels):
                                    gf[np.uint64(t0 + c)] += df[np.uint64(k0 + b * channels + c)]


GROUP = 6  # filters per pass over an image: six accumulators per pixel (LeNet's first layer)


def one_channel_taps(kernel, bias=None):
    """``kernel`` (kh, kw, O) and ``bias`` (O,) or None as ``conv_one_channel_forward``
    takes them: per group of GROUP filters (the last padded with zero filters), the taps
    ``taps[g][a][b]`` and the biases ``biases[g]``, each a tuple of GROUP Python floats.

    Tuples, not arrays, because numba then types the kernel's size into the signature:
    the tap loops have constant trip counts and unroll, and the weights are values, not
    loads that might alias the planes being written, so the pixel loop vectorizes (with
    the weights in an array it stayed scalar, 6x slower). The price: each kernel size and
    number of groups compiles once (~3 s, then cached), and each call's dispatch reads the
    tuples (~3 µs for LeNet's, ~7 µs to build them: once per op, for all its chunks)."""
    kh, kw, filters = kernel.shape
    groups = -(-filters // GROUP)
    weights, shifts = np.zeros((kh, kw, groups * GROUP)), np.zeros(groups * GROUP)
    weights[..., :filters] = kernel
    if bias is not None:
        shifts[:filters] = bias
    per_group = weights.reshape(kh, kw, groups, GROUP).transpose(2, 0, 1, 3).tolist()
    taps = tuple(tuple(tuple(map(tuple, row)) for row in group) for group in per_group)
    return taps, tuple(map(tuple, shifts.reshape(groups, GROUP).tolist()))


@njit(cache=True, nogil=True)
def _plane_positions(out_h, out_w, filters, width):
    """For each flat NHWC position e = (i·out_w + j)·filters + o of one output image, the
    position o·out_h·width + i·width + j of that pixel in the per-filter planes (as wide as
    the padded image): one table to transpose with in either direction.

    Transposing through it is one flat loop: 0.19 ms forward and 0.29 ms backward (with the
    relu mask) for LeNet's 128x28x28x6 batch on one thread, against ~0.55 ms and 0.47 ms
    for three nested loops (i, j, o) with the planes indexed by filter and position."""
    index = np.empty(out_h * out_w * filters, np.uint32)  # half the cache of int64
    plane = out_h * width
    e = 0
    for i in range(out_h):
        for j in range(out_w):
            for o in range(filters):
                index[e] = o * plane + i * width + j
                e += 1
    return index


@njit(cache=True, nogil=True, fastmath={"contract"})
def conv_one_channel_forward(xp, taps, biases, relu, out):
    """``out`` (N, OH, OW, O), overwritten: the stride-1 convolution of one-channel images
    ``xp`` (N, OH + kh - 1, OW + kw - 1), already padded, with the kernel and bias given as
    ``one_channel_taps`` makes them, then relu when ``relu``.

    Direct, without im2col (which writes kh·kw copies of the image: 10 MB for LeNet's
    128x28x28 batch, evicted from the cache by the time backward reads them). Per image,
    six filters at a time, six planes as wide as the padded image (21 KB: in L1) collect
    the filters' outputs; in the flattened image a tap's shift is one offset, so each kernel
    row is one vector loop over the plane's positions that loads each image value once for
    its kw taps and six filters (30 multiply-adds for 5x5) and adds into the six planes.
    The planes' extra kw - 1 columns are discarded by the transposition to NHWC
    (``_plane_positions``), which applies relu.

    Measured on LeNet's first layer (128x28x28x1, 5x5x6, one thread of a Zen 4): 1.37 ->
    0.60 ms; the planes' part 0.42 ms (72 GFLOP/s), the transposition 0.19. Measured and
    rejected: one filter and two taps a pass (the previous kernel: ~0.8 ms of compute,
    ~0.55 of transposition); all kh·kw taps per pixel in registers (with six filters the
    tap loops did not unroll and the loop stayed scalar; with three, 0.8 ms of compute: each
    accumulator a chain of 25 dependent multiply-adds); two kernel rows a pass (0.71 ms:
    the body too long to unroll); writing NHWC from the last row's pass (0.80 ms: stride-6
    shuffles); the taps in an array rather than tuples (scalar loop).
    """
    n_images, out_h, out_w, filters = out.shape
    groups, kh, kw = len(taps), len(taps[0]), len(taps[0][0])
    width = xp.shape[2]
    length = np.uint64((out_h - 1) * width + out_w)  # flat positions, first output to last
    planes = np.empty((groups * GROUP, out_h * width), out.dtype)
    index = _plane_positions(out_h, out_w, filters, width)
    cast = out.dtype.type
    for n in range(n_images):
        image = xp[n].ravel()
        for g in range(groups):
            o0 = g * GROUP
            p0, p1, p2 = planes[o0], planes[o0 + 1], planes[o0 + 2]
            p3, p4, p5 = planes[o0 + 3], planes[o0 + 4], planes[o0 + 5]
            c0, c1, c2, c3, c4, c5 = biases[g]
            c0, c1, c2, c3, c4, c5 = cast(c0), cast(c1), cast(c2), cast(c3), cast(c4), cast(c5)
            # Unsigned positions: numba then skips the test for negative indices, which
            # made LLVM load the image with gathers.
            for f in range(length):
                p0[f], p1[f], p2[f], p3[f], p4[f], p5[f] = c0, c1, c2, c3, c4, c5
            weights = taps[g]
            for a in range(kh):
                row, row_taps = image[a * width:], weights[a]
                for f in range(length):
                    s0, s1, s2, s3, s4, s5 = p0[f], p1[f], p2[f], p3[f], p4[f], p5[f]
                    for b in range(kw):  # unrolled: kw is a constant of the signature
                        x, w = row[f + np.uint64(b)], row_taps[b]
                        s0 += x * cast(w[0])
                        s1 += x * cast(w[1])
                        s2 += x * cast(w[2])
                        s3 += x * cast(w[3])
                        s4 += x * cast(w[4])
                        s5 += x * cast(w[5])
                    p0[f], p1[f], p2[f], p3[f], p4[f], p5[f] = s0, s1, s2, s3, s4, s5
        source, target = planes.ravel(), out[n].ravel()
        if relu:
            for e in range(target.size):
                target[e] = max(source[index[e]], 0)
        else:
            for e in range(target.size):
                target[e] = source[index[e]]


@njit(cache=True, nogil=True)
def _add6(target, v0, v1, v2, v3, v4, v5):
    target[0] += v0
    target[1] += v1
    target[2] += v2
    target[3] += v3
    target[4] += v4
    target[5] += v5


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def conv_one_channel_backward(xp, grad, out, relu, gk, gb):
    """``gk`` (kh, kw, O) and ``gb`` (O,), overwritten: the kernel and bias gradients of
    ``conv_one_channel_forward`` given the output's gradient ``grad`` (masked by out > 0
    when ``relu``). The gradient goes into per-filter planes as wide as the padded image
    (zeros in the extra columns; ``_plane_positions``); each tap's gradient is then a dot
    product of a plane with the image shifted by the tap. A pass over the planes makes
    twelve at once, two taps by six filters (twelve vector accumulators: 8 loads per 12
    multiply-adds); ``reassoc`` lets the sums run as vector loops (the order of additions
    differs from NumPy's).

    Measured on LeNet's first layer (128x28x28x6, 5x5, one thread of a Zen 4): 1.28 ->
    0.67 ms; the dot products 0.38 ms (79 GFLOP/s, one filter and two taps a pass before),
    the masked transposition 0.29 (a branch for the mask instead of a product: 1.24)."""
    n_images, out_h, out_w, filters = grad.shape
    kh, kw = gk.shape[0], gk.shape[1]
    width = xp.shape[2]
    length = np.uint64((out_h - 1) * width + out_w)
    groups = -(-filters // GROUP)
    planes = np.zeros((groups * GROUP, out_h * width), gk.dtype)  # extra columns stay 0
    flat = planes.ravel()
    index = _plane_positions(out_h, out_w, filters, width)
    sums = np.zeros((kh, kw, groups * GROUP), gk.dtype)
    bias_sums = np.zeros(groups * GROUP, gk.dtype)
    zero = gk.dtype.type(0)
    for n in range(n_images):
        image, g = xp[n].ravel(), grad[n].ravel()
        if relu:
            mask = out[n].ravel()
            for e in range(g.size):
                flat[index[e]] = g[e] * (mask[e] > 0)
        else:
            for e in range(g.size):
                flat[index[e]] = g[e]
        for o in range(filters):
            total, plane = zero, planes[o]
            for f in range(length):
                total += plane[f]
            bias_sums[o] += total
        for q in range(groups):
            o0 = q * GROUP
            p0, p1, p2 = planes[o0], planes[o0 + 1], planes[o0 + 2]
            p3, p4, p5 = planes[o0 + 3], planes[o0 + 4], planes[o0 + 5]
            for a in range(kh):
                for b in range(0, kw - 1, 2):
                    first, second = image[a * width + b:], image[a * width + b + 1:]
                    t0 = t1 = t2 = t3 = t4 = t5 = u0 = u1 = u2 = u3 = u4 = u5 = zero
                    for f in range(length):
                        x, y = first[f], second[f]
                        t0 += x * p0[f]
                        u0 += y * p0[f]
                        t1 += x * p1[f]
                        u1 += y * p1[f]
                        t2 += x * p2[f]
                        u2 += y * p2[f]
                        t3 += x * p3[f]
                        u3 += y * p3[f]
                        t4 += x * p4[f]
                        u4 += y * p4[f]
                        t5 += x * p5[f]
                        u5 += y * p5[f]
                    _add6(sums[a, b, o0:], t0, t1, t2, t3, t4, t5)
                    _add6(sums[a, b + 1, o0:], u0, u1, u2, u3, u4, u5)
                if kw % 2:  # the row's last tap alone
                    last = image[a * width + kw - 1:]
                    t0 = t1 = t2 = t3 = t4 = t5 = zero
                    for f in range(length):
                        x = last[f]
                        t0 += x * p0[f]
                        t1 += x * p1[f]
                        t2 += x * p2[f]
                        t3 += x * p3[f]
                        t4 += x * p4[f]
                        t5 += x * p5[f]
                    _add6(sums[a, kw - 1, o0:], t0, t1, t2, t3, t4, t5)
    gk[...] = sums[:, :, :filters]
    gb[...] = bias_sums[:filters]
