"""Matrix products: general matmul, the fused dense layer x·W + b, and einsum."""
from __future__ import annotations

import string
from collections import Counter

import numpy as np

from neuropil.autodiff import Op
from neuropil.backend import threads
from neuropil.ops.elementwise import unbroadcast

__all__ = ["matmul", "dense", "einsum"]


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
        out = threads.matmul(x2, kernel)
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
        gx = threads.matmul(g2, self.kernel.T).reshape(self.x_shape) if self.needs_grad[0] \
            else None
        gk = threads.matmul(self.x2.T, g2) if self.needs_grad[1] else None
        if len(self.needs_grad) == 2:
            return gx, gk
        gb = g2.sum(axis=0) if self.needs_grad[2] else None
        return gx, gk, gb


def einsum_spec(subscripts: str, ndims) -> tuple:
    """Explicit subscripts: ``("...ij,jk", ndims (3, 2))`` -> ``(["aij", "jk"], "aik")``.

    Each operand's ``...`` becomes letters of its own (right-aligned, as broadcasting
    aligns axes) and an implicit output (no ``->``) is NumPy's: the ellipsis axes, then the
    letters used once, in alphabetical order.
    """
    text = subscripts.replace(" ", "")
    lhs, arrow, rhs = text.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ndims):
        raise ValueError(f"einsum: the subscripts {subscripts!r} name {len(terms)} operands, "
                         f"but {len(ndims)} were given.")
    free = [c for c in string.ascii_letters if c not in text]
    spans = [n - len(t.replace("...", "")) for t, n in zip(terms, ndims) if "..." in t]
    ellipsis = "".join(free[:max(spans, default=0)])

    def expand(term, ndim):
        if "..." not in term:
            return term
        width = ndim - len(term.replace("...", ""))
        return term.replace("...", ellipsis[len(ellipsis) - width:] if width else "")

    inputs = [expand(t, n) for t, n in zip(terms, ndims)]
    if arrow:
        output = rhs.replace("...", ellipsis)
    else:
        counts = Counter("".join(t.replace("...", "") for t in terms))
        output = ellipsis + "".join(sorted(c for c, k in counts.items() if k == 1))
    return inputs, output


class Einsum(Op):
    """``np.einsum`` for any subscripts. The gradient of operand i is again an einsum: of the
    output gradient with the other operands, onto operand i's letters. Letters that only
    operand i has (summed away in forward) are broadcast back, repeated letters (a diagonal,
    ``"ii->i"``) put the gradient on that diagonal, and axes broadcast from size 1 are summed.
    """

    def __init__(self, subscripts: str):
        self.subscripts = subscripts

    def forward(self, *operands):
        self.terms, self.output = einsum_spec(self.subscripts, [o.ndim for o in operands])
        out = np.einsum(",".join(self.terms) + "->" + self.output, *operands, optimize=True)
        if self.recording:
            self.operands = operands
        return np.asarray(out)

    def backward(self, grad):
        sizes = {}
        for term, operand in zip(self.terms, self.operands):
            for letter, n in zip(term, operand.shape):
                sizes[letter] = max(sizes.get(letter, 1), n)
        return tuple(self._grad(i, grad, sizes) if self.needs_grad[i] else None
                     for i in range(len(self.operands)))

    def _grad(self, i, grad, sizes):
        term, operand = self.terms[i], self.operands[i]
        others = [(t, o) for j, (t, o) in enumerate(zip(self.terms, self.operands)) if j != i]
        unique = "".join(dict.fromkeys(term))
        reachable = set(self.output).union(*[set(t) for t, _ in others])
        kept = "".join(c for c in unique if c in reachable)
        spec = ",".join([self.output] + [t for t, _ in others]) + "->" + kept
        g = np.einsum(spec, grad, *[o for _, o in others], optimize=True)
        # letters only this operand had: every entry got the same gradient
        g = np.broadcast_to(g.reshape([sizes[c] if c in kept else 1 for c in unique]),
                            [sizes[c] for c in unique])
        if len(unique) < len(term):  # a repeated letter: the gradient lives on the diagonal
            full = np.zeros([sizes[c] for c in term], grad.dtype)
            index = tuple(np.arange(sizes[c]).reshape(
                [-1 if u == c else 1 for u in unique]) for c in term)
            full[index] = g
            g = full
        squeezed = tuple(k for k, n in enumerate(operand.shape) if n == 1 and g.shape[k] != 1)
        if squeezed:
            g = g.sum(axis=squeezed, keepdims=True)
        return np.ascontiguousarray(g, dtype=grad.dtype)


def matmul(a, b): return MatMul()(a, b)
def einsum(subscripts, *operands): return Einsum(subscripts)(*operands)


def dense(x, kernel, bias=None, activation=None):
    """Fused affine map ``x @ kernel + bias`` (bias optional), then ``activation``:
    ``None`` or ``"relu"`` (fused into the same op)."""
    if activation not in (None, "relu"):
        raise ValueError(f"dense: `activation` can be None or 'relu' (fused). "
                         f"Received: activation={activation!r}")
    op = Dense(relu=activation == "relu")
    return op(x, kernel) if bias is None else op(x, kernel, bias)
