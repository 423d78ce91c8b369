"""Transposed 2-D convolution (a learnable upsampling): conv2d's adjoint, on channels-last
images, with Keras's output-size rules.

Forward is ``conv.py``'s input-gradient routine (per-tap GEMMs and col2im) over the "full"
output, then trimmed or extended to Keras's size; backward is conv2d itself.
"""
from __future__ import annotations

import numpy as np

from neuropil.autodiff import Op
from neuropil.ops.conv import _check, _conv_input_grad
from neuropil.ops.window import SlidingWindow, pair

__all__ = ["conv2d_transpose"]


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
