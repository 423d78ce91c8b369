"""Activations: forward against NumPy formulas, gradients, and behaviour at extreme inputs."""
import math
import sys

import numpy as np
import pytest

from helpers import check_op, random_array
from neuropil import ops
from neuropil.autodiff import Tensor
from neuropil.ops.activations import SELU_ALPHA, SELU_SCALE

SHAPES = [(5,), (3, 4), (2, 3, 2)]
_erf = np.vectorize(math.erf)


def away_from(x, *kinks, gap=0.05):
    """Moves entries of x that sit within ``gap`` of a kink to ``kink + gap``."""
    for k in kinks:
        x = np.where(np.abs(x - k) < gap, k + gap, x)
    return x


def np_sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def np_relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """Keras 3's relu, written out: slope·(x - threshold) below threshold, x above, capped."""
    out = np.where(x < threshold, negative_slope * (x - threshold), x)
    return out if max_value is None else np.minimum(out, max_value)


def np_softmax(z, axis=-1):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# name -> (neuropil function, NumPy expectation)
ACTIVATIONS = {
    "sigmoid": (ops.sigmoid, np_sigmoid),
    "tanh": (ops.tanh, np.tanh),
    "relu": (ops.relu, lambda x: np.maximum(x, 0)),
    "leaky_relu": (ops.leaky_relu, lambda x: np.where(x > 0, x, 0.2 * x)),  # Keras default 0.2
    "elu": (ops.elu, lambda x: np.where(x > 0, x, np.exp(x) - 1)),
    "selu": (ops.selu, lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * (np.exp(x) - 1))),
    "softplus": (ops.softplus, lambda x: np.log1p(np.exp(x))),
    # keras.ops.gelu defaults to the tanh approximation; the exact form is asked for here
    "gelu": (lambda t: ops.gelu(t, approximate=False),
             lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2)))),
    "silu": (ops.silu, lambda x: x * np_sigmoid(x)),
    "softmax": (ops.softmax, np_softmax),
    "log_softmax": (ops.log_softmax, lambda x: np.log(np_softmax(x))),
}


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_forward_matches_numpy(name, shape):
    fn, expected = ACTIVATIONS[name]
    x = random_array(*shape, seed=1, low=-3, high=3)
    np.testing.assert_allclose(fn(Tensor(x)).numpy(), expected(x), rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_gradient(name, shape):
    x = random_array(*shape, seed=2, low=-3, high=3)
    check_op(ACTIVATIONS[name][0], x)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_float32_in_float32_out(name):
    x = Tensor(random_array(3, 4, seed=3).astype(np.float32), requires_grad=True)
    out = ACTIVATIONS[name][0](x)
    assert out.dtype == np.float32
    out.backward(np.ones(out.shape, np.float32))
    assert x.grad.dtype == np.float32


RELU_ARGS = [dict(negative_slope=0.1), dict(max_value=1.0), dict(threshold=0.5),
             dict(threshold=-0.5), dict(negative_slope=0.3, max_value=1.5, threshold=0.25),
             dict(max_value=6.0), dict(negative_slope=0.2, threshold=1.0)]


@pytest.mark.parametrize("kwargs", RELU_ARGS, ids=lambda k: ",".join(f"{a}={v}" for a, v in
                                                                       k.items()))
def test_relu_arguments(kwargs):
    kinks = [kwargs.get("threshold", 0.0)] + ([kwargs["max_value"]] if "max_value" in kwargs
                                               else [])
    x = away_from(random_array(4, 6, seed=4, low=-3, high=7), *kinks)
    np.testing.assert_allclose(ops.relu(Tensor(x), **kwargs).numpy(), np_relu(x, **kwargs))
    check_op(lambda t: ops.relu(t, **kwargs), x)


def test_relu_max_value_caps_and_blocks_the_gradient():
    x = Tensor(np.array([-1.0, 0.5, 2.0, 8.0]), requires_grad=True)
    y = ops.relu(x, max_value=6.0)
    np.testing.assert_array_equal(y.numpy(), [0.0, 0.5, 2.0, 6.0])
    y.backward(np.ones(4))
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 1.0, 0.0])


@pytest.mark.parametrize("slope", [0.01, 0.2, 0.5])
def test_leaky_relu_slope(slope):
    x = random_array(3, 5, seed=5)
    np.testing.assert_allclose(ops.leaky_relu(Tensor(x), negative_slope=slope).numpy(),
                               np.where(x > 0, x, slope * x))
    check_op(lambda t: ops.leaky_relu(t, negative_slope=slope), x)


@pytest.mark.parametrize("alpha", [0.5, 1.0, 2.0])
def test_elu_alpha(alpha):
    x = random_array(3, 5, seed=6)
    np.testing.assert_allclose(ops.elu(Tensor(x), alpha=alpha).numpy(),
                               np.where(x > 0, x, alpha * np.expm1(x)))
    check_op(lambda t: ops.elu(t, alpha=alpha), x)


@pytest.mark.parametrize("approximate", [False, True])
def test_gelu_both_forms(approximate):
    x = random_array(3, 5, seed=7, low=-4, high=4)
    if approximate:
        c = math.sqrt(2 / math.pi)
        expected = 0.5 * x * (1 + np.tanh(c * (x + 0.044715 * x ** 3)))
    else:
        expected = 0.5 * x * (1 + _erf(x / math.sqrt(2)))
    np.testing.assert_allclose(ops.gelu(Tensor(x), approximate=approximate).numpy(), expected,
                               rtol=1e-7, atol=1e-12)
    check_op(lambda t: ops.gelu(t, approximate=approximate), x)


def test_gelu_forms_differ_by_little():
    x = Tensor(np.linspace(-4, 4, 81))
    exact, approx = ops.gelu(x, approximate=False).numpy(), ops.gelu(x).numpy()
    assert 0 < np.max(np.abs(exact - approx)) < 1e-3


@pytest.mark.parametrize("fn", [ops.softmax, ops.log_softmax])
@pytest.mark.parametrize("axis", [0, 1, -1, 2])
def test_softmax_axis(fn, axis):
    x = random_array(2, 3, 4, seed=8)
    out = fn(Tensor(x), axis=axis).numpy()
    probs = np_softmax(x, axis)
    np.testing.assert_allclose(out, probs if fn is ops.softmax else np.log(probs), rtol=1e-10)
    check_op(lambda t: fn(t, axis=axis), x)


def test_softmax_rows_sum_to_one():
    out = ops.softmax(Tensor(random_array(4, 7, seed=9, low=-20, high=20))).numpy()
    np.testing.assert_allclose(out.sum(axis=-1), 1.0)


def test_erf_matches_math_erf():
    x = np.linspace(-4, 4, 101)
    np.testing.assert_allclose(ops.erf(x), _erf(x), atol=1e-12)


def test_erf_fallback_without_scipy(monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy.special", None)  # makes the import fail
    x = np.linspace(-4, 4, 101)
    error = np.max(np.abs(ops.erf(x) - _erf(x)))
    assert 1e-12 < error < 1.2e-7  # the series ran, and is as accurate as documented


# ---- numerical stability: np.errstate(all="raise") in conftest turns any overflow into a failure


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_of_huge_logits(dtype):
    x = Tensor(np.array([[1000.0, 0.0], [-1000.0, 1000.0]], dtype), requires_grad=True)
    y = ops.softmax(x)
    np.testing.assert_array_equal(y.numpy(), [[1.0, 0.0], [0.0, 1.0]])
    y.backward(np.array([[1.0, 2.0], [3.0, 4.0]], dtype))
    assert np.all(np.isfinite(x.grad))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_log_softmax_of_huge_logits(dtype):
    x = Tensor(np.array([1000.0, 0.0, -1000.0], dtype), requires_grad=True)
    y = ops.log_softmax(x)
    np.testing.assert_allclose(y.numpy(), [0.0, -1000.0, -2000.0])
    y.backward(np.ones(3, dtype))
    np.testing.assert_allclose(x.grad, [-2.0, 1.0, 1.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_saturates_without_warnings(dtype):
    x = Tensor(np.array([-100.0, 100.0, -1000.0, 1000.0], dtype), requires_grad=True)
    y = ops.sigmoid(x)
    np.testing.assert_allclose(y.numpy(), [0.0, 1.0, 0.0, 1.0], atol=1e-30)
    y.backward(np.ones(4, dtype))
    np.testing.assert_allclose(x.grad, 0.0, atol=1e-30)


@pytest.mark.parametrize("name", ["softplus", "silu", "elu", "selu", "gelu", "gelu_tanh",
                                  "tanh", "relu"])
def test_extreme_inputs_stay_finite(name):
    fn = ACTIVATIONS.get(name, (lambda t: ops.gelu(t, approximate=True),))[0]
    x = Tensor(np.array([-1000.0, -100.0, 100.0, 1000.0], np.float32), requires_grad=True)
    y = fn(x)
    assert np.all(np.isfinite(y.numpy()))
    y.backward(np.ones(4, np.float32))
    assert np.all(np.isfinite(x.grad))


def test_sigmoid_worked_example():
    # The course's example: sigmoid(-1) = 1 / (1 + e) ≈ 0.2689
    assert float(ops.sigmoid(Tensor(-1.0))) == pytest.approx(0.26894142, abs=1e-7)
