"""gradient_check must pass a correct backward and catch a wrong one, showing both gradients."""
import numpy as np
import pytest

from helpers import random_array
from neuropil import ops
from neuropil.autodiff import Op
from neuropil.explain import GradientCheckResult, gradient_check


class WrongCube(Op):
    """x³ with a deliberately wrong backward (2x instead of 3x²)."""

    def forward(self, x):
        self.x = x
        return x ** 3

    def backward(self, grad):
        return (grad * 2 * self.x,)


class RightCube(WrongCube):
    def backward(self, grad):
        return (grad * 3 * self.x ** 2,)


def test_passes_for_a_correct_op():
    result = gradient_check(lambda x: RightCube()(x), random_array(3, 2, seed=1))
    assert isinstance(result, GradientCheckResult)
    assert result.ok
    assert result.max_abs_error[0] < 1e-6
    np.testing.assert_allclose(result.analytic[0], result.numeric[0], rtol=1e-6)
    assert "passed" in str(result)


def test_reports_a_wrong_backward():
    x = np.array([[0.5, -1.0], [2.0, 1.5]])
    result = gradient_check(lambda t: WrongCube()(t), x)
    assert not result.ok
    text = str(result)
    assert "FAILED" in text and "backward" in text and "central differences" in text
    # Both gradients appear, under the same output weighting the checker used.
    weights = np.random.default_rng(0).standard_normal(x.shape)
    np.testing.assert_allclose(result.analytic[0], weights * 2 * x)
    np.testing.assert_allclose(result.numeric[0], weights * 3 * x ** 2, rtol=1e-6)
    assert str(result.analytic[0]) in text and str(result.numeric[0]) in text
    assert result.max_abs_error[0] == pytest.approx(np.max(np.abs(weights * (3 * x**2 - 2 * x))),
                                                    rel=1e-6)


def test_only_the_wrong_input_fails():
    a, b = random_array(3, seed=2), random_array(3, seed=3)
    result = gradient_check(lambda s, t: ops.add(s, WrongCube()(t)), a, b)
    assert not result.ok
    assert result.max_abs_error[0] < 1e-6 < result.max_abs_error[1]


def test_wrt_limits_the_checked_inputs():
    a, b = random_array(3, seed=4), random_array(3, seed=5)
    result = gradient_check(lambda s, t: ops.add(s, WrongCube()(t)), a, b, wrt=[0])
    assert result.ok and len(result.analytic) == 1


def test_integer_inputs_are_passed_through_unchecked():
    logits, labels = random_array(4, 3, seed=6), np.array([0, 2, 1, 1])
    result = gradient_check(ops.sparse_softmax_cross_entropy, logits, labels)
    assert result.ok and len(result.analytic) == 1


def test_inputs_are_promoted_to_float64_and_left_untouched():
    x = random_array(2, 2, seed=7).astype(np.float32)
    before = x.copy()
    seen = []

    def fn(t):
        seen.append(t.dtype)
        return ops.tanh(t)

    assert gradient_check(fn, x).ok
    assert set(seen) == {np.dtype(np.float64)}
    np.testing.assert_array_equal(x, before)


def test_scalar_output_and_unused_input():
    a, b = random_array(3, seed=8), random_array(2, seed=9)
    result = gradient_check(lambda s, t: ops.sum(s * s), a, b)
    assert result.ok
    np.testing.assert_array_equal(result.analytic[1], np.zeros(2))


def test_docstring_example():
    assert gradient_check(lambda x: ops.tanh(x), [[0.5, -1.0]]).ok
