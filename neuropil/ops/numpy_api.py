"""``keras.ops``, NumPy part: elementwise math, comparisons, reductions, linear algebra.

Thin wrappers with Keras's names, argument names and defaults over the engine ops in
``elementwise``, ``reduce`` and ``linalg``: each converts its arguments (``core_api``'s dtype
rules) and calls one op, or a few, so every function here has a gradient without a backward
of its own. Comparisons, ``arg*`` and other integer- or bool-valued results are constants:
nothing flows back through them. Shape and creation functions live in ``shape_api``.

Example:
>>> from neuropil import ops
>>> ops.mean(ops.square(ops.subtract([1.0, 2.0], [0.0, 0.0]))).numpy()
array(2.5, dtype=float32)
"""
from __future__ import annotations

import builtins
import math
import string

import numpy as np

from neuropil.ops import activations, elementwise as ew, linalg, reduce as rd
from neuropil.ops.core_api import as_operand, cast, constant, floating, operands
from neuropil.ops.shape_api import ravel, reshape, squeeze, take_along_axis

__all__ = [
    "add", "subtract", "multiply", "divide", "true_divide", "divide_no_nan", "floor_divide",
    "mod", "nan_to_num",
    "negative", "power", "square", "sqrt", "rsqrt", "reciprocal", "exp", "exp2", "log",
    "log2", "log10", "log1p", "expm1", "logaddexp", "abs", "absolute", "sign", "round",
    "floor", "ceil", "trunc", "maximum", "minimum", "clip", "where", "sin", "cos", "tan",
    "sinh", "cosh", "tanh", "erf",
    "equal", "not_equal", "greater", "greater_equal", "less", "less_equal", "logical_and",
    "logical_or", "logical_xor", "logical_not", "isnan", "isfinite", "isinf", "isclose",
    "sum", "mean", "max", "min", "amax", "amin", "prod", "var", "std", "average", "argmax",
    "argmin", "argsort", "sort", "top_k", "in_top_k", "cumsum", "logsumexp", "all", "any",
    "count_nonzero",
    "matmul", "dot", "tensordot", "einsum", "outer", "trace", "norm"]


# ---- arithmetic ------------------------------------------------------------------------
def add(x1, x2): return ew.add(*operands(x1, x2))
def subtract(x1, x2): return ew.subtract(*operands(x1, x2))
def multiply(x1, x2): return ew.multiply(*operands(x1, x2))


def divide(x1, x2):
    """x1 / x2; two integer inputs give floatx, as in Keras (NumPy would give float64)."""
    x1, x2 = operands(x1, x2)
    if x1.dtype.kind in "biu" and x2.dtype.kind in "biu":
        x1, x2 = floating(x1), floating(x2)
    return ew.divide(x1, x2)


def true_divide(x1, x2): return divide(x1, x2)


def divide_no_nan(x1, x2):
    """x1 / x2, and 0 where x2 is 0 (no inf, no nan, no gradient there)."""
    x1, x2 = operands(floating(x1), floating(x2))
    zero = np.asarray(x2) == 0
    quotient = ew.divide(x1, ew.where(zero, np.ones((), x2.dtype), x2))
    return ew.where(zero, np.zeros((), quotient.dtype), quotient)


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """NaN and infinities replaced by finite numbers (the largest float by default); the
    gradient passes where x was finite."""
    x = as_operand(x)
    values = np.asarray(x)
    if values.dtype.kind != "f":
        return x
    finite = np.isfinite(values)
    replaced = np.nan_to_num(values, nan=nan, posinf=posinf, neginf=neginf)
    return ew.where(finite, x, np.where(finite, 0, replaced).astype(values.dtype))


def floor_divide(x1, x2):
    """x1 // x2 (no gradient: piecewise constant)."""
    x1, x2 = operands(x1, x2)
    return constant(np.floor_divide(np.asarray(x1), np.asarray(x2)))


def mod(x1, x2):
    """The remainder with the divisor's sign, as NumPy; not differentiated."""
    x1, x2 = operands(x1, x2)
    return constant(np.mod(np.asarray(x1), np.asarray(x2)))


def negative(x): return ew.negative(as_operand(x))
def power(x1, x2): return ew.power(*operands(x1, x2))
def square(x): return ew.square(as_operand(x))
def sqrt(x): return ew.sqrt(floating(x))
def rsqrt(x): return ew.divide(1.0, ew.sqrt(floating(x)))
def reciprocal(x): return ew.divide(1.0, floating(x))
def exp(x): return ew.exp(floating(x))
def exp2(x): return ew.exp(ew.multiply(floating(x), math.log(2.0)))
def log(x): return ew.log(floating(x))
def log2(x): return ew.multiply(ew.log(floating(x)), 1.0 / math.log(2.0))
def log10(x): return ew.multiply(ew.log(floating(x)), 1.0 / math.log(10.0))
def log1p(x): return ew.log1p(floating(x))
def expm1(x): return ew.expm1(floating(x))


def logaddexp(x1, x2):
    """log(e^x1 + e^x2) without overflow: max + log1p(e^-|x1 - x2|)."""
    x1, x2 = operands(floating(x1), floating(x2))
    gap = ew.abs(ew.subtract(x1, x2))
    return ew.add(ew.maximum(x1, x2), ew.log1p(ew.exp(ew.negative(gap))))


def abs(x): return ew.abs(as_operand(x))  # noqa: A001 - Keras's name
def absolute(x): return abs(x)
def sign(x): return ew.stepwise(as_operand(x), np.sign)


def round(x, decimals=0):  # noqa: A001 - Keras's name
    """Rounds half to even, as NumPy; the gradient is 0 (piecewise constant)."""
    return ew.stepwise(as_operand(x), lambda a: np.round(a, decimals))


def floor(x): return ew.stepwise(floating(x), np.floor)
def ceil(x): return ew.stepwise(floating(x), np.ceil)
def trunc(x): return ew.stepwise(as_operand(x), np.trunc)
def maximum(x1, x2): return ew.maximum(*operands(x1, x2))
def minimum(x1, x2): return ew.minimum(*operands(x1, x2))


def clip(x, x_min, x_max):
    """x limited to [x_min, x_max]; the gradient passes where x was inside."""
    x = as_operand(x)
    return ew.clip(x, np.asarray(operands(x, x_min)[1]), np.asarray(operands(x, x_max)[1]))


def where(condition, x1=None, x2=None):
    """``x1`` where ``condition`` else ``x2``; with neither, the indices where it holds."""
    if x1 is None and x2 is None:
        return tuple(constant(i.astype(np.int32)) for i in np.nonzero(np.asarray(condition)))
    if x1 is None or x2 is None:
        raise ValueError("where: give both x1 and x2, or neither. "
                         f"Received: x1={x1!r}, x2={x2!r}")
    return ew.where(as_operand(condition), *operands(x1, x2))


def sin(x): return ew.sin(floating(x))
def cos(x): return ew.cos(floating(x))
def tan(x): return ew.divide(ew.sin(floating(x)), ew.cos(floating(x)))


def sinh(x):
    x = floating(x)
    return ew.multiply(ew.subtract(ew.exp(x), ew.exp(ew.negative(x))), 0.5)


def cosh(x):
    x = floating(x)
    return ew.multiply(ew.add(ew.exp(x), ew.exp(ew.negative(x))), 0.5)


def tanh(x): return activations.tanh(floating(x))
def erf(x): return activations.erf_op(floating(x))


# ---- comparisons and logic: constants ---------------------------------------------------
def _compare(fn, name):
    def compare(x1, x2):
        x1, x2 = operands(x1, x2)
        return constant(fn(np.asarray(x1), np.asarray(x2)))
    compare.__name__ = compare.__qualname__ = name
    compare.__doc__ = f"Elementwise ``{fn.__name__}``, as a bool tensor (no gradient)."
    return compare


equal = _compare(np.equal, "equal")
not_equal = _compare(np.not_equal, "not_equal")
greater = _compare(np.greater, "greater")
greater_equal = _compare(np.greater_equal, "greater_equal")
less = _compare(np.less, "less")
less_equal = _compare(np.less_equal, "less_equal")
logical_and = _compare(np.logical_and, "logical_and")
logical_or = _compare(np.logical_or, "logical_or")
logical_xor = _compare(np.logical_xor, "logical_xor")
def logical_not(x): return constant(np.logical_not(np.asarray(x)))
def isnan(x): return constant(np.isnan(np.asarray(x)))
def isfinite(x): return constant(np.isfinite(np.asarray(x)))
def isinf(x): return constant(np.isinf(np.asarray(x)))


def isclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    return constant(np.isclose(np.asarray(x1), np.asarray(x2), rtol, atol, equal_nan))


# ---- reductions -------------------------------------------------------------------------
def sum(x, axis=None, keepdims=False): return rd.sum(as_operand(x), axis, keepdims)  # noqa: A001
def mean(x, axis=None, keepdims=False): return rd.mean(floating(x), axis, keepdims)


def max(x, axis=None, keepdims=False, initial=None):  # noqa: A001 - Keras's name
    """The largest value (over ``axis``), at least ``initial`` if given; ties share the
    gradient."""
    out = rd.max(as_operand(x), axis, keepdims)
    return out if initial is None else maximum(out, initial)


def min(x, axis=None, keepdims=False, initial=None):  # noqa: A001 - Keras's name
    out = rd.min(as_operand(x), axis, keepdims)
    return out if initial is None else minimum(out, initial)


def amax(x, axis=None, keepdims=False): return max(x, axis, keepdims)
def amin(x, axis=None, keepdims=False): return min(x, axis, keepdims)


def prod(x, axis=None, keepdims=False, dtype=None):
    x = as_operand(x) if dtype is None else cast(x, dtype)
    return rd.prod(x, axis, keepdims)


def var(x, axis=None, keepdims=False):
    """The biased variance (divides by n), mean of squared deviations."""
    x = floating(x)
    deviation = ew.subtract(x, rd.mean(x, axis, keepdims=True))
    return rd.mean(ew.square(deviation), axis, keepdims)


def std(x, axis=None, keepdims=False): return ew.sqrt(var(x, axis, keepdims))


def average(x, axis=None, weights=None):
    """The mean, or Σ x·w / Σ w with ``weights`` (1-D along ``axis``, or shaped like x)."""
    if weights is None:
        return mean(x, axis)
    x, weights = operands(floating(x), weights)
    if weights.ndim == 1 and x.ndim > 1 and axis is not None:
        weights = reshape(weights, [-1 if i == axis % x.ndim else 1 for i in range(x.ndim)])
    spread = ew.multiply(weights, np.ones(x.shape, dtype=x.dtype))
    return ew.divide(rd.sum(ew.multiply(x, spread), axis), rd.sum(spread, axis))


def argmax(x, axis=None, keepdims=False):
    """Index of the largest value (int32, no gradient); the first one on ties."""
    return constant(np.argmax(np.asarray(x), axis=axis, keepdims=keepdims).astype(np.int32))


def argmin(x, axis=None, keepdims=False):
    return constant(np.argmin(np.asarray(x), axis=axis, keepdims=keepdims).astype(np.int32))


def argsort(x, axis=-1):
    """The indices that sort ``x`` along ``axis`` (stable; int32, no gradient)."""
    return constant(np.argsort(np.asarray(x), axis=axis, kind="stable").astype(np.int32))


def sort(x, axis=-1):
    """Sorted along ``axis``; each value's gradient goes back to where it came from."""
    x = as_operand(x)
    if axis is None:
        x, axis = ravel(x), -1
    return take_along_axis(x, np.argsort(np.asarray(x), axis=axis, kind="stable"), axis)


def top_k(x, k, sorted=True):  # noqa: A002 - Keras's name
    """The ``k`` largest values along the last axis and their indices (int32)."""
    x = as_operand(x)
    indices = np.argsort(-np.asarray(x), axis=-1, kind="stable")[..., :k]
    return take_along_axis(x, indices, -1), constant(indices.astype(np.int32))


def in_top_k(targets, predictions, k):
    """Whether each target index is among the ``k`` largest predictions of its row."""
    predictions, targets = np.asarray(predictions), np.asarray(targets).astype(np.int64)
    chosen = np.take_along_axis(predictions, targets[:, None], axis=-1)
    return constant((predictions > chosen).sum(axis=-1) < k)


def cumsum(x, axis=None, dtype=None):
    x = as_operand(x)
    if dtype is not None or x.dtype == bool:
        x = cast(x, dtype or "int32")
    return rd.cumsum(x, axis)


def logsumexp(x, axis=None, keepdims=False): return rd.logsumexp(floating(x), axis, keepdims)


def all(x, axis=None, keepdims=False):  # noqa: A001 - Keras's name
    return constant(np.all(np.asarray(x), axis=axis, keepdims=keepdims))


def any(x, axis=None, keepdims=False):  # noqa: A001 - Keras's name
    return constant(np.any(np.asarray(x), axis=axis, keepdims=keepdims))


def count_nonzero(x, axis=None):
    return constant(np.asarray(np.count_nonzero(np.asarray(x), axis=axis), dtype=np.int32))


# ---- linear algebra ---------------------------------------------------------------------
def matmul(x1, x2): return linalg.matmul(*operands(x1, x2))


def einsum(subscripts, *operands_, **kwargs):
    """``np.einsum`` with a gradient for every operand (any subscripts, ``...`` included)."""
    return linalg.einsum(subscripts, *[as_operand(o) for o in operands_])


def tensordot(x1, x2, axes=2):
    """Sums the products over ``axes``: an int N (last N of x1 with first N of x2) or a
    pair of axis lists."""
    x1, x2 = operands(x1, x2)
    if isinstance(axes, int):
        a_axes, b_axes = list(range(x1.ndim - axes, x1.ndim)), list(range(axes))
    else:
        a_axes, b_axes = ([a] if isinstance(a, int) else list(a) for a in axes)
    a_axes = [a % x1.ndim for a in a_axes]
    b_axes = [b % x2.ndim for b in b_axes]
    letters = iter(string.ascii_letters)
    a_terms = [next(letters) for _ in range(x1.ndim)]
    b_terms = [next(letters) for _ in range(x2.ndim)]
    for a, b in zip(a_axes, b_axes):
        b_terms[b] = a_terms[a]
    out = [t for i, t in enumerate(a_terms) if i not in a_axes] + \
          [t for i, t in enumerate(b_terms) if i not in b_axes]
    return linalg.einsum("".join(a_terms) + "," + "".join(b_terms) + "->" + "".join(out),
                         x1, x2)


def dot(x1, x2):
    """NumPy's dot: a product with scalars, else the sum over the last axis of x1 and the
    second-to-last of x2 (the only one if x2 is 1-D)."""
    x1, x2 = operands(x1, x2)
    if x1.ndim == 0 or x2.ndim == 0:
        return ew.multiply(x1, x2)
    return tensordot(x1, x2, axes=([x1.ndim - 1], [builtins.max(x2.ndim - 2, 0)]))


def outer(x1, x2): return linalg.einsum("i,j->ij", ravel(x1), ravel(x2))


def trace(x, offset=0, axis1=0, axis2=1):
    """The sum along a diagonal of the (axis1, axis2) matrices."""
    from neuropil.ops.shape_api import moveaxis
    x = moveaxis(as_operand(x), (axis1, axis2), (-2, -1))
    x = x[..., :, offset:] if offset >= 0 else x[..., -offset:, :]
    n = builtins.min(x.shape[-2], x.shape[-1])
    return linalg.einsum("...ii->...", x[..., :n, :n])


def norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002 - Keras's name
    """Vector norms over one axis, matrix norms over two (``np.linalg.norm``'s rules).

    Supported: vectors ``None``/2, 1, any p, inf, -inf, 0 (a count, no gradient);
    matrices ``None``/"fro", 1, -1, inf, -inf. The singular-value norms (matrix 2, -2,
    "nuc") are not differentiated here and raise.
    """
    x = floating(x)
    if axis is None:
        if ord is None:
            out = ew.sqrt(rd.sum(ew.square(x)))
            return reshape(out, (1,) * x.ndim) if keepdims else out
        axis = tuple(range(x.ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    if len(axes) == 1:
        return _vector_norm(x, ord, axes[0], keepdims)
    if len(axes) == 2:
        return _matrix_norm(x, ord, tuple(a % x.ndim for a in axes), keepdims)
    raise ValueError(f"norm: axis must be an int or a pair of ints. Received: axis={axis!r}")


def _vector_norm(x, ord, axis, keepdims):  # noqa: A002
    if ord is None or ord == 2:
        return ew.sqrt(rd.sum(ew.square(x), axis, keepdims))
    if isinstance(ord, str):
        raise ValueError(f"norm: ord={ord!r} is a matrix norm; give two axes.")
    if ord == np.inf:
        return rd.max(ew.abs(x), axis, keepdims)
    if ord == -np.inf:
        return rd.min(ew.abs(x), axis, keepdims)
    if ord == 0:
        return constant(np.sum(np.asarray(x) != 0, axis=axis, keepdims=keepdims)
                        .astype(x.dtype))
    if ord == 1:
        return rd.sum(ew.abs(x), axis, keepdims)
    return ew.power(rd.sum(ew.power(ew.abs(x), float(ord)), axis, keepdims), 1.0 / ord)


def _matrix_norm(x, ord, axes, keepdims):  # noqa: A002
    rows, cols = axes
    if ord is None or ord == "fro":
        out = ew.sqrt(rd.sum(ew.square(x), axes, keepdims=True))
    elif ord in (1, -1, np.inf, -np.inf):
        summed, other = (rows, cols) if ord in (1, -1) else (cols, rows)
        pick = rd.max if ord > 0 else rd.min
        out = pick(rd.sum(ew.abs(x), summed, keepdims=True), other, keepdims=True)
    else:
        raise NotImplementedError(f"norm(ord={ord!r}) over matrices needs singular values, "
                                  "which neuropil does not differentiate. Supported matrix "
                                  "norms: None, 'fro', 1, -1, inf, -inf.")
    return out if keepdims else squeeze(out, axes)
