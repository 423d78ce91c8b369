"""Inverted dropout: how many values it drops, how it scales the rest, and its gradient."""
import numpy as np
import pytest

from helpers import check_op, random_array
from neuropil import ops
from neuropil.autodiff import Tensor

N = 200_000  # large enough that the binomial spread (~0.001 in the fraction) is small


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_drops_about_rate_and_scales_survivors(rate):
    x = np.full(N, 2.0, np.float32)
    y = ops.dropout(Tensor(x), rate, np.random.default_rng(0)).numpy()
    dropped = y == 0
    assert abs(dropped.mean() - rate) < 0.01
    np.testing.assert_allclose(y[~dropped], 2.0 / (1.0 - rate), rtol=1e-6)


@pytest.mark.parametrize("rate", [0.2, 0.5])
def test_mean_is_preserved(rate):
    x = np.abs(random_array(N, seed=1)).astype(np.float32)
    y = ops.dropout(Tensor(x), rate, np.random.default_rng(2)).numpy()
    assert y.mean() == pytest.approx(x.mean(), rel=0.02)


def test_gradient_uses_the_same_mask():
    x = Tensor(random_array(50, 40, seed=3), requires_grad=True)
    rate = 0.4
    y = ops.dropout(x, rate, np.random.default_rng(4))
    g = random_array(50, 40, seed=5)
    y.backward(g)
    kept = y.numpy() != 0
    np.testing.assert_allclose(x.grad[kept], g[kept] / (1 - rate))
    np.testing.assert_array_equal(x.grad[~kept], 0.0)


def test_gradient_check_with_a_fixed_mask():
    # A freshly seeded generator per call gives the checker the same mask every time.
    check_op(lambda t: ops.dropout(t, 0.3, np.random.default_rng(6)), random_array(4, 5, seed=7))


def test_same_seed_same_mask_different_seed_different_mask():
    x = Tensor(np.ones((30, 30)))
    first = ops.dropout(x, 0.5, np.random.default_rng(8)).numpy()
    again = ops.dropout(x, 0.5, np.random.default_rng(8)).numpy()
    other = ops.dropout(x, 0.5, np.random.default_rng(9)).numpy()
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_one_generator_advances_between_calls():
    gen = np.random.default_rng(10)
    x = Tensor(np.ones((30, 30)))
    assert not np.array_equal(ops.dropout(x, 0.5, gen).numpy(), ops.dropout(x, 0.5, gen).numpy())


def test_rate_zero_is_the_identity():
    x = random_array(6, 7, seed=11)
    np.testing.assert_array_equal(ops.dropout(Tensor(x), 0.0, np.random.default_rng(0)).numpy(), x)


def test_noise_shape_shares_the_mask_along_broadcast_axes():
    x = Tensor(np.ones((64, 10)), requires_grad=True)
    y = ops.dropout(x, 0.5, np.random.default_rng(12), noise_shape=(64, 1))
    rows = y.numpy()
    assert np.all((rows == 0).all(axis=1) | (rows == 2.0).all(axis=1))
    assert 0 < (rows[:, 0] == 0).sum() < 64
    y.backward(np.ones((64, 10)))
    np.testing.assert_array_equal(x.grad, rows)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_preserved(dtype):
    x = Tensor(np.ones((3, 4), dtype), requires_grad=True)
    y = ops.dropout(x, 0.5, np.random.default_rng(13))
    assert y.dtype == dtype
    y.backward(np.ones((3, 4), dtype))
    assert x.grad.dtype == dtype
