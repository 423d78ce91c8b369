"""What ``compile`` resolves: the loss to minimize and the metrics to report."""
from __future__ import annotations

import numpy as np

from neuropil import losses, metrics as metrics_module
from neuropil.autodiff import Tensor

__all__ = ["CompiledLoss", "CompiledMetrics", "is_binary_or_sparse"]


def is_binary_or_sparse(y_true_shape, y_pred_shape) -> tuple:
    """Keras's rule for "accuracy" / "crossentropy": a single output unit means binary;
    labels of lower rank (or a last axis of 1 against several units) mean sparse."""
    binary = y_pred_shape[-1] == 1
    sparse = len(y_true_shape) < len(y_pred_shape) or (y_true_shape[-1] == 1 and
                                                       y_pred_shape[-1] > 1)
    return binary, sparse


class CompiledLoss:
    """The compiled loss: a ``Loss`` object (functions are wrapped), resolved lazily when
    it depends on the data ("crossentropy")."""

    def __init__(self, loss):
        if isinstance(loss, (list, tuple, dict)):
            raise ValueError("This model has one output, so `loss` must be a single loss; "
                             f"received {type(loss).__name__} {loss!r}. Models with several "
                             "outputs and per-output losses come with the functional API.")
        self.identifier = loss
        self.loss = None if isinstance(loss, str) and loss.lower() in ("crossentropy", "ce") \
            else self._wrap(losses.get(loss))

    @staticmethod
    def _wrap(loss):
        if loss is None or isinstance(loss, losses.Loss):
            return loss
        return losses.LossFunctionWrapper(loss, name=getattr(loss, "__name__", "loss"))

    def __call__(self, y_true, y_pred, sample_weight=None) -> Tensor:
        if self.loss is None:
            binary, sparse = is_binary_or_sparse(np.shape(y_true), y_pred.shape)
            self.loss = self._wrap(losses.binary_crossentropy if binary else
                                   losses.sparse_categorical_crossentropy if sparse else
                                   losses.categorical_crossentropy)
        return self.loss(y_true, y_pred, sample_weight)


class CompiledMetrics:
    """The compiled metrics, built on the first batch (``"accuracy"`` needs the shapes)."""

    def __init__(self, metrics, weighted_metrics=None):
        for name, value in (("metrics", metrics), ("weighted_metrics", weighted_metrics)):
            if isinstance(value, dict):
                raise ValueError(f"`{name}` as a dict is for models with several named "
                                 f"outputs; this model has one. Pass a list: {name}=[...].")
        self.identifiers = _as_list(metrics)
        self.weighted_identifiers = _as_list(weighted_metrics)
        self.metrics: list = []
        self.weighted: list = []
        self.built = False

    def build(self, y_true, y_pred) -> None:
        shapes = np.shape(y_true), np.shape(y_pred)
        self.metrics = [_resolve(m, *shapes) for m in self.identifiers]
        self.weighted = [_resolve(m, *shapes) for m in self.weighted_identifiers]
        self.built = True

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        if not self.built:
            self.build(y_true, y_pred)
        for metric in self.metrics:
            metric.update_state(y_true, y_pred)
        for metric in self.weighted:
            metric.update_state(y_true, y_pred, sample_weight=sample_weight)

    def reset_state(self) -> None:
        for metric in self.metrics + self.weighted:
            metric.reset_state()

    def results(self) -> dict:
        return {m.name: m.result() for m in self.metrics + self.weighted}


def _as_list(value) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


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
