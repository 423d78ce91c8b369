"""BatchNormalization and LayerNormalization parity with PyTorch CPU.

Both sides get the same float32 inputs, gamma (torch: weight) and beta (torch: bias); the
scalar differentiated is ``sum(output * r)`` for a fixed random ``r``. neuropil's images are
channels-last (N, H, W, C); torch gets the same values transposed to NCHW, and the
``axis=1`` cases feed both sides NCHW.

Mapping: torch's ``momentum`` is ``1 - keras_momentum`` (torch weights the new batch by
``momentum``, Keras keeps ``momentum`` of the old average), ``eps`` is ``epsilon``.
One documented difference: torch updates ``running_var`` with the *unbiased* batch variance
(divided by n - 1), Keras (and neuropil) with the *biased* one (divided by n), n being the
values per channel. The running means agree directly; for the variance the test undoes
torch's n / (n - 1) factor on the batch terms: starting from 1, after T steps
    (running_var - m^T) · (n - 1) / n  ==  moving_variance - m^T,   m = keras momentum.
Normalization itself uses the biased variance on both sides.

Tolerances (float32; the observed worst absolute difference in brackets; values are O(1),
gamma / beta gradients are sums over up to 400 of them):
    forward:                    rtol=1e-5, atol=1e-5   [7e-7]
    input gradient:             rtol=1e-4, atol=5e-6   [2.4e-7]
    gamma / beta gradients:     rtol=1e-4, atol=1e-4   [7.6e-6]
    moving mean / variance:     rtol=1e-5, atol=1e-6   [3.6e-7]
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from neuropil import layers  # noqa: E402
from neuropil.autodiff import Tensor  # noqa: E402

FWD = dict(rtol=1e-5, atol=1e-5)
GRAD_X = dict(rtol=1e-4, atol=5e-6)
GRAD_PARAM = dict(rtol=1e-4, atol=1e-4)
STATS = dict(rtol=1e-5, atol=1e-6)


def _nchw(a):
    return np.ascontiguousarray(a.transpose(0, 3, 1, 2))


def _pair(shape, axis, momentum, seed):
    """A built neuropil BatchNormalization and the torch module with the same gamma/beta."""
    channels = shape[axis]
    rng = np.random.default_rng(seed)
    gamma = rng.uniform(0.5, 1.5, channels).astype(np.float32)
    beta = rng.normal(0, 0.5, channels).astype(np.float32)
    layer = layers.BatchNormalization(axis=axis, momentum=momentum, epsilon=1e-3)
    layer.build((None,) + shape[1:])
    layer.gamma.assign(gamma)
    layer.beta.assign(beta)
    module = (torch.nn.BatchNorm1d if len(shape) == 2 else torch.nn.BatchNorm2d)(
        channels, eps=1e-3, momentum=1 - momentum)
    with torch.no_grad():
        module.weight.copy_(torch.from_numpy(gamma))
        module.bias.copy_(torch.from_numpy(beta))
    return layer, module


# (neuropil shape, neuropil axis, torch layout: whether the input needs NHWC -> NCHW)
CASES = [((8, 5, 5, 3), -1, True), ((8, 3, 5, 5), 1, False), ((16, 6), -1, False),
         ((4, 10, 10, 4), -1, True)]


def _step(layer, module, x, r, to_torch):
    """One training-mode forward + backward on both sides."""
    xn = Tensor(x, requires_grad=True)
    yn = layer(xn, training=True)
    (yn * r).sum().backward()
    xt = torch.from_numpy(to_torch(x)).requires_grad_(True)
    module.train()
    yt = module(xt)
    (yt * torch.from_numpy(to_torch(r))).sum().backward()
    return xn, yn, xt, yt


@pytest.mark.parametrize("shape, axis, transpose", CASES, ids=str)
def test_batch_norm_training_forward_and_gradients(shape, axis, transpose):
    layer, module = _pair(shape, axis, 0.99, seed=0)
    rng = np.random.default_rng(1)
    x = rng.normal(1.5, 2.0, shape).astype(np.float32)
    r = rng.normal(size=shape).astype(np.float32)
    to_torch = _nchw if transpose else np.ascontiguousarray
    xn, yn, xt, yt = _step(layer, module, x, r, to_torch)
    np.testing.assert_allclose(to_torch(yn.numpy()), yt.detach().numpy(), **FWD)
    np.testing.assert_allclose(to_torch(xn.grad), xt.grad.numpy(), **GRAD_X)
    np.testing.assert_allclose(layer.gamma.grad, module.weight.grad.numpy(), **GRAD_PARAM)
    np.testing.assert_allclose(layer.beta.grad, module.bias.grad.numpy(), **GRAD_PARAM)


@pytest.mark.parametrize("momentum", [0.99, 0.9])
@pytest.mark.parametrize("shape, axis, transpose", CASES[:3], ids=str)
def test_moving_statistics_after_three_steps(shape, axis, transpose, momentum):
    layer, module = _pair(shape, axis, momentum, seed=2)
    to_torch = _nchw if transpose else np.ascontiguousarray
    rng = np.random.default_rng(3)
    for step in range(3):
        x = rng.normal(step - 1.0, 1.0 + step, shape).astype(np.float32)
        _step(layer, module, x, np.ones(shape, np.float32), to_torch)
    n = int(np.prod(shape)) // shape[axis]
    decay = momentum ** 3  # what is left of the initial 0 (mean) and 1 (variance)
    np.testing.assert_allclose(layer.moving_mean.numpy(), module.running_mean.numpy(),
                               **STATS)
    torch_biased = (module.running_var.numpy() - decay) * (n - 1) / n + decay
    np.testing.assert_allclose(layer.moving_variance.numpy(), torch_biased, **STATS)
    assert not np.allclose(layer.moving_variance.numpy(), module.running_var.numpy(),
                           rtol=1e-6, atol=0), "the unbiased/biased difference should show"

    # Inference with the same statistics on both sides (torch's running_var replaced by ours)
    with torch.no_grad():
        module.running_var.copy_(torch.from_numpy(layer.moving_variance.numpy()))
    module.eval()
    x = rng.normal(0.5, 1.5, shape).astype(np.float32)
    with torch.no_grad():
        expected = module(torch.from_numpy(to_torch(x))).numpy()
    np.testing.assert_allclose(to_torch(layer(x, training=False).numpy()), expected, **FWD)


def test_batch_norm_inference_gradients_match_torch_eval():
    """Frozen statistics with trainable gamma/beta (``training=False`` inside a graph)."""
    shape = (6, 4, 4, 3)
    layer, module = _pair(shape, -1, 0.9, seed=4)
    rng = np.random.default_rng(5)
    mean, var = rng.normal(size=3).astype(np.float32), rng.uniform(0.5, 2, 3).astype(np.float32)
    layer.moving_mean.assign(mean)
    layer.moving_variance.assign(var)
    with torch.no_grad():
        module.running_mean.copy_(torch.from_numpy(mean))
        module.running_var.copy_(torch.from_numpy(var))
    module.eval()
    x = rng.normal(size=shape).astype(np.float32)
    r = rng.normal(size=shape).astype(np.float32)
    xn = Tensor(x, requires_grad=True)
    (layer(xn, training=False) * r).sum().backward()
    xt = torch.from_numpy(_nchw(x)).requires_grad_(True)
    (module(xt) * torch.from_numpy(_nchw(r))).sum().backward()
    np.testing.assert_allclose(_nchw(xn.grad), xt.grad.numpy(), **GRAD_X)
    np.testing.assert_allclose(layer.gamma.grad, module.weight.grad.numpy(), **GRAD_PARAM)
    np.testing.assert_allclose(layer.beta.grad, module.bias.grad.numpy(), **GRAD_PARAM)


@pytest.mark.parametrize("shape, axis", [((6, 10), -1), ((4, 5, 8), -1), ((3, 4, 5, 6), (-2, -1))],
                         ids=str)
def test_layer_norm_matches_torch(shape, axis):
    rng = np.random.default_rng(6)
    layer = layers.LayerNormalization(axis=axis, epsilon=1e-3)
    layer.build((None,) + shape[1:])
    normalized = tuple(layer.gamma.shape)
    gamma = rng.uniform(0.5, 1.5, normalized).astype(np.float32)
    beta = rng.normal(0, 0.5, normalized).astype(np.float32)
    layer.gamma.assign(gamma)
    layer.beta.assign(beta)
    x = rng.normal(1.0, 2.0, shape).astype(np.float32)
    r = rng.normal(size=shape).astype(np.float32)

    xn = Tensor(x, requires_grad=True)
    yn = layer(xn)
    (yn * r).sum().backward()
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    wt = torch.from_numpy(gamma.copy()).requires_grad_(True)
    bt = torch.from_numpy(beta.copy()).requires_grad_(True)
    yt = torch.nn.functional.layer_norm(xt, normalized, wt, bt, eps=1e-3)
    (yt * torch.from_numpy(r)).sum().backward()

    np.testing.assert_allclose(yn.numpy(), yt.detach().numpy(), **FWD)
    np.testing.assert_allclose(xn.grad, xt.grad.numpy(), **GRAD_X)
    np.testing.assert_allclose(layer.gamma.grad, wt.grad.numpy(), **GRAD_PARAM)
    np.testing.assert_allclose(layer.beta.grad, bt.grad.numpy(), **GRAD_PARAM)
