"""Regression metrics: R², and the means of per-sample errors computed on plain arrays
(absolute percentage error, squared logarithmic error, cosine similarity, log-cosh)."""
from __future__ import annotations

import warnings

import numpy as np

from neuropil.metrics.base import Metric, _array, _metric_class

__all__ = ["R2Score", "MeanAbsolutePercentageError", "MeanSquaredLogarithmicError",
           "CosineSimilarity", "LogCoshError", "mean_absolute_percentage_error",
           "mean_squared_logarithmic_error", "log_cosh"]

EPSILON = 1e-7


def _pair(y_true, y_pred) -> tuple:
    """Float arrays of the same rank: a label missing the predictions' last axis gets it."""
    y_true = _array(y_true).astype(np.float64)
    y_pred = _array(y_pred).astype(np.float64)
    if y_true.ndim == y_pred.ndim - 1:
        y_true = y_true[..., None]
    elif y_pred.ndim == y_true.ndim - 1:
        y_pred = y_pred[..., None]
    return y_true, y_pred


def mean_absolute_percentage_error(y_true, y_pred):
    """100 · mean over the last axis of |y_true - y_pred| / max(|y_true|, 1e-7)."""
    y_true, y_pred = _pair(y_true, y_pred)
    return 100.0 * np.mean(np.abs(y_true - y_pred) / np.maximum(np.abs(y_true), EPSILON), -1)


def mean_squared_logarithmic_error(y_true, y_pred):
    """Mean over the last axis of (log(1 + y_pred) - log(1 + y_true))², both raised to at
    least 1e-7 first (so a negative value counts as 0)."""
    y_true, y_pred = _pair(y_true, y_pred)
    return np.mean((np.log1p(np.maximum(y_pred, EPSILON)) -
                    np.log1p(np.maximum(y_true, EPSILON))) ** 2, axis=-1)


def _cosine_similarity(y_true, y_pred, axis=-1):
    """The cosine of the angle between label and prediction along ``axis`` (a zero vector
    counts as having norm 1e-7, so its similarity is 0). Positive, unlike the loss."""
    y_true, y_pred = _pair(y_true, y_pred)

    def normalize(x):
        return x / np.maximum(np.sqrt(np.sum(x * x, axis=axis, keepdims=True)), EPSILON)
    return np.sum(normalize(y_true) * normalize(y_pred), axis=axis)


def log_cosh(y_true, y_pred):
    """Mean over the last axis of log(cosh(y_pred - y_true)), computed without overflow as
    x + softplus(-2x) - log 2."""
    y_true, y_pred = _pair(y_true, y_pred)
    x = y_pred - y_true
    return np.mean(x + np.logaddexp(0.0, -2.0 * x) - np.log(2.0), axis=-1)


MeanAbsolutePercentageError = _metric_class(
    "MeanAbsolutePercentageError", mean_absolute_percentage_error,
    "mean_absolute_percentage_error", "Mean absolute percentage error (in %).", "down")
MeanSquaredLogarithmicError = _metric_class(
    "MeanSquaredLogarithmicError", mean_squared_logarithmic_error,
    "mean_squared_logarithmic_error",
    "Mean squared logarithmic error, mean((log(1 + y_pred) - log(1 + y_true))²); it weighs "
    "relative rather than absolute errors.", "down")
CosineSimilarity = _metric_class(
    "CosineSimilarity", _cosine_similarity, "cosine_similarity",
    "Mean cosine similarity between labels and predictions along ``axis`` (default -1).",
    "up", axis=-1)
LogCoshError = _metric_class("LogCoshError", log_cosh, "logcosh",
                             "Mean of log(cosh(prediction error)).", "down")


class R2Score(Metric):
    """The coefficient of determination, 1 - SS_res / SS_tot, per output column.

    Inputs are 2-D, ``(batch, outputs)``. Sums of y, y², squared residuals and weights are
    kept per column, so the score over several batches is that of all of them at once.

    Args:
        class_aggregation: "uniform_average" (mean over columns, default),
            "variance_weighted_average" (weighted by each column's SS_tot) or None (array).
        num_regressors: p > 0 gives the adjusted R², 1 - (1 - R²)(n - 1)/(n - p - 1), with
            n the number of samples of non-zero weight.
        name: defaults to "r2_score".

    >>> m = R2Score(); m.update_state([[1.0], [2.0], [3.0]], [[1.0], [2.0], [2.0]])
    >>> m.result()
    0.5
    """

    _direction = "up"

    def __init__(self, class_aggregation="uniform_average", num_regressors=0, name="r2_score",
                 dtype=None):
        super().__init__(name=name, dtype=dtype)
        valid = (None, "uniform_average", "variance_weighted_average")
        if class_aggregation not in valid:
            raise ValueError("Invalid value for argument `class_aggregation`. Expected one of "
                             f"{valid}. Received: class_aggregation={class_aggregation}")
        if num_regressors < 0:
            raise ValueError("Invalid value for argument `num_regressors`. Expected a value "
                             f">= 0. Received: num_regressors={num_regressors}")
        self.class_aggregation, self.num_regressors = class_aggregation, num_regressors
        self.num_samples = self.add_variable(name="num_samples")
        self._built = False

    def _build(self, y_true_shape, y_pred_shape) -> None:
        if len(y_pred_shape) != 2 or len(y_true_shape) != 2:
            raise ValueError("R2Score expects 2D inputs with shape (batch_size, output_dim). "
                             f"Received input shapes: y_pred.shape={y_pred_shape} and "
                             f"y_true.shape={y_true_shape}.")
        columns = (y_pred_shape[-1],)
        self.squared_sum, self.sum, self.total_mse, self.count = (
            self.add_variable(shape=columns, name=name)
            for name in ("squared_sum", "sum", "residual", "count"))
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = _pair(y_true, y_pred)
        if not self._built:
            self._build(y_true.shape, y_pred.shape)
        weight = np.asarray(1.0 if sample_weight is None else _array(sample_weight),
                            np.float64)
        if weight.ndim == 1:
            weight = weight[:, None]
        weight = np.broadcast_to(weight, y_true.shape)
        self.sum.data += np.sum(y_true * weight, axis=0)
        self.squared_sum.data += np.sum(y_true * y_true * weight, axis=0)
        self.total_mse.data += np.sum((y_true - y_pred) ** 2 * weight, axis=0)
        self.count.data += np.sum(weight, axis=0)
        self.num_samples.data += np.sum(np.any(weight != 0, axis=-1))

    def result(self):
        if not self._built:
            return 0.0
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = self.sum.data / self.count.data
            total = self.squared_sum.data - self.sum.data * mean
            raw = 1 - self.total_mse.data / total
        raw = np.where(np.isinf(raw), 0.0, raw)
        if self.class_aggregation == "uniform_average":
            score = float(np.mean(raw))
        elif self.class_aggregation == "variance_weighted_average":
            score = float(np.sum(total * raw) / np.sum(total))
        else:
            score = raw
        if self.num_regressors:
            n, p = float(self.num_samples.data), self.num_regressors
            if p >= n - 1:
                warnings.warn(f"R2Score: {p} regressors for {n:g} samples; the adjusted R² "
                              "needs more samples than regressors + 1. Returning the plain R².",
                              stacklevel=2)
            else:
                score = 1 - (1 - score) * (n - 1) / (n - p - 1)
        return score

    def get_config(self):
        return {**super().get_config(), "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}
