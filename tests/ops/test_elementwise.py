"""Elementwise ops: forward against NumPy, backward against central differences."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

from helpers import check_op, random_array
from neuropil import ops
from neuropil.autodiff import Tensor

# Shape pairs every binary op is checked on: equal, trailing-axis broadcast, both sides
# stretched, and a 0-d operand on either side.
BROADCAST_SHAPES = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 3), (1, 4, 1)),
                    ((3, 4), ()), ((), (3, 4)), ((4, 1), (3,))]

# name -> (op, NumPy expectation, (low, high) for a, (low, high) for b)
BINARY = {
    "add": (ops.add, np.add, (-2, 2), (-2, 2)),
    "subtract": (ops.subtract, np.subtract, (-2, 2), (-2, 2)),
    "multiply": (ops.multiply, np.multiply, (-2, 2), (-2, 2)),
    "divide": (ops.divide, np.divide, (-2, 2), (0.5, 2)),
    "power": (ops.power, np.power, (0.5, 2), (-2, 2)),  # base > 0: d/db needs log(a)
    "maximum": (ops.maximum, np.maximum, (-2, 2), (-2, 2)),
    "minimum": (ops.minimum, np.minimum, (-2, 2), (-2, 2)),
}

# name -> (op, NumPy expectation, (low, high))
UNARY = {
    "negative": (ops.negative, np.negative, (-2, 2)),
    "exp": (ops.exp, np.exp, (-2, 2)),
    "log": (ops.log, np.log, (0.2, 3)),
    "sqrt": (ops.sqrt, np.sqrt, (0.2, 3)),
    "square": (ops.square, np.square, (-2, 2)),
    "abs": (ops.abs, np.abs, (-2, 2)),
}


def _operands(name, shape_a, shape_b, seed=0):
    _, _, range_a, range_b = BINARY[name]
    a = random_array(*shape_a, seed=seed, low=range_a[0], high=range_a[1])
    b = random_array(*shape_b, seed=seed + 1, low=range_b[0], high=range_b[1])
    return a, b


@pytest.mark.parametrize("shapes", BROADCAST_SHAPES, ids=str)
@pytest.mark.parametrize("name", BINARY)
def test_binary_forward_matches_numpy(name, shapes):
    op, expected, _, _ = BINARY[name]
    a, b = _operands(name, *shapes)
    out = op(Tensor(a), Tensor(b))
    np.testing.assert_allclose(out.numpy(), expected(a, b), rtol=1e-12)
    assert out.shape == np.broadcast_shapes(*shapes)


@pytest.mark.parametrize("shapes", BROADCAST_SHAPES, ids=str)
@pytest.mark.parametrize("name", BINARY)
def test_binary_gradient(name, shapes):
    op = BINARY[name][0]
    a, b = _operands(name, *shapes)
    result = check_op(op, a, b)
    assert [g.shape for g in result.analytic] == [a.shape, b.shape]


@pytest.mark.parametrize("name", BINARY)
def test_binary_with_python_float_on_either_side(name):
    op, expected, _, _ = BINARY[name]
    a, b = _operands(name, (2, 3), (2, 3))
    scalar_b, scalar_a = 1.5, 1.25  # inside both operand ranges
    check_op(lambda t: op(t, scalar_b), a)
    check_op(lambda t: op(scalar_a, t), b)
    np.testing.assert_allclose(op(Tensor(a), scalar_b).numpy(), expected(a, scalar_b))
    np.testing.assert_allclose(op(scalar_a, Tensor(b)).numpy(), expected(scalar_a, b))


@pytest.mark.parametrize("name", BINARY)
def test_python_float_keeps_float32(name):
    op = BINARY[name][0]
    x = Tensor(np.full((2, 2), 1.5, np.float32), requires_grad=True)
    for out in (op(x, 1.25), op(1.25, x)):
        assert out.dtype == np.float32
        out.backward(np.ones((2, 2), np.float32))
    assert x.grad.dtype == np.float32


@settings(max_examples=20, deadline=None, database=None)
@given(shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
       name=st.sampled_from(["add", "subtract", "multiply", "divide"]))
def test_binary_gradient_on_any_broadcast(shapes, name):
    a, b = _operands(name, *shapes.input_shapes, seed=3)
    result = check_op(BINARY[name][0], a, b)
    assert [g.shape for g in result.analytic] == [a.shape, b.shape]


@pytest.mark.parametrize("shape", [(), (5,), (2, 3), (2, 1, 3)], ids=str)
@pytest.mark.parametrize("name", UNARY)
def test_unary_forward_and_gradient(name, shape):
    op, expected, (low, high) = UNARY[name]
    a = random_array(*shape, seed=4, low=low, high=high)
    np.testing.assert_allclose(op(Tensor(a)).numpy(), expected(a), rtol=1e-12)
    check_op(op, a)


def test_power_with_constant_exponent_and_constant_base():
    a = random_array(3, 4, seed=5)
    np.testing.assert_allclose((Tensor(a) ** 3).numpy(), a ** 3)
    check_op(lambda t: t ** 3, a)                       # negative base, integer exponent
    check_op(lambda t: t ** 0.5, np.abs(a) + 0.1)
    check_op(lambda t: 2.0 ** t, a)                     # gradient wrt the exponent
    check_op(lambda t: ops.power(t, 2), a)


def test_power_gradient_wrt_exponent_is_zero_where_base_is_not_positive():
    a = Tensor(np.array([-2.0, 0.0, 3.0]))
    b = Tensor(np.array([2.0, 2.0, 2.0]), requires_grad=True)
    ops.power(a, b).backward(np.ones(3))
    np.testing.assert_allclose(b.grad, [0.0, 0.0, 9.0 * np.log(3.0)])


@pytest.mark.parametrize("op, pick", [(ops.maximum, np.maximum), (ops.minimum, np.minimum)])
def test_maximum_minimum_ties_split_the_gradient_evenly(op, pick):
    # Documented in _Select: where a == b each side receives half of the gradient.
    a = np.array([1.0, 2.0, 3.0])
    b = np.array([1.0, 0.0, 5.0])
    ta, tb = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    out = op(ta, tb)
    np.testing.assert_array_equal(out.numpy(), pick(a, b))
    out.backward(np.full(3, 4.0))
    wins_a = (pick(a, b) == a).astype(float)
    wins_b = (pick(a, b) == b).astype(float)
    np.testing.assert_allclose(ta.grad, 4.0 * wins_a / (wins_a + wins_b))
    np.testing.assert_allclose(tb.grad, 4.0 * wins_b / (wins_a + wins_b))
    np.testing.assert_allclose(ta.grad[0], 2.0)
    # Central differences at a tie also give one half: the even split is what they see.
    check_op(op, a, b)


def test_maximum_of_a_tensor_with_itself_has_gradient_one():
    x = random_array(2, 3, seed=6)
    check_op(lambda t: ops.maximum(t, t), x)


@pytest.mark.parametrize("low, high", [(-1.0, 1.0), (0.0, 0.5), (-0.3, 2.0)])
def test_clip(low, high):
    x = random_array(4, 5, seed=7)
    x = np.where(np.abs(x - low) < 0.01, x + 0.02, x)
    x = np.where(np.abs(x - high) < 0.01, x + 0.02, x)
    np.testing.assert_allclose(ops.clip(Tensor(x), low, high).numpy(), np.clip(x, low, high))
    result = check_op(lambda t: ops.clip(t, low, high), x)
    inside = (x >= low) & (x <= high)
    assert np.all(result.analytic[0][~inside] == 0)


@pytest.mark.parametrize("shapes", [((3, 4), (3, 4), (3, 4)), ((3, 4), (4,), ()),
                                    ((3, 1), (1, 4), (3, 4)), ((4,), (3, 4), (3, 1))], ids=str)
def test_where(shapes):
    cond_shape, b_shape, c_shape = shapes
    condition = np.random.default_rng(8).random(cond_shape) > 0.5
    b = random_array(*b_shape, seed=9)
    c = random_array(*c_shape, seed=10)
    out = ops.where(condition, Tensor(b), Tensor(c))
    np.testing.assert_array_equal(out.numpy(), np.where(condition, b, c))
    result = check_op(lambda tb, tc: ops.where(condition, tb, tc), b, c)
    assert [g.shape for g in result.analytic] == [b.shape, c.shape]


def test_where_condition_gets_no_gradient():
    cond = Tensor(np.array([1.0, 0.0]), requires_grad=True)
    b = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    ops.where(cond, b, 0.0).backward(np.ones(2))
    assert cond.grad is None
    np.testing.assert_array_equal(b.grad, [1.0, 0.0])


@pytest.mark.parametrize("grad_shape, shape, expected_shape",
                         [((3, 4), (4,), (4,)), ((2, 3, 4), (3, 1), (3, 1)),
                          ((2, 3), (), ()), ((2, 3), (2, 3), (2, 3)), ((5, 1, 4), (1, 1), (1, 1))])
def test_unbroadcast_sums_back_to_the_input_shape(grad_shape, shape, expected_shape):
    grad = random_array(*grad_shape, seed=11)
    out = ops.unbroadcast(grad, shape)
    assert out.shape == expected_shape
    np.testing.assert_allclose(out.sum(), grad.sum())
