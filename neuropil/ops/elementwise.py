"""Elementwise arithmetic with NumPy broadcasting, each op's backward beside its forward."""
from __future__ import annotations

import numpy as np

from neuropil.autodiff import Op

__all__ = ["unbroadcast", "add", "subtract", "multiply", "divide", "negative", "power", "exp",
           "log", "sqrt", "square", "abs", "maximum", "minimum", "clip", "where", "log1p",
           "expm1", "sin", "cos", "cast", "stepwise"]


def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sums ``grad`` over the axes that broadcasting stretched, back down to ``shape``."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad


class Add(Op):
    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a + b

    def backward(self, grad):
        return unbroadcast(grad, self.shapes[0]), unbroadcast(grad, self.shapes[1])


class Subtract(Op):
    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a - b

    def backward(self, grad):
        gb = -unbroadcast(grad, self.shapes[1]) if self.needs_grad[1] else None
        return unbroadcast(grad, self.shapes[0]), gb


class Multiply(Op):
    def forward(self, a, b):
        if self.recording:
            self.a, self.b = a, b
        return a * b

    def backward(self, grad):
        a, b = self.a, self.b
        ga = unbroadcast(grad * b, a.shape) if self.needs_grad[0] else None
        gb = unbroadcast(grad * a, b.shape) if self.needs_grad[1] else None
        return ga, gb


class Divide(Op):
    def forward(self, a, b):
        out = a / b
        if self.recording:
            self.a_shape, self.b, self.out = a.shape, b, out
        return out

    def backward(self, grad):
        ga = unbroadcast(grad / self.b, self.a_shape) if self.needs_grad[0] else None
        gb = unbroadcast(-grad * self.out / self.b, self.b.shape) if self.needs_grad[1] else None
        return ga, gb


class Negative(Op):
    def forward(self, a):
        return -a

    def backward(self, grad):
        return (-grad,)


class Power(Op):
    """a ** b; the gradient for b exists where a > 0 (elsewhere it is taken as 0)."""

    def forward(self, a, b):
        out = a ** b
        if self.recording:
            self.a, self.b, self.out = a, b, out
        return out

    def backward(self, grad):
        a, b, out = self.a, self.b, self.out
        ga = gb = None
        if self.needs_grad[0]:
            ga = unbroadcast(grad * b * a ** (b - 1), a.shape)
        if self.needs_grad[1]:
            safe_log = np.log(np.where(a > 0, a, 1))
            gb = unbroadcast(grad * out * safe_log, b.shape)
        return ga, gb


class Exp(Op):
    def forward(self, a):
        self.out = np.exp(a)
        return self.out

    def backward(self, grad):
        return (grad * self.out,)


class Log(Op):
    def forward(self, a):
        self.a = a
        return np.log(a)

    def backward(self, grad):
        return (grad / self.a,)


class Sqrt(Op):
    def forward(self, a):
        self.out = np.sqrt(a)
        return self.out

    def backward(self, grad):
        return (grad / (2 * self.out),)


class Square(Op):
    def forward(self, a):
        self.a = a
        return a * a

    def backward(self, grad):
        return (2 * grad * self.a,)


class Abs(Op):
    def forward(self, a):
        self.a = a
        return np.abs(a)

    def backward(self, grad):
        return (grad * np.sign(self.a),)


class Log1p(Op):
    """log(1 + a), exact for tiny a where ``log(1 + a)`` would round 1 + a to 1."""

    def forward(self, a):
        self.a = a
        return np.log1p(a)

    def backward(self, grad):
        return (grad / (1 + self.a),)


class Expm1(Op):
    """e^a - 1, exact for tiny a."""

    def forward(self, a):
        self.out = np.expm1(a)
        return self.out

    def backward(self, grad):
        return (grad * (self.out + 1),)


class Sin(Op):
    def forward(self, a):
        self.a = a
        return np.sin(a)

    def backward(self, grad):
        return (grad * np.cos(self.a),)


class Cos(Op):
    def forward(self, a):
        self.a = a
        return np.cos(a)

    def backward(self, grad):
        return (-grad * np.sin(self.a),)


class Cast(Op):
    """A float tensor in another float dtype; the gradient goes back in the input's dtype."""

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)

    def forward(self, a):
        self.source = a.dtype
        return a.astype(self.dtype)

    def backward(self, grad):
        return (grad.astype(self.source),)


class Stepwise(Op):
    """A piecewise-constant function (sign, floor, ceil, round): its gradient is 0 wherever
    it exists, so backward passes zeros (TensorFlow and JAX agree); kept as an op so that a
    loss built on it still reaches the weights."""

    def __init__(self, fn):
        self.fn = fn

    def forward(self, a):
        self.shape = a.shape
        return self.fn(a)

    def backward(self, grad):
        return (np.zeros(self.shape, grad.dtype),)


class _Select(Op):
    """maximum / minimum: the gradient goes to the chosen input; ties split it evenly."""

    pick = None

    def forward(self, a, b):
        out = self.pick(a, b)
        if self.recording:
            self.a, self.b, self.out = a, b, out
        return out

    def backward(self, grad):
        from_a = (self.a == self.out).astype(grad.dtype)
        from_b = (self.b == self.out).astype(grad.dtype)
        share = grad / (from_a + from_b)
        ga = unbroadcast(share * from_a, self.a.shape) if self.needs_grad[0] else None
        gb = unbroadcast(share * from_b, self.b.shape) if self.needs_grad[1] else None
        return ga, gb


class Maximum(_Select):
    pick = staticmethod(np.maximum)


class Minimum(_Select):
    pick = staticmethod(np.minimum)


class Clip(Op):
    """Clips to [low, high]; the gradient passes only where the value was inside."""

    def __init__(self, low, high):
        self.low, self.high = low, high

    def forward(self, a):
        self.inside = (a >= self.low) & (a <= self.high)
        return np.clip(a, self.low, self.high)

    def backward(self, grad):
        return (grad * self.inside,)


class Where(Op):
    """``b`` where ``condition`` else ``c``; the condition gets no gradient."""

    def forward(self, condition, b, c):
        self.condition = condition.astype(bool)
        self.shapes = b.shape, c.shape
        return np.where(self.condition, b, c)

    def backward(self, grad):
        zero = np.zeros((), grad.dtype)
        return (None, unbroadcast(np.where(self.condition, grad, zero), self.shapes[0]),
                unbroadcast(np.where(self.condition, zero, grad), self.shapes[1]))


def add(a, b): return Add()(a, b)
def subtract(a, b): return Subtract()(a, b)
def multiply(a, b): return Multiply()(a, b)
def divide(a, b): return Divide()(a, b)
def negative(a): return Negative()(a)
def power(a, b): return Power()(a, b)
def exp(a): return Exp()(a)
def log(a): return Log()(a)
def sqrt(a): return Sqrt()(a)
def square(a): return Square()(a)
def abs(a): return Abs()(a)  # noqa: A001 - Keras's name
def maximum(a, b): return Maximum()(a, b)
def minimum(a, b): return Minimum()(a, b)
def clip(a, low, high): return Clip(low, high)(a)
def where(condition, b, c): return Where()(condition, b, c)
def log1p(a): return Log1p()(a)
def expm1(a): return Expm1()(a)
def sin(a): return Sin()(a)
def cos(a): return Cos()(a)
def cast(a, dtype): return Cast(dtype)(a)
def stepwise(a, fn): return Stepwise(fn)(a)
