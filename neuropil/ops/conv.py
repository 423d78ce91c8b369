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

Measured and rejected (bench/bench_conv.py shapes): a loop of per-tap GEMMs in forward
(slower: kh·kw GEMMs with a short inner dimension), einsum on the strided window view (2-4x
slower), one GEMM to all taps' products followed by adds from strided slices (1.3-2x slower
backward: NumPy's inner loop is then only `in` long), a transposed-convolution input
gradient (im2col of the padded output gradient: a larger copy than the adds it saves), and
splitting the copies over threads (memory bound: <5% overall).
"""
from __future__ import annotations

import numbers

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from neuropil.autodiff import Op

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

    def columns(self, x):
        """im2col: (N·out_h·out_w, kh·kw·C) with columns in the kernel's (kh, kw, C) order.

        With one channel the tap-major copy (one contiguous slice per tap) is ~4x faster than
        copying the 6-D window view, whose innermost run is a single number; its transpose
        is the same matrix, and BLAS takes transposed operands at no cost.
        """
        xp = self.pad(x)
        n, c = x.shape[0], x.shape[-1]
        rows = n * self.out_hw[0] * self.out_hw[1]
        if c == 1:
            tap_major = np.empty((self.kernel_hw[0] * self.kernel_hw[1], n) + self.out_hw + (1,),
                                 x.dtype)
            for t, where in self.taps():
                tap_major[t] = xp[where]
            return tap_major.reshape(-1, rows).T
        (sh, sw), (dh, dw) = self.strides, self.dilation
        spans = [(k - 1) * d + 1 for k, d in zip(self.kernel_hw, self.dilation)]
        view = sliding_window_view(xp, spans, axis=(1, 2))  # (N, h', w', C, span_h, span_w)
        view = view[:, ::sh, ::sw, :, ::dh, ::dw].transpose(0, 1, 2, 4, 5, 3)
        return view.reshape(rows, -1)


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
    """The padded input's gradient of ``conv(x, kernel)`` given the output's as (M, out)."""
    shape = (n,) + window.out_hw + (kernel.shape[2],)
    return window.scatter(_tap_products(g2, kernel, shape), (n, kernel.shape[2]),
                          np.result_type(g2, kernel))


class Conv2D(Op):
    """Cross-correlation of NHWC images with an HWIO kernel: im2col + one GEMM.

    Saves the columns when the kernel wants a gradient and the kernel when the input does.
    ``tests/ops/conv_reference.py`` holds its slow, loop-by-loop twin.
    """

    def __init__(self, strides, padding, dilation_rate):
        self.strides, self.padding = pair(strides, "strides"), padding
        self.dilation = pair(dilation_rate, "dilation_rate")

    def forward(self, x, kernel):
        _check(x, kernel, "conv2d", "(kh, kw, in_channels, out_channels)")
        window = SlidingWindow(x.shape[1:3], kernel.shape[:2], self.strides, self.dilation,
                               self.padding)
        cols = window.columns(x)
        out = cols @ kernel.reshape(-1, kernel.shape[-1])
        if self.recording:
            self.window, self.batch, self.kernel_shape = window, x.shape[0], kernel.shape
            self.cols = cols if self.needs_grad[1] else None
            self.kernel = kernel if self.needs_grad[0] else None
        return out.reshape((x.shape[0],) + window.out_hw + (kernel.shape[-1],))

    def backward(self, grad):
        g2 = grad.reshape(-1, grad.shape[-1])
        gx = gk = None
        if self.needs_grad[0]:
            gx = self.window.crop(_conv_input_grad(self.window, g2, self.kernel, self.batch))
        if self.needs_grad[1]:
            gk = (self.cols.T @ g2).reshape(self.kernel_shape)
        return gx, gk


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


def conv2d(x, kernel, strides=1, padding="valid", dilation_rate=1):
    """2-D cross-correlation, as ``keras.ops.conv`` on channels-last images.

    Args:
        x: (batch, height, width, in_channels).
        kernel: (kh, kw, in_channels, out_channels).
        strides: int or (sh, sw), default 1.
        padding: ``"valid"`` (default, no padding) or ``"same"`` (output = ceil(in / stride)).
        dilation_rate: int or (dh, dw), default 1: gaps between the kernel's taps.

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
    return Conv2D(strides, padding, dilation_rate)(x, kernel)


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
