"""2-D convolutions on channels-last images: conv2d, depthwise_conv2d, conv2d_transpose.

Images are (batch, height, width, channels); kernels are HWIO, (kh, kw, in, out), as in
Keras. Like Keras and TensorFlow, "convolution" here is cross-correlation: the kernel is not
flipped.

How it is fast: ``conv2d`` copies every window of the (padded) input into one matrix of
columns, (batch·out_h·out_w, kh·kw·in) ("im2col"), and multiplies it by the kernel reshaped
to (kh·kw·in, out): one GEMM. Backward reuses the saved columns for the kernel gradient (a
second GEMM); the input gradient is one GEMM per kernel tap whose result is added into a
strided slice of the padded input's gradient (kh·kw vectorized adds, never a loop over
pixels). ``SlidingWindow`` holds the geometry and is shared with ``pool.py``.

A convolution layer's bias and relu ride along (``conv2d(..., bias=, relu=True)``): the
columns get one more column of ones and the kernel one more row, the bias, so the GEMM adds
the bias and the kernel-gradient GEMM returns the bias gradient as its last row; relu runs
in place on the GEMM's output, and backward masks the incoming gradient once. Separate add
and relu ops cost LeNet-5's first layer 6 ms of its 22 ms step (each a fresh 2.4 MB array,
each way).

With numba installed (``accel.py``, ``numba_kernels.py``): a one-channel, stride-1
convolution (a grayscale first layer) runs as a direct compiled loop, without columns
(LeNet-5's first layer: 6.5 + 6 ms -> 2.9 ms a step); the input gradient is one GEMM to all
taps' products followed by a compiled col2im that adds each row where it was read from,
in batch chunks of a few MB (LeNet's second layer: 3.1 -> 1.3 ms alone). The NumPy code
stays the reference; the tests run both.

Memory: in inference (nothing recorded) the columns are built and multiplied a few MB of
images at a time, in one per-thread scratch buffer (``_scratch``) that never leaves the op;
only training keeps a whole batch's columns, for backward. Predicting LeNet-5 on batches
of 1000 needed 78 MB of columns for the first layer and 58 ms a batch; now 4 MB and 34 ms
(NumPy) or no columns and 23 ms (numba).

Measured and rejected (bench/bench_conv.py shapes): a loop of per-tap GEMMs in forward
(slower: kh·kw GEMMs with a short inner dimension), einsum on the strided window view (2-4x
slower), one GEMM to all taps' products followed by NumPy adds from strided slices (1.3-2x
slower backward: NumPy's inner loop is then only `in` long; compiled, it is the fastest), a
transposed-convolution input gradient (im2col of the padded output gradient: a larger copy
than the adds it saves), splitting the copies over threads (memory bound: <5% overall),
compiled im2col copies (numba: 1.3-2x slower than NumPy's strided copy), and the GEMM
transposed, kernel (out, K) @ columns (K, M), for LeNet's first layer (no faster, and the
output then needs a transposing copy).
"""
from __future__ import annotations

import numbers
import threading

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from neuropil.autodiff import Op
from neuropil.ops import accel

__all__ = ["conv2d", "depthwise_conv2d", "conv2d_transpose"]


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

    def pad(self, x, value=0):
        """x (N, h, w, C) inside a border of ``value``; x itself when there is no border."""
        if not any(any(p) for p in self.pads):
            return x
        (top, _), (left, _) = self.pads
        out = np.full((x.shape[0],) + self.padded_hw + x.shape[3:], value, dtype=x.dtype)
        out[:, top:top + x.shape[1], left:left + x.shape[2]] = x
        return out

    def crop(self, padded):
        """The inverse of ``pad``: the image's part of a padded array (a view)."""
        (top, _), (left, _) = self.pads
        return padded[:, top:top + self.image_hw[0], left:left + self.image_hw[1]]

    def scatter(self, pieces, batch_shape, dtype):
        """Adds each tap's piece (N, out_h, out_w, ...), given in tap order, where that tap
        read from: the adjoint of taking the slices. Returns the padded-image-sized sum.

        Each piece is used before the next is asked for, so a generator may hand out one
        buffer over and over."""
        out = np.zeros((batch_shape[0],) + self.padded_hw + tuple(batch_shape[1:]), dtype)
        for (_, where), piece in zip(self.taps(), pieces):
            if self.disjoint:
                out[where] = piece  # nothing to add to: a plain copy is faster than +=
            else:
                out[where] += piece
        return out

    def columns(self, x, ones: bool = False, scratch: bool = False):
        """im2col: (N·out_h·out_w, kh·kw·C) with columns in the kernel's (kh, kw, C) order,
        and a last column of ones when ``ones`` (the bias's partner in the GEMM).

        ``scratch``: build it in this thread's reusable buffer (the caller must be done with
        it before the next ``scratch`` call); else in a fresh array.

        With one channel the tap-major copy (one contiguous slice per tap) is ~4x faster than
        copying the 6-D window view, whose innermost run is a single number; its transpose
        is the same matrix, and BLAS takes transposed operands at no cost.
        """
        xp = self.pad(x)
        n, c = x.shape[0], x.shape[-1]
        rows = n * self.out_hw[0] * self.out_hw[1]
        depth = self.kernel_hw[0] * self.kernel_hw[1] * c
        if c == 1:
            tap_major = _empty((depth + ones, n) + self.out_hw, x.dtype, scratch)
            for t, where in self.taps():
                tap_major[t] = xp[where][..., 0]
            if ones:
                tap_major[depth] = 1
            return tap_major.reshape(-1, rows).T
        (sh, sw), (dh, dw) = self.strides, self.dilation
        spans = [(k - 1) * d + 1 for k, d in zip(self.kernel_hw, self.dilation)]
        view = sliding_window_view(xp, spans, axis=(1, 2))  # (N, h', w', C, span_h, span_w)
        view = view[:, ::sh, ::sw, :, ::dh, ::dw].transpose(0, 1, 2, 4, 5, 3)
        cols = _empty((rows, depth + ones), x.dtype, scratch)
        np.copyto(cols[:, :depth].reshape(view.shape), view)
        if ones:
            cols[:, depth] = 1
        return cols


# Per thread, one reusable buffer per purpose, for arrays that never leave the op that fills
# them (inference columns, col2im chunks): the same few MB every call instead of fresh arrays
# whose pages the kernel must fault in again (~1 ms per 2.4 MB on a small VM). Per thread, so
# two threads predicting at once never share one. It grows to the largest request (bounded
# by CHUNK_BYTES, plus one image's worth when a single image is larger) and is kept.
_scratch = threading.local()
CHUNK_BYTES = 4 << 20  # columns built at a time in inference; fits the L3 cache


def _empty(shape, dtype, scratch: bool = False, purpose: str = "columns"):
    """np.empty(shape, dtype), or a view of this thread's scratch buffer for ``purpose``."""
    if not scratch:
        return np.empty(shape, dtype)
    size = int(np.prod(shape)) * np.dtype(dtype).itemsize
    buffers = _scratch.__dict__.setdefault("buffers", {})
    buffer = buffers.get(purpose)
    if buffer is None or buffer.size < size:
        buffer = buffers[purpose] = np.empty(size, np.uint8)
    return buffer[:size].view(dtype).reshape(shape)


def _chunks(n: int, bytes_per_image: int):
    """Batch slices of about CHUNK_BYTES of work each (at least one image)."""
    step = max(1, CHUNK_BYTES // max(bytes_per_image, 1))
    return [slice(start, min(start + step, n)) for start in range(0, n, step)]


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
    product = np.empty((g2.shape[0], c), np.result_type(g2, kernel))
    for tap in kernel.reshape(kh * kw, c, o):
        yield np.matmul(g2, tap.T, out=product).reshape(shape)


def _conv_input_grad(window, g2, kernel, n: int):
    """The input's gradient of ``conv(x, kernel)`` (N, h, w, in), given the output's as
    (M, out): compiled col2im when numba is available, else per-tap GEMMs and adds."""
    kh, kw, c, o = kernel.shape
    dtype = np.result_type(g2, kernel)
    compiled = accel.kernels()
    if compiled is None:
        shape = (n,) + window.out_hw + (c,)
        return window.crop(window.scatter(_tap_products(g2, kernel, shape), (n, c), dtype))
    gx = np.empty((n,) + window.image_hw + (c,), dtype)
    products = kernel.reshape(-1, o).T  # (out, kh·kw·in)
    per_image = window.out_hw[0] * window.out_hw[1]
    (top, _), (left, _) = window.pads
    for part in _chunks(n, per_image * kh * kw * c * dtype.itemsize):
        rows = g2[part.start * per_image:part.stop * per_image]
        dcols = np.matmul(rows, products, out=_empty((len(rows), kh * kw * c), dtype, True,
                                                       "col2im"))
        compiled.col2im(dcols, kh, kw, *window.strides, *window.dilation, top, left,
                        *window.out_hw, gx[part])
    return gx


class Conv2D(Op):
    """Cross-correlation of NHWC images with an HWIO kernel, plus an optional bias and relu:
    im2col + one GEMM (with numba and one input channel: a direct compiled loop).

    Saves the columns (direct loop: the padded image) when the kernel or bias wants a
    gradient, the kernel when the input does, and the output for relu's mask.
    ``tests/ops/conv_reference.py`` holds its slow, loop-by-loop twin; the fused bias and
    relu are tested against ``add`` and ``relu``, the compiled loops against NumPy.
    """

    cols = xp = None

    def __init__(self, strides, padding, dilation_rate, relu=False):
        self.strides, self.padding = pair(strides, "strides"), padding
        self.dilation = pair(dilation_rate, "dilation_rate")
        self.relu = bool(relu)

    def forward(self, x, kernel, bias=None):
        _check(x, kernel, "conv2d", "(kh, kw, in_channels, out_channels)")
        n, o = x.shape[0], kernel.shape[-1]
        if bias is not None and bias.shape != (o,):
            raise ValueError(f"conv2d: the bias must have one value per output channel, shape "
                             f"({o},). Received: bias.shape={bias.shape}")
        window = SlidingWindow(x.shape[1:3], kernel.shape[:2], self.strides, self.dilation,
                               self.padding)
        out = np.empty((n,) + window.out_hw + (o,), np.result_type(x, kernel, *(
            [] if bias is None else [bias])))
        keep = self.recording and any(self.needs_grad[1:])  # columns or image, for backward
        compiled = accel.kernels()
        if compiled is not None and x.shape[-1] == 1 and self.strides == self.dilation == (1, 1):
            xp = np.ascontiguousarray(window.pad(x)[..., 0])
            compiled.conv_one_channel_forward(
                xp, np.ascontiguousarray(kernel[:, :, 0]),
                np.zeros(o, out.dtype) if bias is None else bias, self.relu, out)
            self.xp, self.compiled = (xp, compiled) if keep else (None, None)
        else:
            self.cols = self._gemm(window, x, kernel, bias, out, keep)
        if self.recording:
            self.window, self.batch, self.kernel_shape = window, n, kernel.shape
            self.kernel = kernel if self.needs_grad[0] else None
            self.out = out if self.relu else None
        return out

    def _gemm(self, window, x, kernel, bias, out, keep):
        """im2col and one GEMM into ``out``; returns the columns when ``keep``."""
        o, ones = kernel.shape[-1], bias is not None
        weights = kernel.reshape(-1, o)
        if ones:  # the row that meets the columns' ones
            weights = np.concatenate([weights, bias.reshape(1, o)])
        flat = out.reshape(-1, o)
        if keep:
            cols = window.columns(x, ones)
            np.matmul(cols, weights, out=flat)
        else:  # nothing to keep: a few MB of columns at a time, in a reused buffer
            cols, per_image = None, window.out_hw[0] * window.out_hw[1]
            for part in _chunks(x.shape[0], per_image * len(weights) * x.dtype.itemsize):
                np.matmul(window.columns(x[part], ones, scratch=True), weights,
                          out=flat[part.start * per_image:part.stop * per_image])
        if self.relu:
            np.maximum(out, 0, out=out)
        return cols

    def backward(self, grad):
        gx = gk = gb = None
        with_bias = len(self.needs_grad) == 3
        if self.xp is not None:  # the direct loop's kernel and bias gradients
            gk = np.empty(self.kernel_shape[:2] + self.kernel_shape[3:], grad.dtype)
            gb = np.empty(self.kernel_shape[3], grad.dtype)
            self.compiled.conv_one_channel_backward(self.xp, np.ascontiguousarray(grad),
                                                    self.out if self.relu else grad,
                                                    self.relu, gk, gb)
            gk = gk.reshape(self.kernel_shape) if self.needs_grad[1] else None
            gb = gb if with_bias and self.needs_grad[2] else None
            if not self.needs_grad[0]:
                return (gx, gk, gb) if with_bias else (gx, gk)
        g2 = grad.reshape(-1, grad.shape[-1])
        if self.relu:
            g2 = g2 * (self.out.reshape(g2.shape) > 0)
        if self.needs_grad[0]:
            gx = _conv_input_grad(self.window, g2, self.kernel, self.batch)
        if self.cols is not None:
            both = self.cols.T @ g2  # (kh·kw·in [+ 1 for the bias], out)
            depth = int(np.prod(self.kernel_shape[:3]))
            gk = both[:depth].reshape(self.kernel_shape) if self.needs_grad[1] else None
            gb = both[depth] if with_bias and self.needs_grad[2] else None
        return (gx, gk, gb) if with_bias else (gx, gk)


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
        return np.moveaxis(out, 0, -1).reshape(out.shape[1:4] + (-1,))

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


class Conv2DTranspose(Op):
    """The adjoint of conv2d: every input pixel stamps the kernel, scaled, onto the output.

    Kernel (kh, kw, out_channels, in_channels), as Keras. Computed as conv2d's input
    gradient (per-tap GEMMs added into strided slices) over the "full" output of length
    (n - 1)·s + span, span = (k - 1)·d + 1, which Keras then trims or extends with zeros:

    - ``"valid"``: nothing trimmed at the start; length (n - 1)·s + span + output_padding,
      output_padding defaulting to max(span, s) - span (so the result is (n - 1)·s +
      max(span, s)).
    - ``"same"``: length n·s by default, (n - 1)·s + span % 2 + output_padding when
      output_padding is given. The start is trimmed by span - 1 - left, where left, the
      padding JAX would put before the stretched input, is half of the total padding
      (rounded up) but at most span - 1; the total padding is s + span - 2 by default, else
      span + span % 2 - 2 + output_padding. This is exactly TensorFlow's rule too: the
      trimmed amount equals the padding that a 'same' conv2d from this output back to the
      input would put before it.

    Backward is conv2d itself: the input gradient is conv2d of the (un-trimmed) output
    gradient with the same kernel, the kernel gradient one GEMM on its columns.
    """

    def __init__(self, strides, padding, output_padding, dilation_rate):
        self.strides, self.dilation = pair(strides, "strides"), pair(dilation_rate, "dilation_rate")
        self.padding = padding.lower() if isinstance(padding, str) else padding
        if self.padding not in ("valid", "same"):
            raise ValueError(f"`padding` must be 'valid' or 'same'. Received: padding={padding!r}")
        self.output_padding = (None if output_padding is None
                               else pair(output_padding, "output_padding", low=0))

    def _trim(self, n: int, k: int, axis: int):
        """(start, length) of the kept part of the full output along one spatial axis."""
        s, d = self.strides[axis], self.dilation[axis]
        extra = None if self.output_padding is None else self.output_padding[axis]
        span = (k - 1) * d + 1
        if self.padding == "valid":
            extra = max(span, s) - span if extra is None else extra
            return 0, (n - 1) * s + span + extra
        total = s + span - 2 if extra is None else span + span % 2 - 2 + extra
        length = n * s if extra is None else (n - 1) * s + span % 2 + extra
        return span - 1 - min(-(-total // 2), span - 1), length

    def forward(self, x, kernel):
        _check(x, kernel, "conv2d_transpose", "(kh, kw, out_channels, in_channels)",
               channel_axis=3)
        n, h, w, _ = x.shape
        kh, kw, o, _ = kernel.shape
        full_hw = tuple((m - 1) * s + (k - 1) * d + 1 for m, k, s, d in
                        zip((h, w), (kh, kw), self.strides, self.dilation))
        window = SlidingWindow(full_hw, (kh, kw), self.strides, self.dilation, "valid")
        full = _conv_input_grad(window, x.reshape(-1, x.shape[-1]), kernel, n)
        (top, out_h), (left, out_w) = self._trim(h, kh, 0), self._trim(w, kw, 1)
        out = np.zeros((n, out_h, out_w, o), full.dtype)
        # The kept part of the full output; past its end Keras's output continues with zeros.
        self.kept = (slice(None), slice(0, min(out_h, full_hw[0] - top)),
                     slice(0, min(out_w, full_hw[1] - left)))
        self.from_full = (slice(None), slice(top, top + out_h), slice(left, left + out_w))
        out[self.kept] = full[self.from_full]
        if self.recording:
            self.window, self.full_shape = window, (n,) + full_hw + (o,)
            self.x2 = x.reshape(-1, x.shape[-1]) if self.needs_grad[1] else None
            self.kernel = kernel if self.needs_grad[0] else None
            self.kernel_shape, self.x_shape = kernel.shape, x.shape
        return out

    def backward(self, grad):
        g_full = np.zeros(self.full_shape, grad.dtype)
        g_full[self.from_full] = grad[self.kept]
        cols = self.window.columns(g_full)  # (N·h·w, kh·kw·out)
        gx = gk = None
        if self.needs_grad[0]:
            gx = (cols @ self.kernel.reshape(-1, self.kernel_shape[-1])).reshape(self.x_shape)
        if self.needs_grad[1]:
            gk = (cols.T @ self.x2).reshape(self.kernel_shape)
        return gx, gk


def conv2d(x, kernel, strides=1, padding="valid", dilation_rate=1, *, bias=None,
           relu=False):
    """2-D cross-correlation, as ``keras.ops.conv`` on channels-last images; optionally
    plus a bias and then relu, in the same op (what a ``Conv2D`` layer computes).

    Args:
        x: (batch, height, width, in_channels).
        kernel: (kh, kw, in_channels, out_channels).
        strides: int or (sh, sw), default 1.
        padding: ``"valid"`` (default, no padding) or ``"same"`` (output = ceil(in / stride)).
        dilation_rate: int or (dh, dw), default 1: gaps between the kernel's taps.
        bias: None (default) or (out_channels,), added to every output pixel.
        relu: whether to apply max(·, 0) last (default False).

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
    op = Conv2D(strides, padding, dilation_rate, relu)
    return op(x, kernel) if bias is None else op(x, kernel, bias)


def depthwise_conv2d(x, kernel, strides=1, padding="valid", dilation_rate=1):
    """Depthwise 2-D convolution, as ``keras.ops.depthwise_conv``.

    Args:
        x: (batch, height, width, in_channels).
        kernel: (kh, kw, in_channels, depth_multiplier).
        strides, padding, dilation_rate: as in :func:`conv2d`.

    Output shape: (batch, out_h, out_w, in_channels · depth_multiplier).
    """
    return DepthwiseConv2D(strides, padding, dilation_rate)(x, kernel)


def conv2d_transpose(x, kernel, strides=1, padding="valid", output_padding=None,
                     dilation_rate=1):
    """Transposed 2-D convolution, as ``keras.ops.conv_transpose`` on channels-last images.

    Args:
        x: (batch, height, width, in_channels).
        kernel: (kh, kw, out_channels, in_channels) (Keras's Conv2DTranspose layout).
        strides: int or (sh, sw), default 1: the upsampling factor.
        padding: ``"valid"`` or ``"same"``; with ``"same"`` and no output_padding the output
            is exactly ``strides`` times the input.
        output_padding: None, int or (ph, pw): extra rows / columns at the end.
        dilation_rate: int or (dh, dw), default 1.

    Output shape: (batch, out_h, out_w, out_channels); see ``Conv2DTranspose`` for the sizes.
    """
    return Conv2DTranspose(strides, padding, output_padding, dilation_rate)(x, kernel)
