"""batch_norm, batch_norm_inference and layer_norm against their composed twins (the spec),
and their gradients against central differences in float64."""
import importlib

import numpy as np
import pytest

from helpers import check_op, random_array
from neuropil import ops
from neuropil.autodiff import Tensor, no_grad
from neuropil.ops import accel

# The engine module; `neuropil.ops.norm` itself is Keras's norm() function.
norm = importlib.import_module("neuropil.ops.norm")

EPS = 1e-3


def _spread(x, axes):
    """The shape that broadcasts a parameter over the axes of x not in ``axes``."""
    return tuple(x.shape[a] if a in axes else 1 for a in range(x.ndim))


def composed_batch_norm(x, gamma, beta, axis=-1, epsilon=EPS):
    """The spec: mean and biased variance over every axis but ``axis``, from small ops."""
    axis %= x.ndim
    others = tuple(a for a in range(x.ndim) if a != axis)
    mean = ops.mean(x, others, keepdims=True)
    centred = x - mean
    variance = ops.mean(ops.square(centred), others, keepdims=True)
    xhat = centred / ops.sqrt(variance + epsilon)
    shape = _spread(x, (axis,))
    return xhat * ops.reshape(gamma, shape) + ops.reshape(beta, shape)


def composed_batch_norm_inference(x, mean, variance, gamma, beta, axis=-1, epsilon=EPS):
    shape = _spread(x, (axis % x.ndim,))
    r = lambda t: ops.reshape(t, shape)  # noqa: E731
    return (x - r(mean)) / ops.sqrt(r(variance) + epsilon) * r(gamma) + r(beta)


def composed_layer_norm(x, gamma, beta, axis=-1, epsilon=EPS):
    axes = tuple(sorted(a % x.ndim for a in ((axis,) if isinstance(axis, int) else axis)))
    mean = ops.mean(x, axes, keepdims=True)
    centred = x - mean
    variance = ops.mean(ops.square(centred), axes, keepdims=True)
    shape = _spread(x, axes)
    return centred / ops.sqrt(variance + epsilon) * ops.reshape(gamma, shape) + \
        ops.reshape(beta, shape)


def assert_same_gradients(fused, composed, inputs):
    """Both match central differences, and (same output weighting) each other."""
    fused_check, composed_check = check_op(fused, *inputs), check_op(composed, *inputs)
    for g_fused, g_composed, a in zip(fused_check.analytic, composed_check.analytic, inputs):
        assert g_fused.shape == np.shape(a)
        np.testing.assert_allclose(g_fused, g_composed, rtol=1e-9, atol=1e-11)


# (shape, channel axis): 2-D and 4-D, channels last and channels first
BN_CASES = [((6, 4), -1), ((5, 3), 1), ((3, 4, 5, 2), -1), ((3, 4, 5, 2), 1), ((2, 3, 4), 0)]


@pytest.fixture(params=[False, True], ids=["wide-rows", "narrow-rows"])
def row_target(request, monkeypatch):
    """Also runs each test with rows of a few values, so that small inputs still take the
    many-rows, k > 1 path of the wide view that real batches take."""
    if request.param:
        monkeypatch.setattr(norm, "_ROW_TARGET", 4)
    norm._channels.cache_clear()
    yield
    norm._channels.cache_clear()


@pytest.mark.parametrize("shape, axis", BN_CASES, ids=str)
def test_batch_norm_matches_composed_twin(shape, axis, row_target, kernels_path):
    x = random_array(*shape, seed=1)
    gamma, beta = random_array(shape[axis], seed=2), random_array(shape[axis], seed=3)
    fused = lambda x, g, b: ops.batch_norm(x, g, b, axis=axis)  # noqa: E731
    composed = lambda x, g, b: composed_batch_norm(x, g, b, axis)  # noqa: E731
    np.testing.assert_allclose(fused(Tensor(x), Tensor(gamma), Tensor(beta)).numpy(),
                               composed(Tensor(x), Tensor(gamma), Tensor(beta)).numpy(),
                               rtol=1e-12, atol=1e-12)
    assert_same_gradients(fused, composed, [x, gamma, beta])


@pytest.mark.parametrize("shape, axis", BN_CASES[:4], ids=str)
def test_batch_norm_inference_matches_composed_twin(shape, axis, row_target, kernels_path):
    c = shape[axis]
    x, gamma, beta = random_array(*shape, seed=4), random_array(c, seed=5), random_array(c, seed=6)
    mean, variance = random_array(c, seed=7), np.abs(random_array(c, seed=8))
    inputs = [x, mean, variance, gamma, beta]
    fused = lambda *a: ops.batch_norm_inference(*a, axis=axis)  # noqa: E731
    composed = lambda *a: composed_batch_norm_inference(*a, axis=axis)  # noqa: E731
    np.testing.assert_allclose(fused(*map(Tensor, inputs)).numpy(),
                               composed(*map(Tensor, inputs)).numpy(), rtol=1e-12, atol=1e-12)
    assert_same_gradients(fused, composed, inputs)


def test_batch_norm_returns_the_batch_moments():
    x = random_array(8, 5, 5, 3, seed=9)
    y, mean, variance = ops.batch_norm(Tensor(x), return_moments=True)
    np.testing.assert_allclose(mean.numpy(), x.mean(axis=(0, 1, 2)), rtol=1e-12)
    np.testing.assert_allclose(variance.numpy(), x.var(axis=(0, 1, 2)), rtol=1e-12)  # biased
    assert not mean.requires_grad and not variance.requires_grad
    np.testing.assert_allclose(y.numpy().mean(axis=(0, 1, 2)), 0.0, atol=1e-12)


@pytest.mark.parametrize("center, scale", [(False, True), (True, False), (False, False)])
def test_batch_norm_without_gamma_or_beta(center, scale):
    x, c = random_array(4, 3, 3, 2, seed=10), 2
    gamma = random_array(c, seed=11) if scale else None
    beta = random_array(c, seed=12) if center else None
    inputs = [x] + [p for p in (gamma, beta) if p is not None]

    def fused(x, *params):
        it = iter(params)
        return ops.batch_norm(x, next(it) if scale else None, next(it) if center else None)

    def composed(x, *params):
        it = iter(params)
        g = next(it) if scale else np.ones(c)
        b = next(it) if center else np.zeros(c)
        return composed_batch_norm(x, g, b)

    assert_same_gradients(fused, composed, inputs)


def test_batch_norm_skips_the_input_gradient_and_keeps_float32():
    x = Tensor(random_array(16, 4, 4, 3, seed=13).astype(np.float32))
    gamma = Tensor(np.ones(3, np.float32), requires_grad=True)
    beta = Tensor(np.zeros(3, np.float32), requires_grad=True)
    y = ops.batch_norm(x, gamma, beta)
    assert y.dtype == np.float32
    y.backward(np.ones(y.shape, np.float32))
    assert x.grad is None
    assert gamma.grad.dtype == beta.grad.dtype == np.float32
    np.testing.assert_allclose(beta.grad, 16 * 4 * 4)
    np.testing.assert_allclose(gamma.grad, 0.0, atol=1e-3)  # Σ x̂ = 0


def test_batch_norm_float32_agrees_with_float64_on_a_real_batch_size():
    """The wide view with many rows (k > 1) on a (128, 28, 28, 6) batch, float32 vs float64."""
    x = np.random.default_rng(14).normal(3.0, 2.0, (128, 28, 28, 6))
    g = np.random.default_rng(15).normal(size=x.shape)
    out = {}
    for dtype in (np.float32, np.float64):
        xt = Tensor(x.astype(dtype), requires_grad=True)
        gamma = Tensor(np.linspace(0.5, 2, 6).astype(dtype), requires_grad=True)
        beta = Tensor(np.linspace(-1, 1, 6).astype(dtype), requires_grad=True)
        y = ops.batch_norm(xt, gamma, beta)
        y.backward(g.astype(dtype))
        out[dtype] = (y.numpy(), xt.grad, gamma.grad, beta.grad)
    for a, b in zip(out[np.float32], out[np.float64]):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-4)
    # float64 against NumPy's own statistics
    expected = (x - x.mean((0, 1, 2))) / np.sqrt(x.var((0, 1, 2)) + EPS)
    np.testing.assert_allclose(out[np.float64][0], expected * np.linspace(0.5, 2, 6) +
                               np.linspace(-1, 1, 6), rtol=1e-10, atol=1e-10)


def test_batch_norm_under_no_grad_records_nothing():
    x = Tensor(random_array(6, 3, seed=16), requires_grad=True)
    with no_grad():
        y = ops.batch_norm(x, Tensor(np.ones(3), requires_grad=True))
    assert not y.requires_grad and y._producer is None


def test_batch_norm_rejects_a_bad_axis():
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        ops.batch_norm(Tensor(np.ones((2, 3))), axis=2)


# ---- batch norm's compiled loops (ops/norm_kernels.py) against its NumPy path -------------
def _both_paths(run):
    """``run()`` on the NumPy path, then on the compiled loops."""
    pytest.importorskip("numba")
    results = []
    for enabled in (False, True):
        accel.set_enabled(enabled)
        try:
            results.append(run())
        finally:
            accel.set_enabled(None)
    return results


def _views(name, x):
    """x as the op receives it: contiguous, or the same values in a strided view."""
    if name == "transposed":  # channels last, from a channels-first array
        return np.ascontiguousarray(np.moveaxis(x, -1, 1)).transpose(0, 2, 3, 1)
    if name == "every other sample":
        return np.repeat(x, 2, axis=0)[::2]
    return x


# (shape, axis, view): odd channel counts, batch 1, channels first, non-contiguous inputs
COMPILED_CASES = [((128, 28, 28, 6), -1, "contiguous"), ((7, 5, 5, 3), -1, "contiguous"),
                  ((1, 4, 4, 5), -1, "contiguous"), ((9, 13), -1, "contiguous"),
                  ((6, 3, 4, 4), 1, "contiguous"), ((16, 6, 6, 7), -1, "transposed"),
                  ((10, 5, 5, 3), -1, "every other sample")]


def assert_close_to_reference(actual, reference):
    """Equal up to float rounding, relative to the array's largest value: dgamma sums
    ~10^5 products to a small number, and the NumPy path's float32 column sums are the
    less accurate of the two there."""
    rtol = 1e-5 if reference.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(actual, reference, rtol=rtol,
                               atol=rtol * max(np.max(np.abs(reference), initial=0.0), 1.0))


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("shape, axis, view", COMPILED_CASES, ids=str)
def test_batch_norm_compiled_matches_numpy(shape, axis, view, dtype, row_target):
    rng = np.random.default_rng(21)
    x = _views(view, (rng.normal(3.0, 2.0, shape)).astype(dtype))
    g = rng.normal(size=shape).astype(dtype)
    c = shape[axis]
    gamma0, beta0 = np.linspace(0.5, 2, c).astype(dtype), np.linspace(-1, 1, c).astype(dtype)

    def run():
        xt = Tensor(x, requires_grad=True)
        gamma, beta = Tensor(gamma0, requires_grad=True), Tensor(beta0, requires_grad=True)
        y, mean, variance = ops.batch_norm(xt, gamma, beta, axis=axis, return_moments=True)
        y.backward(g)
        return y.numpy(), mean.numpy(), variance.numpy(), xt.grad, gamma.grad, beta.grad

    for a, b in zip(*_both_paths(run)):
        assert a.dtype == b.dtype == dtype
        assert_close_to_reference(b, a)


@pytest.mark.parametrize("center, scale", [(False, True), (True, False), (False, False)])
def test_batch_norm_compiled_without_gamma_or_beta(center, scale):
    x, g = random_array(12, 5, 5, 3, seed=22), random_array(12, 5, 5, 3, seed=23)
    gamma = Tensor(random_array(3, seed=24), requires_grad=True) if scale else None
    beta = Tensor(random_array(3, seed=25), requires_grad=True) if center else None

    def run():
        xt = Tensor(x, requires_grad=True)
        ops.batch_norm(xt, gamma, beta).backward(g)
        grads = [p.grad for p in (gamma, beta) if p is not None]
        for p in (gamma, beta):
            if p is not None:
                p.grad = None
        return [xt.grad, *grads]

    for a, b in zip(*_both_paths(run)):
        assert_close_to_reference(b, a)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("shape, axis, view", COMPILED_CASES, ids=str)
def test_batch_norm_inference_compiled_matches_numpy(shape, axis, view, dtype, row_target):
    rng = np.random.default_rng(26)
    x = _views(view, rng.normal(3.0, 2.0, shape).astype(dtype))
    c = shape[axis]
    params = [rng.normal(size=c).astype(dtype), rng.uniform(0.5, 2, c).astype(dtype),
              np.linspace(0.5, 2, c).astype(dtype), np.linspace(-1, 1, c).astype(dtype)]
    with no_grad():
        a, b = _both_paths(lambda: ops.batch_norm_inference(
            Tensor(x), *map(Tensor, params), axis=axis).numpy())
    assert a.dtype == b.dtype == dtype
    assert_close_to_reference(b, a)


def test_batch_norm_compiled_statistics_of_a_large_mean_in_float32():
    """Shifted float64 sums: a mean 1000 standard deviations away costs no precision."""
    x = np.random.default_rng(27).normal(1000.0, 1.0, (64, 8, 8, 4))

    def run():
        _, mean, variance = ops.batch_norm(Tensor(x.astype(np.float32)), return_moments=True)
        return mean.numpy(), variance.numpy()

    _, (mean, variance) = _both_paths(run)
    np.testing.assert_allclose(mean, x.mean(axis=(0, 1, 2)), rtol=1e-6)
    np.testing.assert_allclose(variance, x.var(axis=(0, 1, 2)), rtol=1e-4)


def test_batch_norm_inference_of_an_empty_batch(kernels_path):
    ones = Tensor(np.ones(3, np.float32))
    y = ops.batch_norm_inference(Tensor(np.zeros((0, 4, 4, 3), np.float32)), ones, ones)
    assert y.shape == (0, 4, 4, 3) and y.dtype == np.float32


# ---- layer norm --------------------------------------------------------------------------
LN_CASES = [((4, 5), -1), ((2, 3, 4), -1), ((2, 3, 4), (1, 2)), ((2, 3, 2, 3), (1, 3)),
            ((3, 4, 2), 1)]


@pytest.mark.parametrize("shape, axis", LN_CASES, ids=str)
def test_layer_norm_matches_composed_twin(shape, axis):
    axes = sorted(a % len(shape) for a in ((axis,) if isinstance(axis, int) else axis))
    param_shape = tuple(shape[a] for a in axes)
    x = random_array(*shape, seed=17)
    gamma, beta = random_array(*param_shape, seed=18), random_array(*param_shape, seed=19)
    fused = lambda x, g, b: ops.layer_norm(x, g, b, axis=axis)  # noqa: E731
    composed = lambda x, g, b: composed_layer_norm(x, g, b, axis)  # noqa: E731
    np.testing.assert_allclose(fused(Tensor(x), Tensor(gamma), Tensor(beta)).numpy(),
                               composed(Tensor(x), Tensor(gamma), Tensor(beta)).numpy(),
                               rtol=1e-12, atol=1e-12)
    assert_same_gradients(fused, composed, [x, gamma, beta])


def test_layer_norm_without_parameters_normalizes_each_sample():
    x = random_array(3, 7, seed=20)
    y = ops.layer_norm(Tensor(x), epsilon=0.0).numpy()
    np.testing.assert_allclose(y.mean(axis=-1), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=-1), 1.0, rtol=1e-12)
    check_op(lambda t: ops.layer_norm(t), x)


def test_worked_examples():
    """By hand: [1, 3] has mean 2 and biased variance 1."""
    y = ops.batch_norm(Tensor(np.array([[1.0], [3.0]])), epsilon=0.0)
    np.testing.assert_allclose(y.numpy().ravel(), [-1.0, 1.0])
    y = ops.layer_norm(Tensor(np.array([[1.0, 3.0], [0.0, 10.0]])), epsilon=0.0)
    np.testing.assert_allclose(y.numpy(), [[-1.0, 1.0], [-1.0, 1.0]])
