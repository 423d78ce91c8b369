"""2-D convolutions on channels-last images: conv2d and depthwise_conv2d (conv2d_transpose,
built on conv2d's input gradient, is in ``conv_transpose.py``).

Images are (batch, height, width, channels); kernels are HWIO, (kh, kw, in, out), as in
Keras. Like Keras and TensorFlow, "convolution" here is cross-correlation: the kernel is not
flipped.

How it is fast: ``conv2d`` copies every window of the (padded) input into one row of a
matrix of columns, (images·out_h·out_w, kh·kw·in) ("im2col", ``window.SlidingWindow``), and
multiplies it by the kernel reshaped to (kh·kw·in, out): one GEMM. It does so a chunk of the
batch at a time (``window.batch_chunks``: ~2 MB of columns, which stay in the cache between
the copy that writes them and the GEMM that reads them), and the chunks are shared by the
worker threads (``backend.threads``), each with a one-thread BLAS. Backward, per chunk:
the kernel gradient is columns.T @ output gradient (the columns rebuilt, not kept), the
input gradient one GEMM to every tap's product followed by col2im (each product added where
its tap read from: compiled with numba, else kh·kw strided adds).

A convolution layer's bias and relu ride along (``conv2d(..., bias=, relu=True)``): the
columns get one more column of ones and the kernel one more row, the bias, so the GEMM adds
the bias and the kernel-gradient GEMM returns the bias gradient as its last row; relu runs
in place on the GEMM's output, and backward masks the incoming gradient once.

With numba installed (``accel.py``, ``numba_kernels.py``): a one-channel, stride-1
convolution (a grayscale first layer) runs as a direct compiled loop per chunk, without
columns, and im2col and col2im are compiled (im2col 2x faster than NumPy's strided copy
once its indices were unsigned; a first try with signed ones had been slower); a 3x3 stride-1 convolution of 8 or more channels (a
ResNet's) runs as Winograd's F(4x4, 3x3) (``winograd.py``: 4x fewer multiplications,
compiled transforms). The NumPy code stays the reference; the tests run both.

Measured on ResNet-20 (batch 128, 2 cores; bench/bench_resnet20.py), against keeping a whole
batch's columns for backward and one 2-thread GEMM per convolution: a training step 954 ->
443 ms, predict 449 -> 176 ms, peak memory 1.32 GB -> 0.57 GB (stage 1 kept 75 MB of
columns per convolution). The chunk GEMMs run at 80-100 GFLOP/s per core; the columns'
copies are ~25% of a chunk's time.

Measured and rejected (bench/bench_conv.py shapes): a loop of per-tap GEMMs over the padded
image in forward (kh·kw GEMMs with a short inner dimension: slower below 32 channels and on
small images), einsum on the strided window view (2-4x slower), the transposed-convolution
input gradient (im2col of the padded output gradient: a larger copy than col2im's adds),
and the GEMM transposed,
kernel (out, K) @ columns (K, M) (no faster, and the output then needs a transposing copy).
"""
from __future__ import annotations

import numpy as np

from neuropil.autodiff import Op
from neuropil.backend import threads
from neuropil.ops import accel, winograd
from neuropil.ops.window import SlidingWindow, batch_chunks, image_bytes, pair, scratch

__all__ = ["conv2d", "depthwise_conv2d"]


def _check(x, kernel, op: str, kernel_layout: str, channel_axis: int = 2):
    if x.ndim != 4 or kernel.ndim != 4:
        raise ValueError(f"{op} expects x of shape (batch, height, width, channels) and a "
                         f"kernel of shape {kernel_layout}. Received: x.shape={x.shape}, "
                         f"kernel.shape={kernel.shape}")
    if kernel.shape[channel_axis] != x.shape[-1]:
        raise ValueError(f"{op}: the kernel {kernel_layout} has "
                         f"{kernel.shape[channel_axis]} input channels but x has {x.shape[-1]}"
                         f". Received: x.shape={x.shape}, kernel.shape={kernel.shape}")


def _tap_products(g2, kernel, shape):
    """Per tap, in order: ``g2 (M, out) @ kernel[a, b].T``, reshaped to ``shape``.

    One (M, in) buffer serves every tap (``scatter`` adds each product in before asking for
    the next), instead of a (kh·kw, M, in) array: ~6% faster on a 64x32x32x32 batch, and
    kh·kw times less memory. With one input channel the products are a single GEMM,
    kernel (kh·kw, out) @ g2.T, instead of kh·kw matrix-vector products."""
    kh, kw, c, o = kernel.shape
    if c == 1:
        yield from (kernel.reshape(kh * kw, o) @ g2.T).reshape((kh * kw,) + shape)
        return
    product = scratch((g2.shape[0], c), np.result_type(g2, kernel), "products")
    for tap in kernel.reshape(kh * kw, c, o):
        yield np.matmul(g2, tap.T, out=product).reshape(shape)


def _input_grad_chunk(window, g2, kernel, gx, compiled):
    """Writes into ``gx`` (n, h, w, in) the input's gradient of ``conv(x, kernel)`` for n
    images whose output gradient is ``g2`` (n·out_h·out_w, out): one GEMM to every tap's
    product and a compiled col2im with numba, else per-tap GEMMs and strided adds."""
    kh, kw, c, o = kernel.shape
    dtype = np.result_type(g2, kernel)
    if compiled is None:
        shape = (len(gx),) + window.out_hw + (c,)
        gx[...] = window.crop(window.scatter(_tap_products(g2, kernel, shape), (len(gx), c),
                                             dtype, in_scratch=True))
        return
    dcols = np.matmul(g2, kernel.reshape(-1, o).T,
                      out=scratch((len(g2), kh * kw * c), dtype, "col2im"))
    (top, _), (left, _) = window.pads
    compiled.col2im(dcols, kh, kw, *window.strides, *window.dilation, top, left,
                    *window.out_hw, gx)


def _conv_input_grad(window, g2, kernel, n: int):
    """The input's gradient (n, h, w, in) of ``conv(x, kernel)`` given the output's as
    (n·out_h·out_w, out), a few MB of images at a time, on the worker threads."""
    kh, kw, c, _ = kernel.shape
    dtype = np.result_type(g2, kernel)
    gx = np.empty((n,) + window.image_hw + (c,), dtype)
    per_image = window.out_hw[0] * window.out_hw[1]
    compiled = accel.kernels()
    threads.map_chunks(
        lambda part: _input_grad_chunk(window, g2[part.start * per_image:part.stop * per_image],
                                       kernel, gx[part], compiled),
        batch_chunks(n, per_image * kh * kw * c * dtype.itemsize))
    return gx


class Conv2D(Op):
    """Cross-correlation of NHWC images with an HWIO kernel, plus an optional bias and relu.

    The batch is cut into chunks of a few MB of columns (``window.batch_chunks``), shared
    by the worker threads (``backend.threads``); per chunk, forward builds its columns
    (im2col, with a column of ones meeting the bias) and multiplies them by the kernel, then
    applies relu in place; backward masks the chunk's gradient by relu once, rebuilds its
    columns for the kernel and bias gradients (one GEMM, partial sums added at the end) and
    sends the gradient back to the input (one GEMM and col2im). Nothing batch-sized is kept
    but the input and output themselves. With numba and one input channel at stride 1 (a
    grayscale first layer), each chunk is a direct compiled loop instead, without columns.

    ``tests/ops/conv_reference.py`` holds its slow, loop-by-loop twin; the fused bias and
    relu are tested against ``add`` and ``relu``, the compiled loops against NumPy.
    """

    xp = None

    def __init__(self, strides, padding, dilation_rate, relu=False, has_bias=False,
                 has_residual=False):
        self.strides, self.padding = pair(strides, "strides"), padding
        self.dilation = pair(dilation_rate, "dilation_rate")
        self.relu = bool(relu)
        self.has_bias, self.has_residual = has_bias, has_residual

    def forward(self, x, kernel, *rest):
        bias = rest[0] if self.has_bias else None
        residual = rest[-1] if self.has_residual else None
        _check(x, kernel, "conv2d", "(kh, kw, in_channels, out_channels)")
        n, o = x.shape[0], kernel.shape[-1]
        if bias is not None and bias.shape != (o,):
            raise ValueError(f"conv2d: the bias must have one value per output channel, shape "
                             f"({o},). Received: bias.shape={bias.shape}")
        window = SlidingWindow(x.shape[1:3], kernel.shape[:2], self.strides, self.dilation,
                               self.padding)
        out = np.empty((n,) + window.out_hw + (o,), np.result_type(x, kernel, *(
            [] if bias is None else [bias])))
        if residual is not None and residual.shape != out.shape:
            raise ValueError(f"conv2d: the residual must have the output's shape {out.shape}. "
                             f"Received: residual.shape={residual.shape}")
        compiled = accel.kernels()
        self.u = None
        if compiled is not None and x.shape[-1] == 1 and self.strides == self.dilation == (1, 1):
            self._direct_forward(compiled, window, x, kernel, bias, out, residual)
        elif (x.dtype == kernel.dtype == out.dtype
              and winograd.applies(window, kernel.shape, out.dtype)):
            self.u = winograd.forward(x, kernel, bias, self.relu, out, window, residual)
        else:
            self._gemm_forward(window, x, kernel, bias, out, residual)
        if self.recording:
            self.window, self.kernel_shape = window, kernel.shape
            wants_x = self.needs_grad[1] if self.u is not None else (
                self.needs_grad[1] or self.has_bias and self.needs_grad[2])
            self.x = x if wants_x and self.xp is None else None
            self.kernel = kernel if self.needs_grad[0] else None
            self.out = out if self.relu else None
        return out

    def _direct_forward(self, compiled, window, x, kernel, bias, out, residual=None):
        """The compiled one-channel loop, chunk by chunk; keeps the padded images. The
        kernel and bias become tuples once (``one_channel_taps``), not once per chunk."""
        xp = np.ascontiguousarray(window.pad(x)[..., 0])
        taps, biases = compiled.one_channel_taps(kernel[:, :, 0], bias)
        relu_inside = self.relu and residual is None
        threads.map_chunks(
            lambda part: compiled.conv_one_channel_forward(xp[part], taps, biases, relu_inside,
                                                           out[part]),
            batch_chunks(len(x), image_bytes(out) * 2))
        if residual is not None:  # rare here (a grayscale first layer): plain NumPy after
            out += residual
            if self.relu:
                np.maximum(out, 0, out=out)
        if self.recording and any(self.needs_grad[1:]):
            self.xp, self.compiled = xp, compiled

    def _gemm_forward(self, window, x, kernel, bias, out, residual=None):
        """Per chunk: im2col and one GEMM into ``out``, plus the residual, then relu, in
        place."""
        o = kernel.shape[-1]
        weights = self._weights(kernel, bias)
        flat, per_image = out.reshape(-1, o), window.out_hw[0] * window.out_hw[1]
        residual = None if residual is None else residual.reshape(-1, o)

        def chunk(part):
            rows = flat[part.start * per_image:part.stop * per_image]
            np.matmul(window.columns(x[part], bias is not None, in_scratch=True), weights,
                      out=rows)
            if residual is not None:
                rows += residual[part.start * per_image:part.stop * per_image]
            if self.relu:
                np.maximum(rows, 0, out=rows)

        threads.map_chunks(chunk, batch_chunks(len(x), per_image * len(weights)
                                               * x.dtype.itemsize))

    @staticmethod
    def _weights(kernel, bias):
        """The kernel as a (kh·kw·in, out) matrix, with the bias as one more row."""
        weights = kernel.reshape(-1, kernel.shape[-1])
        return weights if bias is None else np.concatenate([weights, bias.reshape(1, -1)])

    def backward(self, grad):
        grads = self._winograd_backward(grad) if self.u is not None else self._gemm_backward(grad)
        if self.has_residual:  # d(relu(conv + residual)) / d residual: the masked gradient
            wants = self.needs_grad[-1]
            grads += ((grad * (self.out > 0) if self.relu else grad) if wants else None,)
        return grads

    def _gemm_backward(self, grad):
        with_bias = self.has_bias
        n, o = grad.shape[0], grad.shape[-1]
        window, per_image = self.window, self.window.out_hw[0] * self.window.out_hw[1]
        g2 = grad.reshape(-1, o)
        out2 = self.out.reshape(-1, o) if self.relu else None
        want_input = self.needs_grad[0]
        want_weights = self.x is not None
        gx = np.empty((n,) + window.image_hw + (self.kernel_shape[2],),
                      grad.dtype) if want_input else None
        compiled = accel.kernels()
        depth = int(np.prod(self.kernel_shape[:3]))

        def chunk(part):
            rows = slice(part.start * per_image, part.stop * per_image)
            g = g2[rows]
            if self.relu:
                g = np.multiply(g, out2[rows] > 0, out=scratch(g.shape, g.dtype, "masked"))
            partial = None
            if want_weights:  # (kh·kw·in [+ 1 for the bias], out)
                partial = window.columns(self.x[part], with_bias, in_scratch=True).T @ g
            if want_input:
                _input_grad_chunk(window, g, self.kernel, gx[part], compiled)
            return partial

        if self.xp is not None:  # the direct loop's kernel and bias gradients
            partials = self._direct_backward(grad)
            if want_input:
                threads.map_chunks(chunk, batch_chunks(n, per_image * (depth + o)
                                                       * grad.dtype.itemsize))
        else:
            partials = threads.map_chunks(chunk, batch_chunks(
                n, per_image * (depth + with_bias + o) * grad.dtype.itemsize))
        gk = gb = None
        if want_weights or self.xp is not None:
            both = partials[0] if len(partials) == 1 else np.sum(partials, axis=0)
            gk = both[:depth].reshape(self.kernel_shape) if self.needs_grad[1] else None
            gb = both[depth] if with_bias and self.needs_grad[2] else None
        return (gx, gk, gb) if with_bias else (gx, gk)

    def _winograd_backward(self, grad):
        gx, du, gb = winograd.backward(grad, self.out, self.x, self.u, self.window,
                                       self.needs_grad[0], self.x is not None)
        gk = winograd.kernel_gradient(du) if du is not None else None
        return (gx, gk, gb if self.needs_grad[2] else None) if self.has_bias else (gx, gk)

    def _direct_backward(self, grad):
        """The compiled one-channel loop's kernel and bias gradients, as partial sums per
        chunk: (kh·kw + 1, out) each, the bias's last."""
        kh, kw, _, o = self.kernel_shape
        grad = np.ascontiguousarray(grad)
        masked_by = self.out if self.relu else grad

        def chunk(part):
            gk, gb = np.empty((kh, kw, o), grad.dtype), np.empty(o, grad.dtype)
            self.compiled.conv_one_channel_backward(self.xp[part], grad[part],
                                                    masked_by[part], self.relu, gk, gb)
            return np.concatenate([gk.reshape(-1, o), gb[None]])

        return threads.map_chunks(chunk, batch_chunks(len(grad), image_bytes(grad) * 2))


class DepthwiseConv2D(Op):
    """Each input channel convolved with its own ``depth_multiplier`` filters, no mixing.

    Output channel ``c·depth_multiplier + m`` is channel c under filter m (TensorFlow's
    order). The work is elementwise per tap (kh·kw vectorized multiply-adds): there is no
    reduction over channels to hand to a GEMM.
    """

    def __init__(self, strides, padding, dilation_rate):
        self.strides, self.padding = pair(strides, "strides"), padding
        self.dilation = pair(dilation_rate, "dilation_rate")

    def forward(self, x, kernel):
        _check(x, kernel, "depthwise_conv2d", "(kh, kw, in_channels, depth_multiplier)")
        window = SlidingWindow(x.shape[1:3], kernel.shape[:2], self.strides, self.dilation,
                               self.padding)
        xp = window.pad(x)
        # (multiplier, kh·kw, out_w, C): per filter and tap, its channel vector repeated along
        # an output row. The elementwise loops then run along whole rows, which NumPy merges
        # into one long inner loop (a bare (C,) vector: C long, ~1.5x slower; a trailing
        # multiplier axis of length 1: one element long, 10x slower).
        taps = kernel.reshape((-1,) + kernel.shape[2:]).transpose(2, 0, 1)
        taps = np.repeat(taps[:, :, None, :], window.out_hw[1], axis=2)
        out = np.zeros((len(taps), x.shape[0]) + window.out_hw + (x.shape[3],),
                       np.result_type(x, kernel))
        scratch = np.empty_like(out[0])
        for t, where in window.taps():
            for j, filters in enumerate(taps):
                out[j] += np.multiply(xp[where], filters[t], out=scratch)
        if self.recording:
            self.window, self.kernel_shape = window, kernel.shape
            self.xp = xp if self.needs_grad[1] else None
            self.taps = taps if self.needs_grad[0] else None
        return np.moveaxis(out, 0, -1).reshape(out.shape[1:4] + (out.shape[0] * out.shape[4],))

    def backward(self, grad):
        window, (c, m) = self.window, self.kernel_shape[2:]
        g = np.moveaxis(grad.reshape(grad.shape[:3] + (c, m)), -1, 0)  # (m, N, oh, ow, C)
        g = g if m == 1 else np.ascontiguousarray(g)
        gx = gk = None
        if self.needs_grad[0]:
            gx = window.crop(window.scatter(self._input_pieces(g), (grad.shape[0], c),
                                            grad.dtype))
        if self.needs_grad[1]:
            gk = np.array([[np.einsum("nhwc,nhwc->c", self.xp[where], g[j]) for j in range(m)]
                           for _, where in window.taps()])  # (kh·kw, m, C)
            gk = gk.transpose(0, 2, 1).reshape(self.kernel_shape)
        return gx, gk

    def _input_pieces(self, g):
        """Per tap: the sum over filters j of g[j] · taps[j, t], (N, oh, ow, C).

        One buffer serves every tap: ``scatter`` adds each piece in before asking for the
        next (fresh 8 MB temporaries cost as much again in page faults)."""
        piece, term = np.empty_like(g[0]), np.empty_like(g[0])
        for t in range(self.taps.shape[1]):
            np.multiply(g[0], self.taps[0, t], out=piece)
            for j in range(1, len(g)):
                piece += np.multiply(g[j], self.taps[j, t], out=term)
            yield piece


def conv2d(x, kernel, strides=1, padding="valid", dilation_rate=1, *, bias=None,
           relu=False, residual=None):
    """2-D cross-correlation, as ``keras.ops.conv`` on channels-last images; optionally
    plus a bias and then relu, in the same op (what a ``Conv2D`` layer computes), and plus
    a residual before the relu (a ResNet block's skip connection, in inference: see
    ``models/fusion.py``).

    Args:
        x: (batch, height, width, in_channels).
        kernel: (kh, kw, in_channels, out_channels).
        strides: int or (sh, sw), default 1.
        padding: ``"valid"`` (default, no padding) or ``"same"`` (output = ceil(in / stride)).
        dilation_rate: int or (dh, dw), default 1: gaps between the kernel's taps.
        bias: None (default) or (out_channels,), added to every output pixel.
        relu: whether to apply max(·, 0) last (default False).
        residual: None (default) or an array of the output's shape, added before relu.

    Output shape: (batch, out_h, out_w, out_channels).

    Example (the lecture's vertical-edge detector):
    >>> import numpy as np
    >>> image = np.zeros((1, 6, 6, 1)); image[:, :, :3] = 10
    >>> edge = np.array([[1, 0, -1]] * 3, float).reshape(3, 3, 1, 1)
    >>> conv2d(image, edge).numpy()[0, :, :, 0]
    array([[ 0., 30., 30.,  0.],
           [ 0., 30., 30.,  0.],
           [ 0., 30., 30.,  0.],
           [ 0., 30., 30.,  0.]])
    """
    op = Conv2D(strides, padding, dilation_rate, relu, has_bias=bias is not None,
                has_residual=residual is not None)
    return op(x, kernel, *[a for a in (bias, residual) if a is not None])


def depthwise_conv2d(x, kernel, strides=1, padding="valid", dilation_rate=1):
    """Depthwise 2-D convolution, as ``keras.ops.depthwise_conv``.

    Args:
        x: (batch, height, width, in_channels).
        kernel: (kh, kw, in_channels, depth_multiplier).
        strides, padding, dilation_rate: as in :func:`conv2d`.

    Output shape: (batch, out_h, out_w, in_channels · depth_multiplier).
    """
    return DepthwiseConv2D(strides, padding, dilation_rate)(x, kernel)
