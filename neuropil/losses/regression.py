"""Regression losses: squared, absolute, Huber, log-cosh, percentage and squared-log
errors, and the (negative) cosine similarity."""
from __future__ import annotations

import numpy as np

from neuropil import backend, ops
from neuropil.losses.loss import _align_ranks, _tensor, _wrapper_class

__all__ = ["MeanSquaredError", "MeanAbsoluteError", "Huber", "LogCosh",
           "MeanAbsolutePercentageError", "MeanSquaredLogarithmicError", "CosineSimilarity",
           "mean_squared_error", "mean_absolute_error", "huber", "log_cosh",
           "mean_absolute_percentage_error", "mean_squared_logarithmic_error",
           "cosine_similarity", "mse", "mae", "MSE", "MAE"]


def mean_squared_error(y_true, y_pred):
    """mean((y_true - y_pred)²) over the last axis."""
    y_pred = _tensor(y_pred)
    y_true = _align_ranks(_tensor(y_true, y_pred.dtype), y_pred)
    return ops.mean(ops.square(ops.subtract(y_pred, y_true)), axis=-1)


def mean_absolute_error(y_true, y_pred):
    """mean(|y_true - y_pred|) over the last axis."""
    y_pred = _tensor(y_pred)
    y_true = _align_ranks(_tensor(y_true, y_pred.dtype), y_pred)
    return ops.mean(ops.abs(ops.subtract(y_pred, y_true)), axis=-1)


def huber(y_true, y_pred, delta=1.0):
    """Quadratic for |error| <= delta, linear beyond: robust to outliers."""
    y_pred = _tensor(y_pred)
    y_true = _align_ranks(_tensor(y_true, y_pred.dtype), y_pred)
    error = ops.abs(ops.subtract(y_pred, y_true))
    quadratic = ops.minimum(error, delta)
    linear = ops.subtract(error, quadratic)
    return ops.mean(ops.add(ops.multiply(ops.square(quadratic), 0.5),
                            ops.multiply(linear, delta)), axis=-1)


def log_cosh(y_true, y_pred):
    """mean(log(cosh(p - y))) over the last axis: x²/2 for small errors, |x| - log 2 for
    large ones. NOTE: computed as x + softplus(-2x) - log 2, which cannot overflow."""
    y_pred = _tensor(y_pred)
    y_true = _align_ranks(_tensor(y_true, y_pred.dtype), y_pred)
    error = ops.subtract(y_pred, y_true)
    values = ops.add(error, ops.softplus(ops.multiply(error, -2.0)))
    return ops.mean(ops.subtract(values, float(np.log(2.0))), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    """100 · mean(|y - p| / max(|y|, epsilon)) over the last axis."""
    y_pred = _tensor(y_pred)
    y_true = _align_ranks(_tensor(y_true, y_pred.dtype), y_pred)
    scale = np.maximum(np.abs(y_true.data), backend.epsilon())
    return ops.multiply(ops.mean(ops.abs(ops.divide(ops.subtract(y_true, y_pred), scale)),
                                 axis=-1), 100.0)


def mean_squared_logarithmic_error(y_true, y_pred):
    """mean((log(1 + p) - log(1 + y))²) over the last axis, values below epsilon raised to
    epsilon first."""
    y_pred = _tensor(y_pred)
    y_true = _align_ranks(_tensor(y_true, y_pred.dtype), y_pred)
    eps = backend.epsilon()
    first = ops.log(ops.add(ops.maximum(y_pred, eps), 1.0))
    second = ops.log(ops.add(ops.maximum(y_true, eps), 1.0))
    return ops.mean(ops.square(ops.subtract(first, second)), axis=-1)


def cosine_similarity(y_true, y_pred, axis=-1):
    """-Σ (y / ‖y‖)(p / ‖p‖) along ``axis``: -1 for vectors pointing the same way, 0 when
    orthogonal (or when either is zero: norms are floored at epsilon)."""
    y_pred = _tensor(y_pred)
    y_true = _align_ranks(_tensor(y_true, y_pred.dtype), y_pred)
    return ops.negative(ops.sum(ops.multiply(ops.normalize(y_true, axis=axis),
                                             ops.normalize(y_pred, axis=axis)), axis=axis))


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error


MeanSquaredError = _wrapper_class(
    "MeanSquaredError", mean_squared_error, "mean_squared_error",
    "Mean of the squared errors.")
MeanAbsoluteError = _wrapper_class(
    "MeanAbsoluteError", mean_absolute_error, "mean_absolute_error",
    "Mean of the absolute errors.")
Huber = _wrapper_class("Huber", huber, "huber_loss",
                       "Squared error for small errors, absolute error beyond `delta`.",
                       delta=1.0)
LogCosh = _wrapper_class("LogCosh", log_cosh, "log_cosh",
                         "log(cosh(error)): squared error near 0, absolute error far away.")
MeanAbsolutePercentageError = _wrapper_class(
    "MeanAbsolutePercentageError", mean_absolute_percentage_error,
    "mean_absolute_percentage_error", "100 · mean(|y - p| / |y|).")
MeanSquaredLogarithmicError = _wrapper_class(
    "MeanSquaredLogarithmicError", mean_squared_logarithmic_error,
    "mean_squared_logarithmic_error", "mean((log(1 + p) - log(1 + y))²).")
CosineSimilarity = _wrapper_class(
    "CosineSimilarity", cosine_similarity, "cosine_similarity",
    "Negative cosine similarity along `axis`: -1 is best, 0 orthogonal.", axis=-1)
