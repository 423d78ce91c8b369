"""``gradient_check(model, x, y)``: every weight's backward pass against central differences.

The whole model is evaluated in float64 for the check: each layer computes in float64 and
each weight holds a float64 copy of its values; on exit the layers' dtypes and the weights'
own arrays (the very same objects, so optimizer slots stay attached) are put back.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from neuropil.autodiff import no_grad
from neuropil.explain._format import num
from neuropil.explain._graph import as_batch, leaf_layers, run
from neuropil.explain.backprop import loss_function, total_loss

__all__ = ["check_model_gradients", "ModelGradientCheck", "WeightCheck"]


@dataclass
class WeightCheck:
    """One weight: how many of its entries were checked and the largest errors found."""

    layer: str
    name: str
    shape: tuple
    checked: int
    max_abs_error: float
    max_rel_error: float
    ok: bool
    analytic: np.ndarray   # at the checked entries (flat)
    numeric: np.ndarray


@dataclass
class ModelGradientCheck:
    """What ``gradient_check(model, x, y)`` returns: ``weights`` (one ``WeightCheck`` each),
    ``ok``, and per layer the worst relative error (``by_layer``)."""

    model_name: str
    loss: float
    weights: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(w.ok for w in self.weights)

    @property
    def by_layer(self) -> dict:
        """layer path -> (worst relative error, ok) over its weights."""
        out = {}
        for w in self.weights:
            worst, ok = out.get(w.layer, (0.0, True))
            out[w.layer] = (max(worst, w.max_rel_error), ok and w.ok)
        return out

    def __str__(self) -> str:
        lines = [f'gradient check of "{self.model_name}" (float64, loss {num(self.loss, 4)}): '
                 + ("passed" if self.ok else "FAILED")]
        width = max([len(name) for name in self.by_layer] + [5])
        for layer, (worst, ok) in self.by_layer.items():
            checked = sum(w.checked for w in self.weights if w.layer == layer)
            size = sum(int(np.prod(w.shape)) for w in self.weights if w.layer == layer)
            lines.append(f"  {layer:<{width}}  worst relative error {worst:.2e} over {checked} "
                         f"of {size} weights  {'ok' if ok else 'WRONG'}")
        for w in self.weights:
            if not w.ok:
                lines.append(f"  {w.layer}/{w.name}: backward {np.array2string(w.analytic[:6])}"
                             f" vs central differences {np.array2string(w.numeric[:6])}")
        return "\n".join(lines)


def _all_layers(model) -> list:
    found, stack = [], [model]
    while stack:
        layer = stack.pop()
        if any(layer is seen for seen in found):
            continue
        found.append(layer)
        stack.extend(layer._sublayers())
    return found


@contextmanager
def float64(model):
    """Runs ``model`` in float64 inside the block; restores dtypes and weight arrays after."""
    layers = [(layer, layer._dtype) for layer in _all_layers(model)]
    weights = [(v, v.data, v.grad) for v in model.weights]
    try:
        for layer, _ in layers:
            layer._dtype = "float64"
        for variable, data, _ in weights:
            variable.data = np.array(data, np.float64)
            variable.grad = None
        yield
    finally:
        for layer, dtype in layers:
            layer._dtype = dtype
        for variable, data, grad in weights:
            variable.data, variable.grad = data, grad


def check_model_gradients(model, x, y, loss=None, sample_weight=None, eps: float = 1e-6,
                          rtol: float = 1e-4, atol: float = 1e-6, max_checks: int = 20,
                          seed: int = 0, training: bool = False) -> ModelGradientCheck:
    """Compares each trainable weight's gradient of the loss with central differences.

    Args:
        model: a built model, compiled (or pass ``loss``).
        x, y: a small batch (or one sample) and its targets.
        loss: a loss to use instead of the compiled one.
        eps: the central difference step (in float64).
        rtol, atol: tolerances of each weight's pass / fail (``np.allclose``).
        max_checks: entries checked per weight (chosen at random with ``seed`` when the
            weight has more); each costs two forward passes.
        training: the layers' training flag (default False: Dropout would make the loss
            random; BatchNormalization then uses its moving statistics).

    Returns:
        A ``ModelGradientCheck``; ``print`` it for the worst relative error per layer.
        A ReLU or max-pool input within ``eps`` of a kink can fail a correct model: rerun
        with another batch.
    """
    x, added = as_batch(model, x)
    y = np.asarray(y)[None] if added else np.asarray(y)
    loss_fn = loss_function(model, loss)
    rng = np.random.default_rng(seed)
    x = x.astype(np.float64) if isinstance(x, np.ndarray) and x.dtype.kind == "f" else x

    def evaluate():
        data_loss = loss_fn(y, run(model, x, training=training), sample_weight)
        return total_loss(model, data_loss)

    owners = []   # (layer path, weight), each trainable weight once
    for path, layer in leaf_layers(model):
        for weight in layer.trainable_weights:
            if all(weight is not seen for _, seen in owners):
                owners.append((path, weight))
    result = ModelGradientCheck(model.name, 0.0)
    with float64(model):
        value = evaluate()
        value.backward()
        result.loss = float(value.data)
        for path, weight in owners:
            grad = np.zeros(weight.shape) if weight.grad is None else np.array(weight.grad)
            size = weight.data.size
            picks = np.arange(size) if size <= max_checks else \
                np.sort(rng.choice(size, max_checks, replace=False))
            flat = weight.data.reshape(-1)  # a view: writes reach the weight
            numeric = np.empty(len(picks))
            with no_grad():
                for k, index in enumerate(picks):
                    original = flat[index]
                    flat[index] = original + eps
                    plus = float(evaluate().data)
                    flat[index] = original - eps
                    minus = float(evaluate().data)
                    flat[index] = original
                    numeric[k] = (plus - minus) / (2 * eps)
            analytic = grad.reshape(-1)[picks]
            abs_err = float(np.max(np.abs(analytic - numeric), initial=0.0))
            scale = max(float(np.max(np.abs(numeric), initial=0.0)), 1e-12)
            result.weights.append(WeightCheck(
                path, weight.name, tuple(weight.shape), len(picks), abs_err, abs_err / scale,
                bool(np.allclose(analytic, numeric, rtol=rtol, atol=atol)), analytic, numeric))
    return result
