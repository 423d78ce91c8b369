"""Shared test harness: ``check_op`` checks an op's gradient in a few lines;
``optimizer_problem`` is the weights and gradients the optimizer tests replay."""
from __future__ import annotations

import numpy as np

from neuropil.explain import gradient_check


def check_op(fn, *inputs, rtol: float = 1e-4, atol: float = 1e-6, **kwargs):
    """Asserts that ``fn``'s backward matches central differences in float64.

    Prints both gradients on failure (via the result's ``str``).
    """
    result = gradient_check(fn, *inputs, rtol=rtol, atol=atol, **kwargs)
    assert result.ok, str(result)
    return result


def random_array(*shape, seed: int = 0, low: float = -2.0, high: float = 2.0) -> np.ndarray:
    """float64 values in [low, high), away from 0 by at least 0.05 (kinks of relu/abs)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(low, high, size=shape)
    return np.where(np.abs(x) < 0.05, 0.1, x)


def optimizer_problem(seed: int = 0, steps: int = 10, grad_scale: float = 1.0):
    """float32 weights of shapes (3, 4) and (4,), and ``steps`` lists of seeded gradients for
    them, scaled by ``grad_scale``: what the optimizer tests replay in neuropil and torch."""
    rng = np.random.default_rng(seed)
    params = [rng.normal(size=(3, 4)).astype(np.float32),
              rng.normal(size=(4,)).astype(np.float32)]
    grads = [[(grad_scale * rng.normal(size=p.shape)).astype(np.float32) for p in params]
             for _ in range(steps)]
    return params, grads
