"""``keras.activations`` parity with torch on PyTorch CPU: values and gradients.

Each activation runs on the same float32 array (spread over [-8, 8], kept 1e-2 away from the
kinks of relu, relu6, relu(max_value=5), hard_sigmoid / hard_silu at 0, ±3, 5 and 6, where
the two libraries may pick different one-sided derivatives). The gradient is that of
``sum(g(x) * r)`` for a fixed random ``r``.

Keras defaults that differ from torch's and are passed explicitly to torch:
leaky_relu's negative_slope is 0.2 in Keras (torch: 0.01); gelu is exact by default in
``keras.activations`` (approximate=False), the tanh form when asked (torch: approximate="tanh").

Tolerances (float32, one transcendental function per value): rtol=1e-5, atol=1e-6 for values
and gradients; gelu(approximate=True)'s gradient atol=5e-6 (1 - tanh² cancels in its tail).
gelu's exact form uses erf: SciPy's when installed (as in the test extra), otherwise a series
accurate to ~1e-7, which keeps |x|·Δerf/2 < 4e-7 on [-8, 8], still inside these tolerances.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

import neuropil as keras  # noqa: E402
from neuropil.autodiff import Tensor  # noqa: E402

TOL = dict(rtol=1e-5, atol=1e-6)
# gelu's tanh form: its derivative holds 1 - tanh(u)², which cancels in float32 for x < -4
# on both sides (torch returns exactly 0 where neuropil returns -8e-7, both ~0).
GRAD_TOL = {"gelu_tanh": dict(rtol=1e-5, atol=5e-6)}

A = keras.activations
CASES = {
    "linear": (A.linear, lambda x: x),
    "relu": (A.relu, torch.relu),
    "relu6": (A.relu6, F.relu6),
    "relu_options": (lambda x: A.relu(x, negative_slope=0.1, max_value=5.0),
                     lambda x: torch.clamp(F.leaky_relu(x, 0.1), max=5.0)),
    "leaky_relu": (A.leaky_relu, lambda x: F.leaky_relu(x, 0.2)),
    "elu": (A.elu, F.elu),
    "selu": (A.selu, F.selu),
    "gelu": (A.gelu, F.gelu),
    "gelu_tanh": (lambda x: A.gelu(x, approximate=True),
                  lambda x: F.gelu(x, approximate="tanh")),
    "sigmoid": (A.sigmoid, torch.sigmoid),
    "hard_sigmoid": (A.hard_sigmoid, F.hardsigmoid),
    "tanh": (A.tanh, torch.tanh),
    "softmax": (A.softmax, lambda x: torch.softmax(x, -1)),
    "softmax_axis0": (lambda x: A.softmax(x, axis=0), lambda x: torch.softmax(x, 0)),
    "log_softmax": (A.log_softmax, lambda x: torch.log_softmax(x, -1)),
    "softplus": (A.softplus, F.softplus),
    "softsign": (A.softsign, F.softsign),
    "silu": (A.silu, F.silu),
    "swish": (A.swish, F.silu),
    "exponential": (A.exponential, torch.exp),
    "mish": (A.mish, F.mish),
    "hard_silu": (A.hard_silu, F.hardswish),
}

KINKS = np.array([0.0, -3.0, 3.0, 5.0, 6.0])


def _inputs(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-8, 8, size=(6, 7))
    near = np.abs(x[..., None] - KINKS).min(-1) < 1e-2
    x[near] += 0.05
    return x.astype(np.float32), rng.normal(size=(6, 7)).astype(np.float32)


@pytest.mark.parametrize("name", list(CASES))
def test_value_and_gradient_match_torch(name):
    ours_fn, torch_fn = CASES[name]
    x, r = _inputs()
    xt = Tensor(x.copy(), requires_grad=True)
    out = ours_fn(xt)
    (out * r).sum().backward()

    x_torch = torch.from_numpy(x.copy()).requires_grad_(True)
    t_out = torch_fn(x_torch)
    (t_out * torch.from_numpy(r)).sum().backward()

    assert out.dtype == np.float32 and xt.grad.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), t_out.detach().numpy(), **TOL)
    np.testing.assert_allclose(xt.grad, x_torch.grad.numpy(), **GRAD_TOL.get(name, TOL))


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "softmax", "gelu"])
def test_get_by_name_returns_the_same_function(name):
    assert A.get(name) is getattr(A, name)
    x, _ = _inputs(seed=1)
    np.testing.assert_array_equal(A.get(name)(x).numpy(), getattr(A, name)(x).numpy())


def test_large_inputs_stay_finite_like_torch():
    """float32 extremes: no overflow warnings (they are errors in this suite), same limits."""
    x = np.array([[-100.0, -30.0, 0.5, 30.0, 100.0]], np.float32)
    for name in ("sigmoid", "softplus", "softmax", "log_softmax", "silu", "mish", "elu"):
        ours_fn, torch_fn = CASES[name]
        np.testing.assert_allclose(ours_fn(x).numpy(), torch_fn(torch.from_numpy(x)).numpy(),
                                   **TOL, err_msg=name)
