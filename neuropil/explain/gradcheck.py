"""Checks backpropagation against central differences, in float64.

``gradient_check(fn, *inputs)`` checks a function of tensors (an op, a composed function);
``gradient_check(model, x, y)`` checks every weight of a model through its loss (see
``modelcheck.py``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from neuropil.autodiff import Tensor, no_grad
from neuropil.explain.modelcheck import check_model_gradients
from neuropil.models.model import Model

__all__ = ["gradient_check", "GradientCheckResult"]


@dataclass
class GradientCheckResult:
    """What ``gradient_check`` found, one entry per input that was checked.

    Attributes:
        analytic: gradients from ``backward()``.
        numeric: gradients from central differences.
        max_abs_error: per input, the largest |analytic - numeric|.
        max_rel_error: per input, that error divided by the largest |numeric| (>= 1e-12).
        ok: whether every input passed ``np.allclose(analytic, numeric, rtol, atol)``.
    """

    analytic: list = field(default_factory=list)
    numeric: list = field(default_factory=list)
    max_abs_error: list = field(default_factory=list)
    max_rel_error: list = field(default_factory=list)
    ok: bool = True

    def __str__(self) -> str:
        lines = ["gradient check: " + ("passed" if self.ok else "FAILED")]
        for i, (a, r) in enumerate(zip(self.max_abs_error, self.max_rel_error)):
            lines.append(f"  input {i}: max abs error {a:.3e}, max relative error {r:.3e}")
        if not self.ok:
            for i, (an, nu) in enumerate(zip(self.analytic, self.numeric)):
                lines.append(f"  input {i} backward:\n{an}\n  input {i} central differences:\n{nu}")
        return "\n".join(lines)


def gradient_check(fn, *inputs, wrt=None, eps: float = 1e-6, rtol: float = 1e-4,
                   atol: float = 1e-6, seed: int = 0, **model_options):
    """Compares the gradients of ``fn`` computed by backpropagation with central differences.

    Given a model, ``gradient_check(model, x, y)`` checks each trainable weight's gradient of
    the model's loss instead and returns a ``ModelGradientCheck`` (the worst relative error
    per layer); ``model_options`` (``loss``, ``max_checks``, ``training``,
    ``sample_weight``) go to ``check_model_gradients``.

    ``fn`` takes tensors and returns a tensor of any shape; it is reduced to a scalar with a
    fixed random weighting, so every output element takes part. Inputs are promoted to
    float64, where central differences are accurate to about 1e-10.

    Args:
        fn: a function of tensors, built from neuropil ops.
        *inputs: array-likes; float ones are checked, integer ones (labels) passed through.
        wrt: indices of the inputs to check (default: every float input).
        eps: the step of the central difference.
        rtol, atol: tolerances of the pass/fail verdict.
        seed: seed of the random output weighting.

    Returns:
        A ``GradientCheckResult``; ``print`` it to see both gradients when it fails.

    Example:
    >>> from neuropil import ops
    >>> from neuropil.explain import gradient_check
    >>> gradient_check(lambda x: ops.tanh(x), [[0.5, -1.0]]).ok
    True
    """
    if isinstance(fn, Model):
        return check_model_gradients(fn, *inputs, eps=eps, rtol=rtol, atol=atol, seed=seed,
                                     **model_options)
    if model_options:
        raise TypeError(f"gradient_check: unexpected arguments {sorted(model_options)} (they "
                        "apply only when checking a model: gradient_check(model, x, y)).")
    arrays = [np.array(x, dtype=np.float64) if np.asarray(x).dtype.kind == "f"
              else np.asarray(x) for x in inputs]
    if wrt is None:
        wrt = [i for i, a in enumerate(arrays) if a.dtype.kind == "f"]
    with no_grad():
        out_shape = np.shape(fn(*[Tensor(a) for a in arrays]).data)
    weights = np.random.default_rng(seed).standard_normal(out_shape)

    def scalar(values) -> float:
        with no_grad():
            return float((fn(*[Tensor(a) for a in values]).data * weights).sum())

    tensors = [Tensor(a, requires_grad=i in wrt) for i, a in enumerate(arrays)]
    out = fn(*tensors)
    out.backward(weights.astype(out.dtype))

    result = GradientCheckResult()
    for i in wrt:
        analytic = tensors[i].grad if tensors[i].grad is not None else np.zeros_like(arrays[i])
        numeric = np.zeros_like(arrays[i])
        for idx in np.ndindex(arrays[i].shape):  # a checker, not a hot path: clarity first
            original = arrays[i][idx]
            arrays[i][idx] = original + eps
            plus = scalar(arrays)
            arrays[i][idx] = original - eps
            minus = scalar(arrays)
            arrays[i][idx] = original
            numeric[idx] = (plus - minus) / (2 * eps)
        abs_err = float(np.max(np.abs(analytic - numeric), initial=0.0))
        result.analytic.append(analytic)
        result.numeric.append(numeric)
        result.max_abs_error.append(abs_err)
        result.max_rel_error.append(abs_err / max(float(np.max(np.abs(numeric), initial=0)), 1e-12))
        result.ok &= bool(np.allclose(analytic, numeric, rtol=rtol, atol=atol))
    return result
