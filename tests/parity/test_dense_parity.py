"""Dense layer parity with ``torch.nn.Linear`` (+ the same activation) on PyTorch CPU.

Both sides get identical float32 weights: neuropil's kernel is (in, out), torch's weight is
its transpose (out, in). Gradients come from neuropil's own engine: the layer's weights are
``Variable`` leaves, the input is a ``Tensor(requires_grad=True)``, and ``loss.backward()``
fills ``.grad`` -- exactly what ``Trainer.train_step`` does.

The scalar differentiated is ``sum(output * r)`` for a fixed random ``r``, so the upstream
gradient is generic (not all ones) and the activation's backward is fully exercised.

Tolerances (float32 throughout; every entry is a sum of at most 6 products of O(1) values,
so a few ulps of summation-order difference between NumPy's and torch's GEMMs and
activations is all that is expected; the observed worst case is ~3e-7 absolute):
    forward:   rtol=1e-5, atol=1e-6
    gradients: rtol=1e-5, atol=1e-6
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import neuropil as keras  # noqa: E402
from neuropil.autodiff import Tensor  # noqa: E402

FWD = dict(rtol=1e-5, atol=1e-6)
GRAD = dict(rtol=1e-5, atol=1e-6)

TORCH_ACTIVATIONS = {
    None: lambda z: z,
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "softmax": lambda z: torch.softmax(z, dim=-1),
}


def _pair(activation, in_dim, units, use_bias=True, seed=0):
    """A neuropil Dense and a torch Linear holding the same float32 weights."""
    rng = np.random.default_rng(seed)
    kernel = rng.normal(0.0, 0.5, size=(in_dim, units)).astype(np.float32)
    bias = rng.normal(0.0, 0.5, size=(units,)).astype(np.float32)
    layer = keras.layers.Dense(units, activation=activation, use_bias=use_bias)
    layer.build((None, in_dim))
    layer.set_weights([kernel, bias] if use_bias else [kernel])
    linear = torch.nn.Linear(in_dim, units, bias=use_bias)
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(kernel.T.copy()))
        if use_bias:
            linear.bias.copy_(torch.from_numpy(bias))
    return layer, linear


def _run(activation, input_shape, units=4, use_bias=True, seed=0):
    """Forward + backward of ``sum(act(x W + b) * r)`` on both sides."""
    rng = np.random.default_rng(seed + 100)
    x = rng.normal(size=input_shape).astype(np.float32)
    layer, linear = _pair(activation, input_shape[-1], units, use_bias, seed)
    r = rng.normal(size=input_shape[:-1] + (units,)).astype(np.float32)

    x_np = Tensor(x, requires_grad=True)
    out_np = layer(x_np)
    (out_np * r).sum().backward()

    x_t = torch.from_numpy(x.copy()).requires_grad_(True)
    out_t = TORCH_ACTIVATIONS[activation](linear(x_t))
    (out_t * torch.from_numpy(r)).sum().backward()
    return layer, linear, x_np, x_t, out_np, out_t


@pytest.mark.parametrize("activation", list(TORCH_ACTIVATIONS))
@pytest.mark.parametrize("input_shape", [(6, 5), (3, 2, 5)], ids=["2d", "3d"])
def test_forward_and_gradients_match_torch(activation, input_shape):
    layer, linear, x_np, x_t, out_np, out_t = _run(activation, input_shape)
    if activation == "relu":  # keep the test away from relu's kink, where both sides pick 0
        pre = linear(x_t).detach().numpy()
        assert np.abs(pre).min() > 1e-3
    assert out_np.dtype == np.float32
    assert out_np.shape == tuple(out_t.shape)
    np.testing.assert_allclose(out_np.numpy(), out_t.detach().numpy(), **FWD)
    np.testing.assert_allclose(layer.kernel.grad, linear.weight.grad.numpy().T, **GRAD)
    np.testing.assert_allclose(layer.bias.grad, linear.bias.grad.numpy(), **GRAD)
    np.testing.assert_allclose(x_np.grad, x_t.grad.numpy(), **GRAD)


def test_no_bias_matches_torch():
    layer, linear, x_np, x_t, out_np, out_t = _run("tanh", (6, 5), use_bias=False)
    assert layer.bias is None and len(layer.weights) == 1
    np.testing.assert_allclose(out_np.numpy(), out_t.detach().numpy(), **FWD)
    np.testing.assert_allclose(layer.kernel.grad, linear.weight.grad.numpy().T, **GRAD)
    np.testing.assert_allclose(x_np.grad, x_t.grad.numpy(), **GRAD)


def test_kernel_layout_is_in_by_out():
    """Keras stores the kernel as (in, out); torch's Linear weight is (out, in)."""
    layer, linear = _pair(None, 5, 3)
    assert layer.kernel.shape == (5, 3)
    assert tuple(linear.weight.shape) == (3, 5)
    np.testing.assert_array_equal(layer.kernel.numpy(), linear.weight.detach().numpy().T)


def test_gradients_accumulate_like_torch():
    """Two backward passes without zeroing add up on both sides (``.grad +=``)."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(4, 5)).astype(np.float32)
    layer, linear = _pair("sigmoid", 5, 3)
    for _ in range(2):
        layer(x).sum().backward()
        torch.sigmoid(linear(torch.from_numpy(x))).sum().backward()
    np.testing.assert_allclose(layer.kernel.grad, linear.weight.grad.numpy().T, **GRAD)
    np.testing.assert_allclose(layer.bias.grad, linear.bias.grad.numpy(), **GRAD)
