"""``keras.ops`` (= ``neuropil.ops``): every differentiable function against central
differences in float64 (and NumPy's forward where NumPy has the function), the rest equal to
NumPy, plus Keras's dtype rules and the message for an op neuropil lacks."""
import math

import numpy as np
import pytest

import neuropil as keras
from helpers import check_op, random_array
from neuropil import ops
from neuropil.autodiff import Tensor, no_grad

A = random_array(3, 4, seed=1)                   # (3, 4), values in [-2, 2), away from 0
B = random_array(3, 4, seed=2)
P = random_array(3, 4, seed=3, low=0.5, high=2)  # positive
V = random_array(4, seed=4)
M = random_array(4, 2, seed=5)
SQ = random_array(3, 3, seed=6)


def check(fn, *inputs, reference=None, rtol=1e-4, atol=1e-6):
    """Backward matches central differences; forward matches ``reference`` when given."""
    if reference is not None:
        out = fn(*[Tensor(x) for x in inputs])
        np.testing.assert_allclose(np.asarray(out), reference(*inputs), rtol=1e-6, atol=1e-9)
    check_op(fn, *inputs, rtol=rtol, atol=atol)


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


# ---- elementwise: (function, NumPy reference, input) -------------------------------------
UNARY = {
    "negative": (ops.negative, np.negative, A), "square": (ops.square, np.square, A),
    "sqrt": (ops.sqrt, np.sqrt, P), "rsqrt": (ops.rsqrt, lambda x: 1 / np.sqrt(x), P),
    "reciprocal": (ops.reciprocal, np.reciprocal, P), "exp": (ops.exp, np.exp, A),
    "exp2": (ops.exp2, np.exp2, A), "log": (ops.log, np.log, P), "log2": (ops.log2, np.log2, P),
    "log10": (ops.log10, np.log10, P), "log1p": (ops.log1p, np.log1p, P),
    "expm1": (ops.expm1, np.expm1, A), "abs": (ops.abs, np.abs, A),
    "absolute": (ops.absolute, np.abs, A), "sin": (ops.sin, np.sin, A),
    "cos": (ops.cos, np.cos, A), "tan": (ops.tan, np.tan, A / 2), "sinh": (ops.sinh, np.sinh, A),
    "cosh": (ops.cosh, np.cosh, A), "tanh": (ops.tanh, np.tanh, A),
    "erf": (ops.erf, np.vectorize(math.erf), A),
    "relu": (ops.relu, lambda x: np.maximum(x, 0), A),
    "relu6": (ops.relu6, lambda x: np.clip(x, 0, 6), A * 4),
    "sigmoid": (ops.sigmoid, _sigmoid, A),
    "softplus": (ops.softplus, lambda x: np.logaddexp(0, x), A),
    "softsign": (ops.softsign, lambda x: x / (1 + np.abs(x)), A),
    "silu": (ops.silu, lambda x: x * _sigmoid(x), A),
    "swish": (ops.swish, lambda x: x * _sigmoid(x), A),
    "log_sigmoid": (ops.log_sigmoid, lambda x: -np.logaddexp(0, -x), A),
    "leaky_relu": (ops.leaky_relu, lambda x: np.where(x > 0, x, 0.2 * x), A),
    "hard_sigmoid": (ops.hard_sigmoid, lambda x: np.clip(x / 6 + 0.5, 0, 1), A * 2),
    "hard_silu": (ops.hard_silu, lambda x: x * np.clip(x / 6 + 0.5, 0, 1), A * 2),
    "hard_swish": (ops.hard_swish, lambda x: x * np.clip(x / 6 + 0.5, 0, 1), A * 2),
    "elu": (ops.elu, lambda x: np.where(x > 0, x, np.expm1(x)), A),
    "selu": (ops.selu, None, A), "celu": (ops.celu, lambda x: np.maximum(x, 0) +
                                          np.expm1(np.minimum(x, 0)), A),
    "gelu": (ops.gelu, lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) *
                                                        (x + 0.044715 * x ** 3))), A),
    "gelu_exact": (lambda x: ops.gelu(x, approximate=False), None, A),
    "hard_tanh": (ops.hard_tanh, lambda x: np.clip(x, -1, 1), A),
    "tanh_shrink": (ops.tanh_shrink, lambda x: x - np.tanh(x), A),
    "glu": (ops.glu, lambda x: x[:, :2] * _sigmoid(x[:, 2:]), A),
    "softmax": (ops.softmax, _softmax, A),
    "softmax_axis0": (lambda x: ops.softmax(x, axis=0), lambda x: _softmax(x, 0), A),
    "log_softmax": (ops.log_softmax, lambda x: np.log(_softmax(x)), A),
    "clip": (lambda x: ops.clip(x, -1.0, 1.0), lambda x: np.clip(x, -1, 1), A),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary(name):
    fn, reference, x = UNARY[name]
    check(fn, x, reference=reference)


BINARY = {
    "add": (ops.add, np.add, A, B), "subtract": (ops.subtract, np.subtract, A, B),
    "multiply": (ops.multiply, np.multiply, A, V), "divide": (ops.divide, np.divide, A, P),
    "true_divide": (ops.true_divide, np.divide, A, P), "power": (ops.power, np.power, P, A),
    "maximum": (ops.maximum, np.maximum, A, B), "minimum": (ops.minimum, np.minimum, A, B),
    "logaddexp": (ops.logaddexp, np.logaddexp, A, B),
    "where": (lambda a, b: ops.where(A > 0, a, b), lambda a, b: np.where(A > 0, a, b), A, B),
    "matmul": (ops.matmul, np.matmul, A, M), "dot": (ops.dot, np.dot, A, M),
    "dot_vector": (ops.dot, np.dot, A, V), "dot_nd": (ops.dot, np.dot, A, M[None]),
    "tensordot": (lambda a, b: ops.tensordot(a, b, axes=([1], [0])),
                  lambda a, b: np.tensordot(a, b, ([1], [0])), A, M),
    "tensordot_int": (lambda a, b: ops.tensordot(a, b, axes=2),
                      lambda a, b: np.tensordot(a, b, 2), A, B),
    "outer": (ops.outer, np.outer, V, V[:3]),
    "divide_no_nan": (ops.divide_no_nan, np.divide, A, P),
}


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary(name):
    fn, reference, x1, x2 = BINARY[name]
    check(fn, x1, x2, reference=reference)


def test_divide_no_nan_gives_zero_where_the_divisor_is_zero():
    b = np.where(B > 0, B, 0.0)
    expected = np.divide(A, b, out=np.zeros_like(A), where=b != 0)
    np.testing.assert_array_equal(np.asarray(ops.divide_no_nan(A, b)), expected)
    check_op(lambda x, y: ops.divide_no_nan(x, y), A, b, wrt=[0])  # y jumps at 0


@pytest.mark.parametrize("subscripts, shapes", [
    ("ij,jk->ik", [(2, 3), (3, 4)]), ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
    ("ii->i", [(3, 3)]), ("ii", [(3, 3)]), ("ij->", [(2, 3)]), ("i,i->", [(4,), (4,)]),
    ("ij,j->i", [(3, 4), (4,)]), ("ij,jk", [(2, 3), (3, 2)]), ("ijk->kji", [(2, 3, 2)]),
    ("ij,ij->ij", [(2, 3), (2, 3)]), ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 2)]),
    ("ij,k->i", [(2, 3), (4,)]), ("...ij,...jk->...ik", [(1, 2, 3), (4, 3, 2)]),
    ("bhqd,bhkd->bhqk", [(1, 2, 3, 2), (1, 2, 2, 2)]), ("iij->j", [(2, 2, 3)]),
], ids=lambda v: v if isinstance(v, str) else "")
def test_einsum(subscripts, shapes):
    arrays = [random_array(*s, seed=i) for i, s in enumerate(shapes)]
    check(lambda *t: ops.einsum(subscripts, *t), *arrays,
          reference=lambda *a: np.einsum(subscripts, *a))


# ---- reductions ---------------------------------------------------------------------------
REDUCTIONS = {
    "sum": (ops.sum, np.sum), "mean": (ops.mean, np.mean), "max": (ops.max, np.max),
    "min": (ops.min, np.min), "amax": (ops.amax, np.amax), "amin": (ops.amin, np.amin),
    "prod": (ops.prod, np.prod), "var": (ops.var, np.var), "std": (ops.std, np.std),
    "logsumexp": (ops.logsumexp, lambda x, axis=None, keepdims=False: np.log(
        np.sum(np.exp(x), axis=axis, keepdims=keepdims))),
}


@pytest.mark.parametrize("axis, keepdims", [(None, False), (1, False), (0, True),
                                            ((0, 1), False), (-1, True)], ids=str)
@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_reduction(name, axis, keepdims):
    fn, reference = REDUCTIONS[name]
    check(lambda t: fn(t, axis=axis, keepdims=keepdims), A,
          reference=lambda x: reference(x, axis=axis, keepdims=keepdims))


def test_prod_gradient_with_a_zero():
    x = A.copy()
    x[1, 2] = 0.0  # the others' product, not prod / x
    check(lambda t: ops.prod(t, axis=1), x, reference=lambda a: np.prod(a, axis=1))


def test_max_with_initial_and_average_with_weights():
    check(lambda t: ops.max(t, axis=1, initial=1.5), A,
          reference=lambda a: np.max(a, axis=1, initial=1.5))
    w = np.array([1.0, 2.0, 3.0, 4.0])
    check(lambda t: ops.average(t, axis=1, weights=w), A,
          reference=lambda a: np.average(a, axis=1, weights=w))
    check(lambda t: ops.average(t), A, reference=np.average)


@pytest.mark.parametrize("axis", [None, 0, 1])
def test_cumsum_and_sort(axis):
    check(lambda t: ops.cumsum(t, axis=axis), A, reference=lambda a: np.cumsum(a, axis=axis))
    check(lambda t: ops.sort(t, axis=axis), A, reference=lambda a: np.sort(a, axis=axis))


def test_top_k():
    values, indices = ops.top_k(A, 2)
    np.testing.assert_array_equal(np.asarray(indices), np.argsort(-A, axis=-1)[:, :2])
    assert indices.dtype == np.int32
    check(lambda t: ops.top_k(t, 2)[0], A, reference=lambda a: -np.sort(-a, axis=-1)[:, :2])


@pytest.mark.parametrize("ord_, axis", [(None, None), (None, 1), (2, 0), (1, 1), (3, -1),
                                        (np.inf, 1), (-np.inf, 1), ("fro", (0, 1)),
                                        (1, (0, 1)), (-1, (0, 1)), (np.inf, (0, 1)),
                                        (-np.inf, (1, 0)), (None, (0, 1))], ids=str)
def test_norm(ord_, axis):
    check(lambda t: ops.norm(t, ord=ord_, axis=axis), A,
          reference=lambda a: np.linalg.norm(a, ord=ord_, axis=axis))


def test_norm_keepdims_and_unsupported():
    np.testing.assert_allclose(np.asarray(ops.norm(A, keepdims=True)),
                               np.linalg.norm(A, keepdims=True), rtol=1e-6)
    with pytest.raises(NotImplementedError, match="singular values"):
        ops.norm(A, ord="nuc")


# ---- shapes -------------------------------------------------------------------------------
SHAPES = {
    "reshape": (lambda t: ops.reshape(t, (2, 6)), lambda a: a.reshape(2, 6)),
    "reshape_newshape": (lambda t: ops.reshape(t, newshape=-1), lambda a: a.reshape(-1)),
    "transpose": (ops.transpose, np.transpose),
    "expand_dims": (lambda t: ops.expand_dims(t, (0, -1)), lambda a: a[None, ..., None]),
    "squeeze": (lambda t: ops.squeeze(ops.expand_dims(t, 1), 1), lambda a: a),
    "flip": (lambda t: ops.flip(t, 1), lambda a: np.flip(a, 1)),
    "flip_all": (ops.flip, np.flip),
    "tile": (lambda t: ops.tile(t, (2, 1, 2)), lambda a: np.tile(a, (2, 1, 2))),
    "repeat": (lambda t: ops.repeat(t, 2, axis=1), lambda a: np.repeat(a, 2, axis=1)),
    "repeat_flat": (lambda t: ops.repeat(t, 2), lambda a: np.repeat(a, 2)),
    "repeat_counts": (lambda t: ops.repeat(t, [1, 0, 2], axis=0),
                      lambda a: np.repeat(a, [1, 0, 2], axis=0)),
    "roll": (lambda t: ops.roll(t, 1, axis=1), lambda a: np.roll(a, 1, axis=1)),
    "roll_flat": (lambda t: ops.roll(t, -5), lambda a: np.roll(a, -5)),
    "pad_constant": (lambda t: ops.pad(t, ((1, 0), (2, 1)), constant_values=3.0),
                     lambda a: np.pad(a, ((1, 0), (2, 1)), constant_values=3.0)),
    "pad_reflect": (lambda t: ops.pad(t, 2, mode="reflect"), lambda a: np.pad(a, 2, "reflect")),
    "pad_symmetric": (lambda t: ops.pad(t, 1, mode="symmetric"),
                      lambda a: np.pad(a, 1, "symmetric")),
    "pad_edge": (lambda t: ops.pad(t, 1, mode="edge"), lambda a: np.pad(a, 1, "edge")),
    "pad_wrap": (lambda t: ops.pad(t, 1, mode="wrap"), lambda a: np.pad(a, 1, "wrap")),
    "tril": (lambda t: ops.tril(t, -1), lambda a: np.tril(a, -1)), "triu": (ops.triu, np.triu),
    "take": (lambda t: ops.take(t, [2, 0, 2], axis=1), lambda a: np.take(a, [2, 0, 2], 1)),
    "take_flat": (lambda t: ops.take(t, [[1, 11]]), lambda a: np.take(a, [[1, 11]])),
    "take_along_axis": (lambda t: ops.take_along_axis(t, np.argsort(A, 0), 0),
                        lambda a: np.take_along_axis(a, np.argsort(A, 0), 0)),
    "swapaxes": (lambda t: ops.swapaxes(t, 0, 1), lambda a: np.swapaxes(a, 0, 1)),
    "moveaxis": (lambda t: ops.moveaxis(ops.reshape(t, (3, 2, 2)), 0, -1),
                 lambda a: np.moveaxis(a.reshape(3, 2, 2), 0, -1)),
    "ravel": (ops.ravel, np.ravel),
    "broadcast_to": (lambda t: ops.broadcast_to(t, (2, 3, 4)),
                     lambda a: np.broadcast_to(a, (2, 3, 4))),
    "get_item": (lambda t: ops.get_item(t, (slice(1, None), 0)), lambda a: a[1:, 0]),
    "split": (lambda t: ops.concatenate(ops.split(t, [1, 3], axis=1)[::-1], axis=1),
              lambda a: np.concatenate(np.split(a, [1, 3], axis=1)[::-1], axis=1)),
    "split_sections": (lambda t: ops.split(t, 2, axis=1)[1], lambda a: np.split(a, 2, 1)[1]),
    "concatenate": (lambda t: ops.concatenate([t, t * 2.0]),
                    lambda a: np.concatenate([a, a * 2])),
    "stack": (lambda t: ops.stack([t, t], axis=1), lambda a: np.stack([a, a], axis=1)),
    "unstack": (lambda t: ops.unstack(t, axis=1)[2], lambda a: a[:, 2]),
    "slice": (lambda t: ops.slice(t, (1, 1), (2, 2)), lambda a: a[1:3, 1:3]),
    "trace": (ops.trace, np.trace), "trace_offset": (lambda t: ops.trace(t, 1),
                                                     lambda a: np.trace(a, 1)),
    "cast_keeps_gradient": (lambda t: ops.cast(t, "float64"), lambda a: a),
    "diagonal": (lambda t: ops.diagonal(t, 1), lambda a: np.diagonal(a, 1)),
    "diagonal_3d": (lambda t: ops.diagonal(ops.reshape(t, (3, 2, 2)), -1, 1, 2),
                    lambda a: np.diagonal(a.reshape(3, 2, 2), -1, 1, 2)),
    "diag_of_matrix": (lambda t: ops.diag(t, -1), lambda a: np.diag(a, -1)),
    "diag_of_vector": (lambda t: ops.diag(t[0], 2), lambda a: np.diag(a[0], 2)),
    "diag_of_vector_below": (lambda t: ops.diag(t[1], -1), lambda a: np.diag(a[1], -1)),
    "hstack": (lambda t: ops.hstack([t, t[:, :1]]), lambda a: np.hstack([a, a[:, :1]])),
    "vstack": (lambda t: ops.vstack([t, t[0]]), lambda a: np.vstack([a, a[0]])),
    "copy": (ops.copy, np.copy),
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_shape_functions(name):
    fn, reference = SHAPES[name]
    check(fn, A, reference=reference)


def test_slice_update_is_differentiable_in_both():
    update = random_array(2, 2, seed=9)
    expected = A.copy()
    expected[1:3, 1:3] = update
    check(lambda t, u: ops.slice_update(t, (1, 1), u), A, update,
          reference=lambda a, u: expected)


def test_cast_float32_gradient_comes_back_in_float64():
    x = Tensor(A, requires_grad=True)
    y = ops.cast(x, "float32")
    assert y.dtype == np.float32
    ops.sum(y).backward()
    assert x.grad.dtype == np.float64 and np.all(x.grad == 1)
    assert not ops.cast(x, "int32").requires_grad  # int has no gradient


def test_stop_gradient():
    x = Tensor(A, requires_grad=True)
    ops.sum(ops.add(x, ops.stop_gradient(ops.square(x)))).backward()
    np.testing.assert_array_equal(x.grad, np.ones_like(A))


# ---- nn -----------------------------------------------------------------------------------
IMG = random_array(1, 5, 5, 2, seed=11)
K = random_array(3, 3, 2, 2, seed=12)


@pytest.mark.parametrize("fn, args", [
    (ops.conv, dict(strides=1, padding="valid")),
    (ops.conv, dict(strides=2, padding="same")),
    (ops.conv, dict(dilation_rate=2)),
    (ops.depthwise_conv, dict(padding="same")),
    (ops.conv_transpose, dict(strides=2)),
], ids=lambda v: getattr(v, "__name__", str(v)))
def test_convolutions(fn, args):
    check(lambda x, k: fn(x, k, **args), IMG, K)


def test_conv_matches_conv2d_channels_first_and_1d():
    expected = np.asarray(ops.conv2d(IMG, K))
    first = ops.conv(IMG.transpose(0, 3, 1, 2), K, data_format="channels_first")
    np.testing.assert_allclose(np.asarray(first).transpose(0, 2, 3, 1), expected, rtol=1e-12)
    x1, k1 = IMG[:, 0], K[0]  # (1, 5, 2) and (3, 2, 2)
    reference = np.stack([sum(x1[0, i + t] @ k1[t] for t in range(3)) for i in range(3)])[None]
    check(lambda x, k: ops.conv(x, k), x1, k1, reference=lambda x, k: reference)
    check(lambda x, k: ops.conv(x, k, strides=2, padding="same"), x1, k1)
    with pytest.raises(NotImplementedError, match="1-D and 2-D"):
        ops.conv(np.zeros((1, 3, 3, 3, 1)), np.zeros((1, 1, 1, 1, 1)))


def test_separable_conv():
    pointwise = random_array(1, 1, 2, 3, seed=13)
    depthwise = K[:, :, :, :1]
    expected = ops.conv2d(ops.depthwise_conv2d(IMG, depthwise), pointwise)
    np.testing.assert_allclose(np.asarray(ops.separable_conv(IMG, depthwise, pointwise)),
                               np.asarray(expected))
    check(lambda x, d, p: ops.separable_conv(x, d, p), IMG, depthwise, pointwise)


@pytest.mark.parametrize("fn", [ops.max_pool, ops.average_pool], ids=lambda f: f.__name__)
def test_pooling(fn):
    image = np.random.default_rng(0).permutation(50).reshape(1, 5, 5, 2) / 10.0  # no ties
    check(lambda x: fn(x, 2), image)
    check(lambda x: fn(x, 3, strides=1, padding="same"), image)
    check(lambda x: fn(x, 2), image[:, 0])  # 1-D: (batch, steps, channels)
    first = fn(image.transpose(0, 3, 1, 2), 2, data_format="channels_first")
    np.testing.assert_allclose(np.asarray(first).transpose(0, 2, 3, 1), np.asarray(fn(image, 2)))


def test_batch_normalization_and_moments():
    mean, variance = V, np.abs(V) + 0.5
    offset, scale = V[::-1], V * 2
    check(lambda x, m, v, o, s: ops.batch_normalization(x, m, v, axis=1, offset=o, scale=s),
          A, mean, variance, offset, scale,
          reference=lambda x, m, v, o, s: (x - m) / np.sqrt(v + 1e-3) * s + o)
    check(lambda x: ops.moments(x, axes=[0])[0], A, reference=lambda a: a.mean(0))
    check(lambda x: ops.moments(x, axes=(0, 1), keepdims=True)[1], A,
          reference=lambda a: a.var(keepdims=True))
    mean, variance = ops.moments(keras.ops.convert_to_tensor([0, 1, 2, 3, 100],
                                                             dtype="float32"), axes=[0])
    np.testing.assert_allclose([float(mean), float(variance)], [21.2, 1553.36], rtol=1e-5)


def test_normalize():
    check(lambda x: ops.normalize(x), A,
          reference=lambda a: a / np.linalg.norm(a, axis=-1, keepdims=True))
    check(lambda x: ops.normalize(x, axis=0, order=1), A,
          reference=lambda a: a / np.abs(a).sum(0, keepdims=True))


def test_crossentropies_match_keras_formulas():
    probs = _softmax(A)
    target = _softmax(B)
    labels = np.array([0, 3, 1])
    eps = 1e-7
    check(lambda t, p: ops.categorical_crossentropy(t, p), target, probs,
          reference=lambda t, p: -(t * np.log(np.clip(p, eps, 1 - eps))).sum(-1))
    check(lambda t, z: ops.categorical_crossentropy(t, z, from_logits=True), target, A,
          reference=lambda t, z: -(t * np.log(_softmax(z))).sum(-1))
    check(lambda p: ops.sparse_categorical_crossentropy(labels, p), probs,
          reference=lambda p: -np.log(p[np.arange(3), labels]))
    check(lambda z: ops.sparse_categorical_crossentropy(labels[:, None], z, from_logits=True),
          A, reference=lambda z: -np.log(_softmax(z)[np.arange(3), labels]))
    check(lambda z: ops.sparse_categorical_crossentropy(labels, ops.transpose(z),
                                                        from_logits=True, axis=0), A,
          reference=lambda z: -np.log(_softmax(z)[np.arange(3), labels]))
    y = (B > 0).astype(float)
    check(lambda p: ops.binary_crossentropy(y, p), _sigmoid(A),
          reference=lambda p: -(y * np.log(p) + (1 - y) * np.log(1 - p)))
    check(lambda z: ops.binary_crossentropy(y, z, from_logits=True), A,
          reference=lambda z: -(y * np.log(_sigmoid(z)) + (1 - y) * np.log(1 - _sigmoid(z))))
    with pytest.raises(ValueError, match="same shape"):
        ops.categorical_crossentropy(labels, probs)
    with pytest.raises(ValueError, match="outside"):
        ops.sparse_categorical_crossentropy([0, 4, 1], probs)


# ---- the rest: equal to NumPy, no gradient ------------------------------------------------
I = np.array([[3, -1, 0], [2, 2, -7]])
CONSTANTS = [
    (lambda: ops.equal(A, B), A == B), (lambda: ops.not_equal(I, 2), I != 2),
    (lambda: ops.greater(A, 0.5), A > 0.5), (lambda: ops.greater_equal(I, 2), I >= 2),
    (lambda: ops.less(A, B), A < B), (lambda: ops.less_equal(I, 0), I <= 0),
    (lambda: ops.logical_and(A > 0, B > 0), (A > 0) & (B > 0)),
    (lambda: ops.logical_or(A > 0, B > 0), (A > 0) | (B > 0)),
    (lambda: ops.logical_xor(A > 0, B > 0), (A > 0) ^ (B > 0)),
    (lambda: ops.logical_not(A > 0), A <= 0),
    (lambda: ops.isnan([1.0, np.nan]), [False, True]),
    (lambda: ops.isfinite([1.0, np.inf]), [True, False]),
    (lambda: ops.isinf([1.0, -np.inf]), [False, True]),
    (lambda: ops.isclose([1.0, 2.0], [1.0, 2.1]), [True, False]),
    (lambda: ops.argmax(A, axis=1), np.argmax(A, 1)), (lambda: ops.argmax(A), np.argmax(A)),
    (lambda: ops.argmin(A, axis=0, keepdims=True), np.argmin(A, 0, keepdims=True)),
    (lambda: ops.argsort(A), np.argsort(A)), (lambda: ops.all(A > -3), True),
    (lambda: ops.any(A > 1.9, axis=0), np.any(A > 1.9, 0)),
    (lambda: ops.count_nonzero(I), 5), (lambda: ops.floor_divide(I, 2), I // 2),
    (lambda: ops.mod(I, 3), I % 3), (lambda: ops.sign(A), np.sign(A)),
    (lambda: ops.round(A * 3), np.round(A * 3)), (lambda: ops.round(A, 1), np.round(A, 1)),
    (lambda: ops.floor(A), np.floor(A)), (lambda: ops.ceil(A), np.ceil(A)),
    (lambda: ops.trunc(A), np.trunc(A)), (lambda: ops.where(I > 0)[1], np.nonzero(I > 0)[1]),
    (lambda: ops.one_hot([1, 0, -1, 5], 3), [[0, 1, 0], [1, 0, 0], [0, 0, 0], [0, 0, 0]]),
    (lambda: ops.one_hot([[1, 2]], 3, axis=1), [[[0, 0], [1, 0], [0, 1]]]),
    (lambda: ops.multi_hot([[0, 2], [1, 1]], 3), [[1, 0, 1], [0, 1, 0]]),
    (lambda: ops.in_top_k([3, 0, 1], A, 2), [A[0, 3] >= np.sort(A[0])[-2],
                                             A[1, 0] >= np.sort(A[1])[-2],
                                             A[2, 1] >= np.sort(A[2])[-2]]),
    (lambda: ops.zeros((2, 3)), np.zeros((2, 3))), (lambda: ops.ones(2), np.ones(2)),
    (lambda: ops.full((2,), 7), [7, 7]), (lambda: ops.zeros_like(I), np.zeros_like(I)),
    (lambda: ops.ones_like(A), np.ones_like(A)), (lambda: ops.full_like(A, 2.0), A * 0 + 2),
    (lambda: ops.eye(3, 4, k=1), np.eye(3, 4, 1)), (lambda: ops.identity(2), np.eye(2)),
    (lambda: ops.arange(5), np.arange(5)), (lambda: ops.arange(1, 2, 0.25), [1, 1.25, 1.5, 1.75]),
    (lambda: ops.linspace(0, 1, 5), np.linspace(0, 1, 5)),
    (lambda: ops.nonzero(I)[0], np.nonzero(I)[0]), (lambda: ops.empty((2,)), [0, 0]),
    (lambda: ops.nan_to_num([np.nan, np.inf, -1.0], posinf=9.0), [0.0, 9.0, -1.0]),
]


@pytest.mark.parametrize("index", range(len(CONSTANTS)))
def test_constants_equal_numpy(index):
    fn, expected = CONSTANTS[index]
    out = fn()
    assert isinstance(out, Tensor) and not out.requires_grad
    np.testing.assert_allclose(np.asarray(out), np.asarray(expected, dtype=np.asarray(out).dtype))


def test_stepwise_ops_pass_zero_gradients():
    x = Tensor(A, requires_grad=True)
    ops.sum(ops.add(ops.floor(x), ops.multiply(ops.round(x), ops.sign(x)))).backward()
    np.testing.assert_array_equal(x.grad, np.zeros_like(A))


def test_shape_ndim_size_and_control_flow():
    assert ops.shape(A) == (3, 4) and ops.ndim(A) == 2 and ops.size(A) == 12
    assert ops.dtype(ops.ones(2)) == "float32" and ops.is_tensor(ops.ones(2))
    assert ops.cond(True, lambda: 1, lambda: 2) == 1
    assert ops.fori_loop(0, 4, lambda i, v: v + i, 0) == 6
    assert ops.while_loop(lambda i: i < 5, lambda i: i + 2, 0) == 6
    assert ops.switch(7, [lambda: "a", lambda: "b"]) == "b"
    np.testing.assert_array_equal(np.asarray(ops.map(lambda r: ops.sum(r), A)), A.sum(1))
    copy = ops.convert_to_numpy(ops.ones(2))
    assert isinstance(copy, np.ndarray) and copy.dtype == np.float32


# ---- Keras's dtype rules ------------------------------------------------------------------
def test_dtypes_follow_keras():
    assert ops.convert_to_tensor([1.0]).dtype == np.float32
    assert ops.convert_to_tensor([1, 2]).dtype == np.int32
    assert ops.convert_to_tensor(np.ones(2)).dtype == np.float64  # NumPy arrays keep theirs
    assert ops.convert_to_tensor(3, dtype="float16").dtype == np.float16
    ints = ops.convert_to_tensor([1, 2])
    assert ops.add(ints, 1).dtype == np.int32                   # weak Python int
    assert ops.multiply(ints, 0.5).dtype == np.float32          # int * Python float
    assert ops.multiply(ints, ops.ones(2)).dtype == np.float32  # int * float32 (not float64)
    assert ops.divide(ints, ints).dtype == np.float32
    assert ops.mean(ints).dtype == np.float32 and ops.sqrt(ints).dtype == np.float32
    assert ops.add(ops.ones(2), 1).dtype == np.float32
    assert ops.argmax([1.0, 3.0]).dtype == np.int32
    assert ops.arange(3).dtype == np.int32 and ops.arange(3.0).dtype == np.float32
    assert ops.one_hot([1], 2).dtype == np.float32 and ops.full((1,), 2).dtype == np.int32
    assert ops.equal([1], [1]).dtype == bool


def test_ops_on_numpy_and_lists_compute_and_record_inside_a_graph():
    out = ops.mean(ops.square(np.array([1.0, 3.0], np.float32)))
    assert isinstance(out, Tensor) and float(out) == 5.0 and not out.requires_grad
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    loss = ops.sum(ops.multiply([3.0, 4.0], ops.square(w)))  # a list mixes with a tensor
    loss.backward()
    np.testing.assert_array_equal(w.grad, [6.0, 16.0])
    with no_grad():
        assert not ops.square(w).requires_grad


# ---- what neuropil lacks -------------------------------------------------------------------
def test_a_missing_op_is_named_with_the_closest_match():
    with pytest.raises(AttributeError, match=r"no op 'sofmax'.*Did you mean: softmax"):
        ops.sofmax  # noqa: B018
    with pytest.raises(AttributeError, match="no op 'fft'"):
        keras.ops.fft  # noqa: B018
    assert not hasattr(ops, "__wrapped__")


def test_keras_names_shadow_the_engine_modules():
    # keras.ops.shape / norm / conv are functions; the engine modules stay importable.
    assert ops.shape(np.zeros((2, 1))) == (2, 1)
    assert callable(ops.norm) and callable(ops.conv)
    from neuropil.ops.window import SlidingWindow  # noqa: F401
    from neuropil.ops.shape import getitem  # noqa: F401


def test_every_name_in_all_exists():
    missing = [name for name in ops.__all__ if name not in vars(ops)]
    assert not missing


def test_symbolic_tensors_get_a_clear_error():
    x = keras.Input((3,))
    with pytest.raises(TypeError, match="Lambda"):
        ops.relu(x)
    model = keras.Model(x, keras.layers.Lambda(lambda t: ops.relu(t))(x))
    np.testing.assert_array_equal(model.predict(np.array([[-1.0, 2.0, 0.5]]), verbose=0),
                                  [[0.0, 2.0, 0.5]])
