"""Reductions: sum, mean, max, min over None / an axis / several axes, with keepdims."""
import numpy as np
import pytest

from helpers import check_op, random_array
from neuropil import ops
from neuropil.autodiff import Tensor

REDUCTIONS = {"sum": (ops.sum, np.sum), "mean": (ops.mean, np.mean),
              "max": (ops.max, np.max), "min": (ops.min, np.min)}
AXES = [None, 0, 1, -1, (0, 2), (-1, 0), (0, 1, 2)]


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("name", REDUCTIONS)
def test_forward_and_gradient(name, axis, keepdims):
    fn, expected = REDUCTIONS[name]
    x = random_array(2, 3, 4, seed=1)
    out = fn(Tensor(x), axis=axis, keepdims=keepdims)
    want = expected(x, axis=axis, keepdims=keepdims)
    assert out.shape == want.shape
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-12)
    check_op(lambda t: fn(t, axis=axis, keepdims=keepdims), x)


@pytest.mark.parametrize("name", REDUCTIONS)
def test_tensor_methods(name):
    x = random_array(3, 4, seed=2)
    method = getattr(Tensor(x), name)
    np.testing.assert_allclose(method().numpy(), getattr(x, name)())
    np.testing.assert_allclose(method(axis=1, keepdims=True).numpy(),
                               getattr(x, name)(axis=1, keepdims=True))
    check_op(lambda t: getattr(t, name)(axis=0), x)


@pytest.mark.parametrize("name", REDUCTIONS)
def test_vector_and_scalar_inputs(name):
    fn, expected = REDUCTIONS[name]
    v = random_array(5, seed=3)
    np.testing.assert_allclose(fn(Tensor(v)).numpy(), expected(v))
    check_op(fn, v)
    check_op(fn, np.array(1.5))  # a 0-d input reduces to itself


@pytest.mark.parametrize("name", ["sum", "mean"])
def test_empty_axis_tuple_is_the_identity(name):
    x = random_array(2, 3, seed=4)
    out = REDUCTIONS[name][0](Tensor(x), axis=())
    np.testing.assert_allclose(out.numpy(), x)


def test_mean_gradient_is_one_over_count():
    x = Tensor(np.zeros((2, 3, 4)), requires_grad=True)
    ops.mean(x, axis=(0, 2)).backward(np.ones(3))
    np.testing.assert_allclose(x.grad, np.full((2, 3, 4), 1 / 8))


@pytest.mark.parametrize("fn", [ops.max, ops.min])
def test_ties_split_the_gradient_evenly(fn):
    # Documented in _Extreme: tied extremes share the gradient equally (1/k each for k ties).
    sign = 1.0 if fn is ops.max else -1.0
    x = Tensor(sign * np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0], [0.0, 5.0, 1.0]]),
               requires_grad=True)
    out = fn(x, axis=1)
    np.testing.assert_array_equal(out.numpy(), sign * np.array([3.0, 2.0, 5.0]))
    out.backward(np.array([6.0, 6.0, 6.0]))
    np.testing.assert_allclose(x.grad, [[0, 3, 3], [2, 2, 2], [0, 6, 0]])


@pytest.mark.parametrize("fn", [ops.max, ops.min])
def test_ties_over_all_axes(fn):
    x = Tensor(np.ones((2, 2)), requires_grad=True)
    fn(x).backward()
    np.testing.assert_allclose(x.grad, np.full((2, 2), 0.25))
    assert x.grad.sum() == pytest.approx(1.0)


@pytest.mark.parametrize("fn", [ops.max, ops.min])
def test_pair_tie_matches_central_differences(fn):
    # With two tied entries a one-sided nudge moves the extreme by half the step on average,
    # so the even split is exactly what central differences measure.
    sign = 1.0 if fn is ops.max else -1.0
    check_op(lambda t: fn(t, axis=-1), sign * np.array([[1.0, 1.0, -0.5], [0.2, 0.7, 0.7]]))


def test_float32_preserved():
    x = Tensor(random_array(3, 4, seed=5).astype(np.float32), requires_grad=True)
    for name, (fn, _) in REDUCTIONS.items():
        out = fn(x, axis=0)
        assert out.dtype == np.float32, name
        out.backward(np.ones(4, np.float32))
    assert x.grad.dtype == np.float32
