"""Shared test harness: ``check_op`` checks an op's gradient in a few lines."""
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
