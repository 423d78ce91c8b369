"""``backprop(model, x, y)``: one training step's gradients, shown and left unapplied.

The gradients come from the engine itself: the model runs with ``training=True``, the loss
is the compiled one (with its penalties, as ``train_step`` computes it), and
``loss.backward()`` fills each weight's ``.grad``. Nothing is updated: the weights (moving
statistics included) and their ``.grad`` are put back as they were.

For a last Dense layer the chain rule is written out with numbers:
dL/dz = dL/dy · g'(z), dL/dW = xᵀ · dL/dz, dL/db = Σ dL/dz over the batch.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from neuropil import activations
from neuropil.autodiff import Tensor
from neuropil.explain._format import num, shape_text, signed, vector
from neuropil.explain._graph import as_batch, leaf_layers, preserved, run
from neuropil.layers.core import Dense
from neuropil.training.compile_utils import CompiledLoss

__all__ = ["backprop", "BackpropReport", "WeightGradient", "ChainRule", "loss_function"]

_VECTOR_ACTIVATIONS = ("softmax", "log_softmax")


@dataclass
class WeightGradient:
    """dL/dw for one weight: ``grad`` (same shape as the weight), its norm and the weight's."""

    layer: str
    name: str
    grad: np.ndarray | None
    weight_norm: float

    @property
    def norm(self) -> float:
        return 0.0 if self.grad is None else float(np.linalg.norm(self.grad))

    @property
    def ratio(self) -> float:
        """‖dL/dw‖ / ‖w‖: how large a step of learning rate 1 would be, relative to w."""
        return self.norm / self.weight_norm if self.weight_norm else float("inf")

    @property
    def note(self) -> str:
        if self.grad is None:
            return "no gradient: the loss does not depend on it"
        if not np.any(self.grad):
            return "all zero for this batch: its inputs are 0, or the ReLUs after it are off"
        if self.weight_norm and self.ratio < 1e-6:
            return "vanishing: tiny next to the weight"
        return ""


@dataclass
class ChainRule:
    """The chain rule at the last Dense layer, for the whole batch (arrays (batch, units)).

    ``x`` is what the layer received, ``z = x·W + b``, ``y_pred = g(z)``; ``dL_dy``,
    ``dg_dz`` (None for softmax, whose Jacobian is not diagonal), ``dL_dz``, and the
    gradients ``dL_dW = xᵀ · dL/dz`` and ``dL_db = Σ dL/dz``.
    """

    layer: str
    activation: str
    x: np.ndarray
    z: np.ndarray
    y_pred: np.ndarray
    y_true: np.ndarray
    dL_dy: np.ndarray
    dg_dz: np.ndarray | None
    dL_dz: np.ndarray
    dL_dW: np.ndarray
    dL_db: np.ndarray | None
    matches_engine: float = 0.0   # max |dL_dW (here) - kernel.grad (engine)|, penalties aside

    def lines(self, limit: int = 4, digits: int = 3) -> list:
        batch, g = len(self.x), self.activation
        d = digits
        out = [f"Chain rule at the last layer, {self.layer} (Dense, {g}), on sample 0 (of "
               f"{batch}):",
               f"  z = x·W + b = {vector(self.z[0], limit, d)}",
               f"  y_pred = {g}(z) = {vector(self.y_pred[0], limit, d)}; y_true = "
               f"{vector(np.reshape(self.y_true, (batch, -1))[0], limit, d)}",
               f"  dL/dy = {vector(self.dL_dy[0], limit, d)}   (how the loss changes with "
               "each output)"]
        if self.dg_dz is not None:
            products = ", ".join(f"{signed(a, d)}·{signed(b, d)}" for a, b in
                                 zip(self.dL_dy[0][:limit], self.dg_dz[0][:limit]))
            out.append(f"  dL/dz = dL/dy · {g}'(z) = ({products}) = "
                       f"{vector(self.dL_dz[0], limit, d)}")
        else:
            out.append(f"  dL/dz = {vector(self.dL_dz[0], limit, d)}   ({g} mixes the "
                       "outputs: dL/dz = J_softmaxᵀ · dL/dy; with cross-entropy it is "
                       "(y_pred − y_true) / batch)")
        over = "" if batch == 1 else f", summed over the {batch} samples"
        out.append(f"  dL/dW[i, j] = x_i · dL/dz_j{over}:")
        rows, cols = self.dL_dW.shape
        shown = [(i, j) for i in range(rows) for j in range(cols)][:2 * limit]
        for i, j in shown:
            terms = " + ".join(f"{signed(self.x[s, i], d)}·{signed(self.dL_dz[s, j], d)}"
                               for s in range(min(batch, 3)))
            more = f" + … ({batch - 3} more samples)" if batch > 3 else ""
            out.append(f"    dL/dW[{i + 1}, {j + 1}] = {terms}{more} = "
                       f"{num(self.dL_dW[i, j], d)}")
        if rows * cols > len(shown):
            out.append(f"    … {rows * cols - len(shown)} more entries")
        if self.dL_db is not None:
            out.append(f"  dL/db = Σ dL/dz = {vector(self.dL_db, limit, d)}")
        out.append(f"  (written out here = the engine's gradient: max difference "
                   f"{num(self.matches_engine, 2)})")
        return out


@dataclass
class BackpropReport:
    """What ``backprop`` returns.

    Attributes:
        loss: the training loss of the batch (penalties included), as ``train_step`` sees it.
        data_loss: the loss without penalties (equal to ``loss`` when there are none).
        gradients: one ``WeightGradient`` per trainable weight, in layer order.
        chain: the ``ChainRule`` at a last Dense layer, or None.
    """

    model_name: str
    loss_name: str
    batch: int
    loss: float
    data_loss: float
    gradients: list = field(default_factory=list)
    chain: ChainRule | None = None
    digits: int = 3

    def grad(self, name: str) -> np.ndarray:
        """The gradient of a weight by path, "dense_1/kernel" (or "kernel" if unique)."""
        for entry in self.gradients:
            if f"{entry.layer}/{entry.name}" == name or \
                    f"{entry.layer.rsplit('/', 1)[-1]}/{entry.name}" == name:
                return entry.grad
        found = [entry for entry in self.gradients if entry.name == name]
        if len(found) == 1:
            return found[0].grad
        raise KeyError(f"No single weight {name!r}. Weights: "
                       f"{[f'{e.layer}/{e.name}' for e in self.gradients]}")

    def __str__(self) -> str:
        d = self.digits
        lines = [f'One training step of "{self.model_name}", shown (the weights are not '
                 "changed)",
                 f"loss ({self.loss_name}) on {self.batch} sample"
                 f"{'' if self.batch == 1 else 's'}: {num(self.loss, d)}"
                 + ("" if self.loss == self.data_loss else
                    f" = data loss {num(self.data_loss, d)} + penalties "
                    f"{num(self.loss - self.data_loss, d)}")]
        if self.chain is not None:
            lines += [""] + self.chain.lines(digits=d)
        lines += ["", "Gradient norms, weight by weight (‖dL/dw‖, ‖w‖, and their ratio):"]
        width = max([len(f"{e.layer}/{e.name}") for e in self.gradients] + [6])
        for e in self.gradients:
            shape = shape_text(e.grad.shape) if e.grad is not None else ""
            note = f"  {e.note}" if e.note else ""
            ratio = num(e.ratio, d) if e.weight_norm else "-"
            lines.append(f"  {f'{e.layer}/{e.name}':<{width}} {shape:<10} ‖dL/dw‖ = "
                         f"{num(e.norm, d):<7} ‖w‖ = {num(e.weight_norm, d):<7} ratio "
                         f"{ratio:<6}{note}".rstrip())
        return "\n".join(lines)


# ---- helpers shared with the model gradient check -------------------------------------------
def loss_function(model, loss=None):
    """``(y_true, y_pred, sample_weight) -> loss tensor``: ``loss`` if given, else the model's
    compiled loss (penalties are added separately)."""
    if loss is not None:
        return CompiledLoss(loss)
    compiled = getattr(model, "_compiled_loss", None)
    if compiled is None:
        raise ValueError(f'Model "{model.name}" has no loss: compile it first (e.g. '
                         "model.compile(optimizer='sgd', loss='mse')) or pass loss='mse'.")
    return compiled


def total_loss(model, data_loss):
    """The data loss plus every penalty (weight regularizers, activity and added losses)."""
    total = data_loss
    for penalty in model.losses:
        total = total + penalty
    return total


def _labels(y, added: bool):
    y = np.asarray(y)
    return y[None] if added else y


# ---- backprop --------------------------------------------------------------------------------
def backprop(model, x, y, loss=None, sample_weight=None, training: bool = True,
             digits: int = 3) -> BackpropReport:
    """One training step's loss and gradients, computed by the engine, shown, not applied.

    Args:
        model: a built model, compiled (or pass ``loss``).
        x, y: one sample (without the batch axis) or a batch, and its targets.
        loss: a loss to use instead of the compiled one.
        sample_weight: optional per-sample weights, as in ``fit``.
        training: the training flag of the forward pass (default True, as in ``fit``;
            Dropout draws from the random generator).
        digits: decimals in the report.

    Returns:
        A ``BackpropReport``: ``loss``, ``gradients`` (per weight: ``grad``, ``norm``),
        ``chain`` (the chain rule at a last Dense layer); ``print`` it for the report.
    """
    x, added = as_batch(model, x)
    y = _labels(y, added)
    loss_fn = loss_function(model, loss)
    weights = [v for v in model.trainable_weights]
    with preserved(model):
        for weight in weights:
            weight.grad = None
        steps = []
        y_pred = run(model, x, training=training, steps=steps)
        data_loss = loss_fn(y, y_pred, sample_weight)
        total = total_loss(model, data_loss)
        total.backward()
        gradients = _gradients(model)
        chain = _chain_rule(steps, y_pred, y, loss_fn, sample_weight)
    name = getattr(getattr(loss_fn, "loss", None), "name", None) or str(
        getattr(loss_fn, "identifier", loss))
    return BackpropReport(model.name, name, len(np.asarray(y_pred.data)),
                          float(total.data), float(data_loss.data), gradients, chain, digits)


def _gradients(model) -> list:
    out, seen = [], set()
    for path, layer in leaf_layers(model):
        for weight in layer.trainable_weights:
            if id(weight) in seen:
                continue
            seen.add(id(weight))
            grad = None if weight.grad is None else np.array(weight.grad)
            out.append(WeightGradient(path, weight.name, grad,
                                      float(np.linalg.norm(np.asarray(weight.data,
                                                                      np.float64)))))
    return out


def _leaf_grad(fn, value, grad_out=None):
    """The gradient of ``fn`` at ``value`` (a fresh leaf), by the engine."""
    leaf = Tensor(np.array(value), requires_grad=True)
    out = fn(leaf)
    out.backward(grad_out if grad_out is not None else None)
    return np.array(leaf.grad, np.float64)


def _chain_rule(steps, y_pred, y, loss_fn, sample_weight):
    if not steps or not isinstance(steps[-1].layer, Dense) or steps[-1].outputs is not y_pred:
        return None
    layer = steps[-1].layer
    x = np.asarray(steps[-1].inputs.data, np.float64)
    if x.ndim != 2:
        return None
    kernel = np.asarray(layer.kernel.data, np.float64)
    z64 = x @ kernel + (0 if layer.bias is None else np.asarray(layer.bias.data, np.float64))
    z = z64.astype(layer.compute_dtype)
    g = activations.serialize(layer.activation)
    dL_dy = _leaf_grad(lambda t: loss_fn(y, t, sample_weight), y_pred.data)
    dL_dz = _leaf_grad(lambda t: loss_fn(y, layer.activation(t), sample_weight), z)
    dg_dz = None
    if g not in _VECTOR_ACTIVATIONS:
        dg_dz = _leaf_grad(layer.activation, z, np.ones_like(z))
    dL_dW = x.T @ dL_dz
    dL_db = dL_dz.sum(axis=0) if layer.bias is not None else None
    engine = np.asarray(layer.kernel.grad, np.float64) if layer.kernel.grad is not None else 0
    matches = float(np.max(np.abs(dL_dW - engine))) if layer.kernel.regularizer is None \
        else 0.0
    return ChainRule(layer.name, g, x, z64, np.asarray(y_pred.data, np.float64), np.asarray(y),
                     dL_dy, dg_dz, dL_dz, dL_dW, dL_db, matches)
