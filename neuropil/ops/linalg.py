"""Matrix products: general matmul and the fused dense layer x·W + b."""
from __future__ import annotations

import numpy as np

from neuropil.autodiff import Op
from neuropil.ops.elementwise import unbroadcast

__all__ = ["matmul", "dense"]


class MatMul(Op):
    """``a @ b`` with NumPy's rules (batched, broadcast batch axes, 1-D vectors promoted)."""

    def forward(self, a, b):
        if self.recording:
            self.a, self.b = a, b
        return np.matmul(a, b)

    def backward(self, grad):
        a, b = self.a, self.b
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g = grad
        if b.ndim == 1:  # first, so that vector @ vector (a 0-d grad) becomes (1, 1)
            g = np.expand_dims(g, -1)
        if a.ndim == 1:
            g = np.expand_dims(g, -2)
        ga = gb = None
        if self.needs_grad[0]:
            ga = unbroadcast(np.matmul(g, np.swapaxes(b2, -1, -2)), a2.shape).reshape(a.shape)
        if self.needs_grad[1]:
            gb = unbroadcast(np.matmul(np.swapaxes(a2, -1, -2), g), b2.shape).reshape(b.shape)
        return ga, gb


class Dense(Op):
    """``x @ kernel + bias`` in one op, optionally followed by ReLU: one GEMM forward, two
    GEMMs and a sum backward.

    ``x`` may have any number of leading axes (..., in); they are folded into one for the
    GEMM. The bias and the ReLU are applied in place on the GEMM's output, so the layer makes
    one array instead of three. The composed twin ``relu(add(matmul(x, kernel), bias))`` is
    its test oracle.
    """

    def __init__(self, relu: bool = False):
        self.relu = relu

    def forward(self, x, kernel, bias=None):
        self.x_shape = x.shape
        x2 = x.reshape(-1, x.shape[-1])
        out = x2 @ kernel
        if bias is not None:
            out += bias
        if self.relu:
            np.maximum(out, 0, out=out)
        if self.recording:
            self.x2, self.kernel = x2, kernel
            if self.relu:
                self.out = out  # the ReLU's mask, read from the output (no extra array)
        return out.reshape(x.shape[:-1] + (kernel.shape[1],))

    def backward(self, grad):
        g2 = grad.reshape(-1, grad.shape[-1])
        if self.relu:
            g2 = g2 * (self.out > 0)
        gx = (g2 @ self.kernel.T).reshape(self.x_shape) if self.needs_grad[0] else None
        gk = self.x2.T @ g2 if self.needs_grad[1] else None
        if len(self.needs_grad) == 2:
            return gx, gk
        gb = g2.sum(axis=0) if self.needs_grad[2] else None
        return gx, gk, gb


def matmul(a, b): return MatMul()(a, b)


def dense(x, kernel, bias=None, activation=None):
    """Fused affine map ``x @ kernel + bias`` (bias optional), then ``activation``:
    ``None`` or ``"relu"`` (fused into the same op)."""
    if activation not in (None, "relu"):
        raise ValueError(f"dense: `activation` can be None or 'relu' (fused). "
                         f"Received: activation={activation!r}")
    op = Dense(relu=activation == "relu")
    return op(x, kernel) if bias is None else op(x, kernel, bias)
