"""matmul with NumPy's rules, and the fused dense op against its composed twin."""
import numpy as np
import pytest

from helpers import check_op, random_array
from neuropil import ops
from neuropil.autodiff import Tensor

MATMUL_SHAPES = [((3, 4), (4, 5)), ((2, 3, 4), (4, 5)), ((3, 4), (2, 4, 5)),
                 ((2, 3, 4), (2, 4, 5)), ((2, 1, 3, 4), (3, 4, 2)), ((4,), (4, 5)),
                 ((3, 4), (4,)), ((4,), (4,)), ((4,), (2, 4, 5)), ((2, 3, 4), (4,))]


@pytest.mark.parametrize("shape_a, shape_b", MATMUL_SHAPES, ids=str)
def test_matmul(shape_a, shape_b):
    a, b = random_array(*shape_a, seed=1), random_array(*shape_b, seed=2)
    out = ops.matmul(Tensor(a), Tensor(b))
    np.testing.assert_allclose(out.numpy(), a @ b, rtol=1e-12)
    result = check_op(ops.matmul, a, b)
    assert [g.shape for g in result.analytic] == [shape_a, shape_b]


def test_matmul_operator_with_arrays_on_either_side():
    a, b = random_array(3, 4, seed=3), random_array(4, 2, seed=4)
    np.testing.assert_allclose((Tensor(a) @ b).numpy(), a @ b)
    np.testing.assert_allclose((a @ Tensor(b)).numpy(), a @ b)
    check_op(lambda t: t @ b, a)
    check_op(lambda t: a @ t, b)


def test_matmul_skips_the_gradient_nobody_asked_for():
    a = Tensor(random_array(3, 4, seed=5))
    b = Tensor(random_array(4, 2, seed=6), requires_grad=True)
    (a @ b).backward(np.ones((3, 2)))
    assert a.grad is None and b.grad.shape == (4, 2)


def composed_dense(x, kernel, bias=None):
    """The spec: dense is matmul followed by a broadcast add."""
    out = ops.matmul(x, kernel)
    return out if bias is None else ops.add(out, bias)


DENSE_SHAPES = [((5, 3), 4), ((2, 5, 3), 4), ((2, 2, 2, 3), 1), ((3,), 2), ((1, 3), 4)]


@pytest.mark.parametrize("use_bias", [True, False])
@pytest.mark.parametrize("x_shape, units", DENSE_SHAPES, ids=str)
def test_dense_matches_composed_twin(x_shape, units, use_bias):
    x = random_array(*x_shape, seed=7)
    kernel = random_array(x_shape[-1], units, seed=8)
    inputs = [x, kernel] + ([random_array(units, seed=9)] if use_bias else [])
    fused = ops.dense(*[Tensor(a, requires_grad=True) for a in inputs])
    composed = composed_dense(*[Tensor(a) for a in inputs])
    assert fused.shape == composed.shape == x_shape[:-1] + (units,)
    np.testing.assert_allclose(fused.numpy(), composed.numpy(), rtol=1e-12)

    # The same seed gives both checks the same output weighting, so their analytic
    # gradients must agree with each other as well as with central differences.
    fused_check = check_op(ops.dense, *inputs)
    composed_check = check_op(composed_dense, *inputs)
    for g_fused, g_composed, a in zip(fused_check.analytic, composed_check.analytic, inputs):
        assert g_fused.shape == a.shape
        np.testing.assert_allclose(g_fused, g_composed, rtol=1e-10, atol=1e-12)


def test_dense_float32_and_input_gradient_skipped():
    x = Tensor(random_array(4, 3, seed=10).astype(np.float32))  # a model input: no gradient
    kernel = Tensor(random_array(3, 2, seed=11).astype(np.float32), requires_grad=True)
    bias = Tensor(np.zeros(2, np.float32), requires_grad=True)
    out = ops.dense(x, kernel, bias)
    assert out.dtype == np.float32
    out.backward(np.ones((4, 2), np.float32))
    assert x.grad is None
    assert kernel.grad.dtype == bias.grad.dtype == np.float32
    np.testing.assert_allclose(bias.grad, [4.0, 4.0])
    np.testing.assert_allclose(kernel.grad, x.numpy().sum(axis=0)[:, None].repeat(2, 1),
                               rtol=1e-6)


def composed_dense_relu(x, kernel, bias=None):
    """The spec of dense(..., activation="relu"): the composed dense, then relu."""
    return ops.relu(composed_dense(x, kernel, bias))


@pytest.mark.parametrize("use_bias", [True, False])
@pytest.mark.parametrize("x_shape, units", DENSE_SHAPES, ids=str)
def test_dense_with_fused_relu_matches_composed_twin(x_shape, units, use_bias):
    x = random_array(*x_shape, seed=17)
    kernel = random_array(x_shape[-1], units, seed=18)
    inputs = [x, kernel] + ([random_array(units, seed=19)] if use_bias else [])
    fused = lambda *t: ops.dense(*t, activation="relu")  # noqa: E731
    np.testing.assert_allclose(fused(*[Tensor(a) for a in inputs]).numpy(),
                               composed_dense_relu(*[Tensor(a) for a in inputs]).numpy(),
                               rtol=1e-12)
    fused_check = check_op(fused, *inputs)
    composed_check = check_op(composed_dense_relu, *inputs)
    for g_fused, g_composed in zip(fused_check.analytic, composed_check.analytic):
        np.testing.assert_allclose(g_fused, g_composed, rtol=1e-10, atol=1e-12)


def test_dense_rejects_an_activation_it_cannot_fuse():
    with pytest.raises(ValueError, match="activation"):
        ops.dense(Tensor(np.ones((1, 2))), Tensor(np.ones((2, 2))), activation="tanh")
