"""Property-based checks: shapes, broadcasting and values of core ops against NumPy on random
shapes, and gradients that come back in each input's shape."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

from neuropil import ops
from neuropil.autodiff import Tensor

FAST = settings(max_examples=25, deadline=None)
BINARY = {"add": np.add, "multiply": np.multiply, "maximum": np.maximum}


def _array(shape, seed):
    return np.random.default_rng(seed).normal(size=shape)


@FAST
@given(shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=4),
       name=st.sampled_from(sorted(BINARY)), seed=st.integers(0, 2**16))
def test_binary_ops_broadcast_like_numpy(shapes, name, seed):
    a, b = _array(shapes.input_shapes[0], seed), _array(shapes.input_shapes[1], seed + 1)
    ta, tb = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    out = getattr(ops, name)(ta, tb)
    expected = BINARY[name](a, b)
    assert out.shape == expected.shape == shapes.result_shape
    np.testing.assert_array_equal(out.numpy(), expected)
    ops.sum(out).backward()
    assert ta.grad.shape == a.shape and tb.grad.shape == b.shape
    if name == "add" and a.size:  # each element of a is used out.size / a.size times
        np.testing.assert_allclose(ta.grad, np.full(a.shape, expected.size / a.size))


@FAST
@given(shapes=mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, max_side=3),
       seed=st.integers(0, 2**16))
def test_where_broadcasts_like_numpy(shapes, seed):
    condition = _array(shapes.input_shapes[0], seed) > 0
    a, b = _array(shapes.input_shapes[1], seed + 1), _array(shapes.input_shapes[2], seed + 2)
    out = ops.where(condition, Tensor(a), Tensor(b))
    np.testing.assert_array_equal(out.numpy(), np.where(condition, a, b))


@st.composite
def shape_and_axis(draw):
    shape = draw(array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4))
    axes = draw(st.none() | st.lists(st.integers(-len(shape), len(shape) - 1), min_size=1,
                                     max_size=len(shape), unique_by=lambda a: a % len(shape)))
    return shape, axes if axes is None else tuple(axes), draw(st.booleans())


@FAST
@given(case=shape_and_axis(), name=st.sampled_from(["sum", "mean"]), seed=st.integers(0, 99))
def test_reductions_match_numpy(case, name, seed):
    shape, axis, keepdims = case
    a = _array(shape, seed)
    t = Tensor(a, requires_grad=True)
    out = getattr(ops, name)(t, axis=axis, keepdims=keepdims)
    expected = getattr(np, name)(a, axis=axis, keepdims=keepdims)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)
    ops.sum(out).backward()
    assert t.grad.shape == a.shape


@st.composite
def reshape_case(draw):
    shape = draw(array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4))
    size, target = int(np.prod(shape)), []
    rest = size
    for prime in (2, 3):
        while rest % prime == 0 and draw(st.booleans()):
            target.append(prime)
            rest //= prime
    target.append(rest)
    target = draw(st.permutations(target))
    if draw(st.booleans()):
        target[draw(st.integers(0, len(target) - 1))] = -1
    return shape, tuple(target)


@FAST
@given(case=reshape_case(), seed=st.integers(0, 99))
def test_reshape_matches_numpy(case, seed):
    shape, target = case
    a = _array(shape, seed)
    t = Tensor(a, requires_grad=True)
    out = ops.reshape(t, target)
    np.testing.assert_array_equal(out.numpy(), np.reshape(a, target))
    ops.sum(out * out).backward()
    np.testing.assert_allclose(t.grad, 2 * a)


@FAST
@given(shape=array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=4), data=st.data())
def test_transpose_matches_numpy(shape, data):
    a = _array(shape, 0)
    axes = data.draw(st.none() | st.permutations(range(len(shape))))
    t = Tensor(a, requires_grad=True)
    out = ops.transpose(t, axes)
    expected = np.transpose(a, axes)
    np.testing.assert_array_equal(out.numpy(), expected)
    weights = _array(expected.shape, 1)
    ops.sum(out * Tensor(weights)).backward()  # the gradient is the weights transposed back
    np.testing.assert_array_equal(t.grad, np.transpose(weights, np.argsort(axes)) if axes
                                  is not None else weights.T)
