"""Fused losses against their composed twins (forward and gradient) and at extreme logits."""
import numpy as np
import pytest

from helpers import check_op, random_array
from neuropil import ops
from neuropil.autodiff import Tensor


def one_hot(labels, classes):
    return np.eye(classes)[labels]


def composed_softmax_ce(logits, target, axis=-1):
    return ops.negative(ops.sum(ops.multiply(target, ops.log(ops.softmax(logits, axis))), axis))


def composed_sigmoid_bce(logits, target):
    p = ops.sigmoid(logits)
    log_not_p = ops.log(ops.subtract(1.0, p))
    return ops.negative(ops.add(ops.multiply(target, ops.log(p)),
                                ops.multiply(ops.subtract(1.0, target), log_not_p)))


def assert_same_gradients(fused, composed, *inputs, rtol=1e-8):
    """Both pass the gradient check and agree with each other (same output weighting)."""
    fused_check, composed_check = check_op(fused, *inputs), check_op(composed, *inputs)
    for g_fused, g_composed in zip(fused_check.analytic, composed_check.analytic):
        np.testing.assert_allclose(g_fused, g_composed, rtol=rtol, atol=1e-12)
    return fused_check


# ---- softmax cross-entropy -----------------------------------------------------------------

@pytest.mark.parametrize("shape, axis", [((4, 3), -1), ((2, 5), 1), ((2, 3, 4), -1),
                                         ((2, 3, 4), 1), ((3, 2), 0), ((5,), -1)], ids=str)
def test_softmax_ce_matches_composed(shape, axis):
    logits = random_array(*shape, seed=1, low=-3, high=3)
    target = np.moveaxis(np.random.default_rng(2).dirichlet(
        np.ones(shape[axis]), size=tuple(np.delete(shape, axis % len(shape)))), -1, axis)
    fused = ops.softmax_cross_entropy(Tensor(logits), Tensor(target), axis=axis)
    composed = composed_softmax_ce(Tensor(logits), Tensor(target), axis)
    assert fused.shape == composed.shape == target.sum(axis=axis).shape
    np.testing.assert_allclose(fused.numpy(), composed.numpy(), rtol=1e-12)
    result = assert_same_gradients(lambda z, y: ops.softmax_cross_entropy(z, y, axis=axis),
                                   lambda z, y: composed_softmax_ce(z, y, axis), logits, target)
    assert [g.shape for g in result.analytic] == [shape, shape]


def test_softmax_ce_with_unnormalised_targets():
    # Label smoothing or user targets need not sum to one: the closed form scales softmax by Σy.
    logits = random_array(3, 4, seed=3)
    target = np.abs(random_array(3, 4, seed=4))
    assert_same_gradients(ops.softmax_cross_entropy, composed_softmax_ce, logits, target)


def test_softmax_ce_with_broadcast_target():
    logits = random_array(3, 4, seed=5)
    target = np.array([0.1, 0.2, 0.3, 0.4])  # one distribution for every row
    result = check_op(ops.softmax_cross_entropy, logits, target)
    assert result.analytic[1].shape == (4,)
    # and the other way round: one row of logits against several targets
    result = check_op(ops.softmax_cross_entropy, logits[0], random_array(3, 4, seed=6) ** 2)
    assert result.analytic[0].shape == (4,)


# ---- sparse softmax cross-entropy -----------------------------------------------------------

@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 4), (4,)], ids=str)
def test_sparse_ce_matches_one_hot_version(shape):
    logits = random_array(*shape, seed=6, low=-3, high=3)
    labels = np.random.default_rng(7).integers(0, shape[-1], size=shape[:-1])
    target = one_hot(labels, shape[-1])
    fused = ops.sparse_softmax_cross_entropy(Tensor(logits), labels)
    np.testing.assert_allclose(fused.numpy(),
                               ops.softmax_cross_entropy(Tensor(logits), Tensor(target)).numpy(),
                               rtol=1e-12)
    assert fused.shape == labels.shape
    assert_same_gradients(lambda z: ops.sparse_softmax_cross_entropy(z, labels),
                          lambda z: composed_softmax_ce(z, target), logits)


def test_sparse_ce_gradient_is_softmax_minus_one_hot():
    logits = random_array(4, 3, seed=8)
    labels = np.array([0, 2, 1, 2])
    z = Tensor(logits, requires_grad=True)
    ops.sparse_softmax_cross_entropy(z, labels).backward(np.ones(4))
    np.testing.assert_allclose(z.grad, ops.softmax(Tensor(logits)).numpy() - one_hot(labels, 3))


def test_sparse_ce_labels_with_a_trailing_axis():
    # (N, 1) labels, as Keras users often pass them, give one loss per row and a (N, C) gradient.
    logits = random_array(4, 3, seed=9)
    labels = np.array([[0], [2], [1], [2]])
    out = ops.sparse_softmax_cross_entropy(Tensor(logits), labels)
    assert out.shape == (4, 1)
    check_op(lambda z: ops.sparse_softmax_cross_entropy(z, labels), logits)


def test_sparse_ce_labels_get_no_gradient_and_may_be_float():
    logits = Tensor(random_array(3, 4, seed=10), requires_grad=True)
    labels = Tensor(np.array([1.0, 3.0, 0.0]), requires_grad=True)
    out = ops.sparse_softmax_cross_entropy(logits, labels)
    np.testing.assert_allclose(out.numpy(), ops.sparse_softmax_cross_entropy(
        logits, np.array([1, 3, 0])).numpy())
    out.backward(np.ones(3))
    assert labels.grad is None and logits.grad.shape == (3, 4)


# ---- sigmoid binary cross-entropy -----------------------------------------------------------

@pytest.mark.parametrize("shape_z, shape_y", [((4,), (4,)), ((3, 2), (3, 2)), ((3, 4), (4,)),
                                              ((2, 3, 1), (2, 3, 1)), ((4,), (3, 4))], ids=str)
def test_sigmoid_bce_matches_composed(shape_z, shape_y):
    logits = random_array(*shape_z, seed=11, low=-4, high=4)
    target = np.random.default_rng(12).random(shape_y)
    fused = ops.sigmoid_binary_cross_entropy(Tensor(logits), Tensor(target))
    composed = composed_sigmoid_bce(Tensor(logits), Tensor(target))
    np.testing.assert_allclose(fused.numpy(), composed.numpy(), rtol=1e-10)
    result = assert_same_gradients(ops.sigmoid_binary_cross_entropy, composed_sigmoid_bce,
                                   logits, target)
    assert [g.shape for g in result.analytic] == [shape_z, shape_y]


def test_sigmoid_bce_gradient_is_sigmoid_minus_target():
    logits, target = random_array(5, seed=13), np.array([0.0, 1.0, 1.0, 0.0, 0.5])
    z = Tensor(logits, requires_grad=True)
    ops.sigmoid_binary_cross_entropy(z, target).backward(np.ones(5))
    np.testing.assert_allclose(z.grad, 1 / (1 + np.exp(-logits)) - target)


# ---- extreme logits: finite where the composed versions take log(0) ---------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_ce_with_extreme_logits_is_finite(dtype):
    z = Tensor(np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 0.0]], dtype),
               requires_grad=True)
    target = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]], dtype)
    loss = ops.softmax_cross_entropy(z, target)
    np.testing.assert_allclose(loss.numpy(), [0.0, 2000.0])
    loss.backward(np.ones(2, dtype))
    np.testing.assert_allclose(z.grad, [[0.0, 0.0, 0.0], [-1.0, 1.0, 0.0]], atol=1e-30)
    assert z.grad.dtype == dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sparse_ce_with_extreme_logits_is_finite(dtype):
    z = Tensor(np.array([[1000.0, -1000.0], [-1000.0, 1000.0]], dtype), requires_grad=True)
    loss = ops.sparse_softmax_cross_entropy(z, np.array([0, 0]))
    np.testing.assert_allclose(loss.numpy(), [0.0, 2000.0])
    loss.backward(np.ones(2, dtype))
    np.testing.assert_allclose(z.grad, [[0.0, 0.0], [-1.0, 1.0]], atol=1e-30)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_bce_with_extreme_logits_is_finite(dtype):
    z = Tensor(np.array([100.0, -100.0, 1000.0, -1000.0], dtype), requires_grad=True)
    target = np.array([0.0, 1.0, 1.0, 0.0], dtype)
    loss = ops.sigmoid_binary_cross_entropy(z, target)
    np.testing.assert_allclose(loss.numpy(), [100.0, 100.0, 0.0, 0.0], atol=1e-30)
    loss.backward(np.ones(4, dtype))
    np.testing.assert_allclose(z.grad, [1.0, -1.0, 0.0, 0.0], atol=1e-30)


def test_composed_bce_would_take_log_of_zero():
    # Why the fused op exists: sigmoid(-100) rounds to 0 in float64 and log(0) raises here.
    with pytest.raises(FloatingPointError):
        composed_sigmoid_bce(Tensor(np.array([-100.0])), Tensor(np.array([1.0])))
