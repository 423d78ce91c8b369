"""F-scores: the weighted harmonic mean of precision and recall, per class or averaged."""
from __future__ import annotations

import numpy as np

from neuropil.metrics.base import Metric, _array

__all__ = ["FBetaScore", "F1Score"]

EPSILON = 1e-7


class FBetaScore(Metric):
    """(1 + beta²) · P · R / (beta² · P + R), from per-class TP / FP / FN counts.

    Inputs are 2-D, ``(batch, classes)``: one-hot or multi-hot labels and scores.

    Args:
        average: None (one score per class, an array), "micro" (counts pooled over classes
            first), "macro" (plain mean of the class scores) or "weighted" (mean weighted by
            each class's (weighted) number of positive labels).
        beta: a float > 0; recall counts beta times as much as precision.
        threshold: a float in (0, 1]: scores above it are positive. None: the largest score
            of each row is positive (all of them on a tie; none if it is ~0).
        name: defaults to "fbeta_score".

    >>> m = FBetaScore(beta=2.0, threshold=0.5)
    >>> m.update_state([[1, 0], [1, 1]], [[0.9, 0.1], [0.2, 0.8]]); m.result().round(4)
    array([0.5556, 1.    ])
    """

    _direction = "up"

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score",
                 dtype=None):
        super().__init__(name=name, dtype=dtype)
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError("Invalid `average` argument value. Expected one of: {None, "
                             f"'micro', 'macro', 'weighted'}}. Received: average={average}")
        if not isinstance(beta, float):
            raise ValueError("Invalid `beta` argument value. It should be a Python float. "
                             f"Received: beta={beta} of type '{type(beta)}'")
        if beta <= 0.0:
            raise ValueError(f"Invalid `beta` argument value. It should be > 0. Received: "
                             f"beta={beta}")
        if threshold is not None and (not isinstance(threshold, float) or
                                      not 0.0 < threshold <= 1.0):
            raise ValueError("Invalid `threshold` argument value. It should be a Python float "
                             f"with 0 < threshold <= 1. Received: threshold={threshold!r}")
        self.average, self.beta, self.threshold = average, beta, threshold
        self.axis = None if average == "micro" else 0
        self._built = False

    def _build(self, y_true_shape, y_pred_shape) -> None:
        if len(y_pred_shape) != 2 or len(y_true_shape) != 2:
            raise ValueError(f"{type(self).__name__} expects 2D inputs with shape (batch_size,"
                             f" output_dim). Received input shapes: y_pred.shape={y_pred_shape}"
                             f" and y_true.shape={y_true_shape}.")
        shape = () if self.average == "micro" else (y_pred_shape[-1],)
        self.true_positives, self.false_positives, self.false_negatives, \
            self.intermediate_weights = (self.add_variable(shape=shape, name=name) for name in (
                "true_positives", "false_positives", "false_negatives",
                "intermediate_weights"))
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = _array(y_true).astype(np.float64)
        y_pred = _array(y_pred).astype(np.float64)
        if not self._built:
            self._build(y_true.shape, y_pred.shape)
        if self.threshold is None:
            predicted = (y_pred >= y_pred.max(axis=-1, keepdims=True)) & (np.abs(y_pred) > 1e-9)
        else:
            predicted = y_pred > self.threshold
        predicted = predicted.astype(np.float64)
        weight = 1.0
        if sample_weight is not None:
            weight = _array(sample_weight).astype(np.float64)
            weight = weight.reshape(weight.shape + (1,) * (y_true.ndim - weight.ndim))

        def weighted_sum(values):
            return np.sum(values * weight, axis=self.axis)

        self.true_positives.data += weighted_sum(predicted * y_true)
        self.false_positives.data += weighted_sum(predicted * (1 - y_true))
        self.false_negatives.data += weighted_sum((1 - predicted) * y_true)
        self.intermediate_weights.data += weighted_sum(y_true)

    def result(self):
        if not self._built:
            return 0.0
        tp, fp, fn = self.true_positives.data, self.false_positives.data, \
            self.false_negatives.data
        precision = tp / (tp + fp + EPSILON)
        recall = tp / (tp + fn + EPSILON)
        beta2 = self.beta ** 2
        score = (1 + beta2) * precision * recall / (beta2 * precision + recall + EPSILON)
        if self.average == "weighted":
            weights = self.intermediate_weights.data
            return float(np.sum(score * weights / (weights.sum() + EPSILON)))
        if self.average is not None:
            return float(np.mean(score))
        return score.copy()

    def get_config(self):
        return {**super().get_config(), "beta": self.beta, "average": self.average,
                "threshold": self.threshold}


class F1Score(FBetaScore):
    """The F-score with beta = 1: 2 · P · R / (P + R). Arguments as for ``FBetaScore``
    without ``beta``; the name defaults to "f1_score".

    >>> m = F1Score(average="micro", threshold=0.5)
    >>> m.update_state([[1, 0], [1, 1]], [[0.9, 0.1], [0.2, 0.8]]); round(m.result(), 4)
    0.8
    """

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name,
                         dtype=dtype)

    def get_config(self):
        config = super().get_config()
        del config["beta"]
        return config
