"""What ``compile`` resolves: the loss to minimize and the metrics to report, per output.

A model with several outputs takes one loss for all of them, a list (one per output, None to
skip one) or a dict keyed by output name; ``loss_weights`` scales each output's loss in the
total; metrics come as a list per output or a dict. Logs follow Keras 3: each output's
unweighted loss as ``"<name>_loss"`` and its metrics as ``"<name>_<metric>"``, where the
name is the key of a dict of outputs, else the name of the layer that makes the output.
"""
from __future__ import annotations

import numpy as np

from neuropil import losses, metrics as metrics_module
from neuropil.autodiff import Tensor
from neuropil.layers.node import dict_keys, flatten_structure

__all__ = ["CompiledLoss", "CompiledMetrics", "is_binary_or_sparse", "flatten_outputs",
           "output_keys"]


def is_binary_or_sparse(y_true_shape, y_pred_shape) -> tuple:
    """Keras's rule for "accuracy" / "crossentropy": a single output unit means binary;
    labels of lower rank (or a last axis of 1 against several units) mean sparse."""
    binary = y_pred_shape[-1] == 1
    sparse = len(y_true_shape) < len(y_pred_shape) or (y_true_shape[-1] == 1 and
                                                       y_pred_shape[-1] > 1)
    return binary, sparse


def output_keys(y_pred, output_names) -> list | None:
    """The names of the outputs, in flattened order: the keys of a dict of predictions,
    else the model's ``output_names`` (None when unknown, e.g. a subclassed model)."""
    if isinstance(y_pred, dict):
        return dict_keys(y_pred)
    if output_names and len(output_names) == len(flatten_structure(y_pred)):
        return list(output_names)
    return None


def flatten_outputs(data, keys, count: int, what: str) -> list:
    """Targets (or sample weights) -> one entry per output, matched to the predictions.

    A dict is read by output name; a list or tuple must have one entry per output; a single
    array goes with a single output (or, for sample weights, with every output).
    """
    if isinstance(data, dict):
        return _by_output_name(data, keys, count, what, f"The model's outputs are {keys}.")
    if isinstance(data, (list, tuple)):
        if len(data) != count:
            raise ValueError(f"`{what}` holds {len(data)} arrays, but the model has {count} "
                             f"output(s){'' if keys is None else ' ' + str(keys)}: pass one "
                             "per output, in order, or a dict keyed by output name.")
        return list(data)
    if count == 1 or what == "sample_weight" or data is None:
        return [data] * count
    raise ValueError(f"The model has {count} outputs {keys or ''}, but `{what}` is a single "
                     "array: pass a list with one array per output, or a dict keyed by output "
                     "name.")


def _by_output_name(mapping: dict, keys, count: int, what: str, expected: str) -> list:
    """A dict keyed by output name -> one entry per output (None where it has no key)."""
    if keys is None:
        raise ValueError(f"`{what}` is a dict, but this model's outputs have no names; pass "
                         f"a list with one entry per output ({count}).")
    unknown = [key for key in mapping if key not in keys]
    if unknown:
        raise ValueError(f"`{what}` has keys {unknown} that are not output names. {expected}")
    return [mapping.get(key) for key in keys]


def _per_output(value, keys, count: int, what: str) -> list:
    """A compile argument (loss, loss weights, metrics) -> one entry per output."""
    if isinstance(value, dict):
        return _by_output_name(value, keys, count, what,
                               f"Expected keys among {keys} (the names of the layers that make "
                               "the outputs, or the keys of a dict of outputs).")
    if isinstance(value, (list, tuple)):
        if len(value) != count:
            raise ValueError(f"`{what}` has {len(value)} entries, but the model has {count} "
                             f"output(s){'' if keys is None else ' ' + str(keys)}. Pass one "
                             "entry per output (None to skip one), or a dict keyed by output "
                             "name.")
        return list(value)
    return [value] * count


def _wrap_loss(loss):
    if loss is None or isinstance(loss, losses.Loss):
        return loss
    return losses.LossFunctionWrapper(loss, name=getattr(loss, "__name__", "loss"))


class _OutputLoss:
    """One output's loss, resolved lazily when it depends on the data ("crossentropy")."""

    def __init__(self, identifier):
        self.identifier = identifier
        self.loss = None if isinstance(identifier, str) and \
            identifier.lower() in ("crossentropy", "ce") else _wrap_loss(losses.get(identifier))

    def __call__(self, y_true, y_pred, sample_weight=None) -> Tensor:
        if self.loss is None:
            binary, sparse = is_binary_or_sparse(np.shape(y_true), y_pred.shape)
            self.loss = _wrap_loss(losses.binary_crossentropy if binary else
                                   losses.sparse_categorical_crossentropy if sparse else
                                   losses.categorical_crossentropy)
        return self.loss(y_true, y_pred, sample_weight)


class CompiledLoss:
    """The compiled loss of a model with one or several outputs.

    Args:
        loss: a loss for every output, or a list / dict of them (None skips an output).
        loss_weights: a float (single output), or a list / dict of floats, one per output.
        output_names: the model's ``output_names`` (None for a subclassed model).
    """

    def __init__(self, loss, loss_weights=None, output_names=None):
        if loss_weights is not None and not isinstance(loss_weights, (list, tuple, dict,
                                                                      float, int)):
            raise ValueError("Expected `loss_weights` argument to be a float (single output "
                             "case) or a list, tuple, or dict (multiple output case). "
                             f"Received instead: loss_weights={loss_weights} of type "
                             f"{type(loss_weights)}")
        self.identifier, self.loss_weights = loss, loss_weights
        self.output_names = output_names
        self.built = False
        self.trackers: list = []   # "<name>_loss" means, when there are several losses
        # NOTE: resolved now (and again per output at build), so that an unknown name fails
        # at compile time.
        for identifier in _flatten_identifiers(loss):
            _OutputLoss(identifier)

    def build(self, y_pred) -> None:
        flat = flatten_structure(y_pred)
        keys = output_keys(y_pred, self.output_names)
        if len(flat) == 1 and isinstance(self.identifier, (list, tuple, dict)) and \
                len(self.identifier) == 1:
            # A one-output model compiled with [loss] or {name: loss}, as Keras allows.
            identifier = list(self.identifier.values() if isinstance(self.identifier, dict)
                              else self.identifier)
            self._check_keys(self.identifier, keys)
        else:
            identifier = _per_output(self.identifier, keys, len(flat), "loss")
        weights = self.loss_weights
        if isinstance(weights, (int, float)) or weights is None:
            weights = [weights] * len(flat)
        else:
            weights = _per_output(weights, keys, len(flat), "loss_weights")
        self.keys, self.count = keys, len(flat)
        # One per output, even for a shared identifier: "crossentropy" resolves per output.
        self.losses = [None if ident is None else _OutputLoss(ident) for ident in identifier]
        self.weights = weights
        if not any(self.losses):
            raise ValueError("`loss` gives no loss for any output: every entry is None.")
        active = [i for i, loss in enumerate(self.losses) if loss is not None]
        self.trackers, used = [None] * len(flat), {}
        if len(active) > 1:
            for i in active:
                # Keras names it after the output, or (outputs without names) the loss.
                resolved = self.losses[i].loss
                name = keys[i] if keys else resolved.name if resolved else f"output_{i}"
                name = _log_name(f"{name}_loss", None, False, used)
                tracker = metrics_module.Mean(name=name)
                tracker._direction = "down"
                self.trackers[i] = tracker
        self.built = True

    @staticmethod
    def _check_keys(identifier, keys) -> None:
        if isinstance(identifier, dict) and keys is not None and not set(identifier) <= \
                set(keys):
            raise ValueError(f"Expected keys {keys} in loss dict, but found "
                             f"loss.keys()={list(identifier)}")

    def __call__(self, y_true, y_pred, sample_weight=None) -> Tensor:
        if not self.built:
            self.build(y_pred)
        if self.count == 1 and not isinstance(y_pred, (list, tuple, dict)):
            value = self.losses[0](_single(y_true, self.keys), y_pred, _single(sample_weight,
                                                                             self.keys))
            return value if self.weights[0] is None else value * float(self.weights[0])
        predictions = flatten_structure(y_pred)
        targets = flatten_outputs(y_true, self.keys, self.count, "y")
        weights = flatten_outputs(sample_weight, self.keys, self.count, "sample_weight")
        total = None
        for i, (loss, yt, yp) in enumerate(zip(self.losses, targets, predictions)):
            if loss is None:
                continue
            if yt is None:
                raise ValueError(f"No targets for output {self.keys[i] if self.keys else i}, "
                                 "which has a loss: give its targets in `y`, or its loss as "
                                 "None.")
            value = loss(yt, yp, weights[i])
            if self.trackers[i] is not None:
                self.trackers[i].update_state(np.asarray(value.data), sample_weight=len(yp.data))
            if self.weights[i] is not None:
                value = value * float(self.weights[i])
            total = value if total is None else total + value
        return total


def _single(value, keys):
    """The one entry of a one-output model's targets given as ``[y]`` or ``{name: y}``."""
    if isinstance(value, dict) and len(value) == 1:
        return next(iter(value.values()))
    if isinstance(value, (list, tuple)) and len(value) == 1 and not np.isscalar(value[0]):
        return value[0]
    return value


class CompiledMetrics:
    """The compiled metrics, built on the first batch ("accuracy" needs the shapes).

    ``metrics`` / ``weighted_metrics``: a list (for a one-output model: all of them apply;
    for several outputs: one entry per output, each a metric, a list of metrics or None) or
    a dict keyed by output name.
    """

    def __init__(self, metrics, weighted_metrics=None, output_names=None):
        for name, value in (("metrics", metrics), ("weighted_metrics", weighted_metrics)):
            if value and not isinstance(value, (list, tuple, dict)):
                raise ValueError(f"Expected `{name}` argument to be a list, tuple, or dict. "
                                 f"Received instead: {name}={value} of type {type(value)}")
        self.identifiers = metrics if metrics is not None else []
        self.weighted_identifiers = weighted_metrics if weighted_metrics is not None else []
        self.output_names = output_names
        self.per_output: list = []  # [(metric, output index, weighted, log name)]
        self.built = False

    @property
    def metrics(self) -> list:
        return [m for m, _, weighted, _ in self.per_output if not weighted]

    @property
    def weighted(self) -> list:
        return [m for m, _, weighted, _ in self.per_output if weighted]

    def build(self, y_true, y_pred) -> None:
        flat = flatten_structure(y_pred)
        keys = output_keys(y_pred, self.output_names)
        self.keys, self.count = keys, len(flat)
        targets = flatten_outputs(y_true, keys, len(flat), "y") if len(flat) > 1 else \
            [_single(y_true, keys)]
        used: dict = {}
        self.per_output = []
        for identifiers, weighted in ((self.identifiers, False),
                                      (self.weighted_identifiers, True)):
            if len(flat) == 1:
                groups = [_flatten_identifiers(identifiers)]
            else:
                groups = [_as_list(group) for group in
                          _per_output(identifiers, keys, len(flat), "weighted_metrics"
                                      if weighted else "metrics")] if identifiers else \
                    [[] for _ in flat]
            for index, group in enumerate(groups):
                shapes = np.shape(targets[index]), np.shape(flat[index])
                prefix = keys[index] if keys is not None and len(flat) > 1 else None
                for identifier in group:
                    metric = _resolve(identifier, *shapes)
                    name = _log_name(metric.name, prefix, weighted, used)
                    if not isinstance(identifier, metrics_module.Metric):
                        metric.name = name  # ours: named as logged (callbacks look it up)
                    self.per_output.append((metric, index, weighted, name))
        self.built = True

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        if not self.built:
            self.build(y_true, y_pred)
        if not self.per_output:
            return
        if self.count == 1:
            targets, predictions = [_single(y_true, self.keys)], [flatten_structure(y_pred)[0]]
            weights = [_single(sample_weight, self.keys)]
        else:
            targets = flatten_outputs(y_true, self.keys, self.count, "y")
            predictions = flatten_structure(y_pred)
            weights = flatten_outputs(sample_weight, self.keys, self.count, "sample_weight")
        for metric, index, weighted, _ in self.per_output:
            prediction = predictions[index]
            prediction = prediction.data if isinstance(prediction, Tensor) else prediction
            if weighted:
                metric.update_state(targets[index], prediction, sample_weight=weights[index])
            else:
                metric.update_state(targets[index], prediction)

    def reset_state(self) -> None:
        for metric, _, _, _ in self.per_output:
            metric.reset_state()

    def results(self) -> dict:
        return {name: m.result() for m, _, _, name in self.per_output}

    # As one metric (Keras's "compile_metrics"): what ``model.metrics`` lists until the first
    # batch has built the metrics, so that a custom train_step looping over
    # ``self.metrics`` (``metric.update_state(y, y_pred)``) builds and updates them.
    name = "compile_metrics"

    @property
    def variables(self) -> list:
        return [v for metric, _, _, _ in self.per_output for v in metric.variables]

    def result(self) -> dict:
        return self.results()

    @property
    def names(self) -> list:
        return [name for _, _, _, name in self.per_output]


def _log_name(name: str, prefix, weighted: bool, used: dict) -> str:
    """Keras's naming: ``<output>_<metric>``; a repeated name gets ``_1``, ``_2``; a weighted
    metric named like an unweighted one becomes ``weighted_<metric>``."""
    full = f"{prefix}_{name}" if prefix else name
    if full in used and weighted:
        full = f"{prefix}_weighted_{name}" if prefix else f"weighted_{name}"
    if full in used:
        used[full] += 1
        return f"{full}_{used[full] - 1}"
    used[full] = 1
    return full


def _as_list(value) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _flatten_identifiers(value) -> list:
    """A one-output model: every metric given applies to it (lists and dicts flattened)."""
    if isinstance(value, dict):
        return [m for group in value.values() for m in _flatten_identifiers(group)]
    if isinstance(value, (list, tuple)):
        return [m for item in value for m in _flatten_identifiers(item)]
    return [] if value is None else [value]


def _resolve(identifier, y_true_shape, y_pred_shape):
    if isinstance(identifier, str) and identifier.lower() in ("accuracy", "acc"):
        binary, sparse = is_binary_or_sparse(y_true_shape, y_pred_shape)
        cls = (metrics_module.BinaryAccuracy if binary else
               metrics_module.SparseCategoricalAccuracy if sparse else
               metrics_module.CategoricalAccuracy)
        return cls(name=identifier)
    metric = metrics_module.get(identifier)
    if not isinstance(metric, metrics_module.Metric):
        metric = metrics_module.MeanMetricWrapper(metric)
    if isinstance(identifier, str):
        metric.name = identifier  # Keras logs a metric under the string it was given
    return metric
