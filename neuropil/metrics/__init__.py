"""``keras.metrics``: numbers that judge a model, accumulated over an epoch.

A metric keeps running totals: ``update_state(y_true, y_pred)`` adds a batch, ``result()``
reads the value so far, ``reset_state()`` starts over. Metrics never take part in
backpropagation, so they work on plain arrays.
"""
from __future__ import annotations

import numpy as np

from neuropil import losses
from neuropil._naming import to_snake_case, unknown_identifier
from neuropil.metrics.base import Mean, MeanMetricWrapper, Metric, Sum, _array, _metric_class
from neuropil.metrics.confusion_metrics import (AUC, FalseNegatives, FalsePositives, Precision,
                                                Recall, TrueNegatives, TruePositives)
from neuropil.metrics.f_score_metrics import F1Score, FBetaScore
from neuropil.metrics.hinge_metrics import (CategoricalHinge, Hinge, KLDivergence, Poisson,
                                            SquaredHinge, categorical_hinge, hinge,
                                            kl_divergence, poisson, squared_hinge)
from neuropil.metrics.iou_metrics import IoU, MeanIoU
from neuropil.metrics.regression_metrics import (CosineSimilarity, LogCoshError,
                                                 MeanAbsolutePercentageError,
                                                 MeanSquaredLogarithmicError, R2Score, log_cosh,
                                                 mean_absolute_percentage_error,
                                                 mean_squared_logarithmic_error)
from neuropil.metrics.sensitivity_specificity import (PrecisionAtRecall, RecallAtPrecision,
                                                      SensitivityAtSpecificity,
                                                      SpecificityAtSensitivity)

__all__ = ["Metric", "Mean", "Sum", "MeanMetricWrapper", "Accuracy", "BinaryAccuracy",
           "CategoricalAccuracy", "SparseCategoricalAccuracy", "TopKCategoricalAccuracy",
           "SparseTopKCategoricalAccuracy", "MeanSquaredError", "MeanAbsoluteError",
           "RootMeanSquaredError", "CategoricalCrossentropy", "SparseCategoricalCrossentropy",
           "BinaryCrossentropy", "accuracy", "binary_accuracy", "categorical_accuracy",
           "sparse_categorical_accuracy", "top_k_categorical_accuracy",
           "sparse_top_k_categorical_accuracy", "get", "serialize", "deserialize",
           # confusion, f_score, regression, hinge and iou metrics:
           "TruePositives", "FalsePositives", "TrueNegatives", "FalseNegatives", "Precision",
           "Recall", "AUC", "F1Score", "FBetaScore", "R2Score", "MeanAbsolutePercentageError",
           "CosineSimilarity", "LogCoshError", "Hinge", "SquaredHinge", "CategoricalHinge",
           "KLDivergence", "mean_absolute_percentage_error", "log_cosh", "hinge",
           "squared_hinge", "categorical_hinge", "kl_divergence", "IoU", "MeanIoU",
           # probabilistic, regression and "rate at a target rate" metrics:
           "Poisson", "poisson", "MeanSquaredLogarithmicError",
           "mean_squared_logarithmic_error", "PrecisionAtRecall", "RecallAtPrecision",
           "SensitivityAtSpecificity", "SpecificityAtSensitivity"]


# ---- per-sample functions ---------------------------------------------------------------
def accuracy(y_true, y_pred):
    """1 where the prediction equals the label exactly, else 0."""
    y_true, y_pred = _array(y_true), _array(y_pred)
    if y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    return (y_true == y_pred).astype(np.float32)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """1 where (y_pred > threshold) matches the 0/1 label; averaged over the last axis."""
    y_true, y_pred = _array(y_true), _array(y_pred)
    if y_true.ndim == y_pred.ndim - 1:
        y_true = y_true[..., None]
    return ((y_pred > threshold) == (y_true > 0.5)).astype(np.float32).mean(axis=-1)


def categorical_accuracy(y_true, y_pred):
    """1 where argmax of the prediction is argmax of the one-hot label."""
    return (np.argmax(_array(y_true), -1) == np.argmax(_array(y_pred), -1)).astype(np.float32)


def sparse_categorical_accuracy(y_true, y_pred):
    """1 where argmax of the prediction equals the integer label."""
    y_true, y_pred = _array(y_true), _array(y_pred)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    return (np.argmax(y_pred, -1) == y_true.astype(np.int64)).astype(np.float32)


def _in_top_k(y_pred, labels, k):
    top = np.argpartition(-y_pred, min(k, y_pred.shape[-1]) - 1, axis=-1)[..., :k]
    return (top == labels[..., None]).any(-1).astype(np.float32)


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    return _in_top_k(_array(y_pred), np.argmax(_array(y_true), -1), k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    y_true = _array(y_true)
    if y_true.ndim == _array(y_pred).ndim:
        y_true = y_true[..., 0]
    return _in_top_k(_array(y_pred), y_true.astype(np.int64), k)


def _loss_values(fn):
    def metric_fn(y_true, y_pred, **kwargs):
        return _array(fn(_array(y_true), _array(y_pred), **kwargs))
    metric_fn.__name__ = fn.__name__
    return metric_fn


Accuracy = _metric_class("Accuracy", accuracy, "accuracy", "How often predictions equal labels.",
                         "up")
BinaryAccuracy = _metric_class("BinaryAccuracy", binary_accuracy, "binary_accuracy",
                               "How often thresholded predictions match 0/1 labels.", "up",
                               threshold=0.5)
CategoricalAccuracy = _metric_class("CategoricalAccuracy", categorical_accuracy,
                                    "categorical_accuracy",
                                    "How often the predicted class matches one-hot labels.", "up")
SparseCategoricalAccuracy = _metric_class("SparseCategoricalAccuracy",
                                          sparse_categorical_accuracy,
                                          "sparse_categorical_accuracy",
                                          "How often the predicted class matches integer labels.",
                                          "up")
TopKCategoricalAccuracy = _metric_class("TopKCategoricalAccuracy", top_k_categorical_accuracy,
                                        "top_k_categorical_accuracy",
                                        "How often the label is among the top k predictions.",
                                        "up", k=5)
SparseTopKCategoricalAccuracy = _metric_class(
    "SparseTopKCategoricalAccuracy", sparse_top_k_categorical_accuracy,
    "sparse_top_k_categorical_accuracy",
    "How often the integer label is among the top k predictions.", "up", k=5)
MeanSquaredError = _metric_class("MeanSquaredError", _loss_values(losses.mean_squared_error),
                                 "mean_squared_error", "Mean of the squared errors.", "down")
MeanAbsoluteError = _metric_class("MeanAbsoluteError", _loss_values(losses.mean_absolute_error),
                                  "mean_absolute_error", "Mean of the absolute errors.", "down")
CategoricalCrossentropy = _metric_class(
    "CategoricalCrossentropy", _loss_values(losses.categorical_crossentropy),
    "categorical_crossentropy", "Mean categorical cross-entropy.", "down", from_logits=False)
SparseCategoricalCrossentropy = _metric_class(
    "SparseCategoricalCrossentropy", _loss_values(losses.sparse_categorical_crossentropy),
    "sparse_categorical_crossentropy", "Mean sparse categorical cross-entropy.", "down",
    from_logits=False)
BinaryCrossentropy = _metric_class(
    "BinaryCrossentropy", _loss_values(losses.binary_crossentropy), "binary_crossentropy",
    "Mean binary cross-entropy.", "down", from_logits=False)


class RootMeanSquaredError(Mean):
    """sqrt of the mean squared error over everything seen."""

    _direction = "down"

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        super().update_state(_array(losses.mean_squared_error(_array(y_true), _array(y_pred))),
                             sample_weight)

    def result(self):
        return float(np.sqrt(super().result()))


_CLASSES = {c.__name__: c for c in (Mean, Sum, Accuracy, BinaryAccuracy, CategoricalAccuracy,
                                    SparseCategoricalAccuracy, TopKCategoricalAccuracy,
                                    SparseTopKCategoricalAccuracy, MeanSquaredError,
                                    MeanAbsoluteError, RootMeanSquaredError,
                                    CategoricalCrossentropy, SparseCategoricalCrossentropy,
                                    BinaryCrossentropy, TruePositives, FalsePositives,
                                    TrueNegatives, FalseNegatives, Precision, Recall, AUC,
                                    F1Score, FBetaScore, R2Score, MeanAbsolutePercentageError,
                                    CosineSimilarity, LogCoshError, Hinge, SquaredHinge,
                                    CategoricalHinge, KLDivergence, IoU, MeanIoU, Poisson,
                                    MeanSquaredLogarithmicError, PrecisionAtRecall,
                                    RecallAtPrecision, SensitivityAtSpecificity,
                                    SpecificityAtSensitivity)}
_BY_NAME = {to_snake_case(name): cls for name, cls in _CLASSES.items()}
_BY_NAME.update(mse=MeanSquaredError, mae=MeanAbsoluteError, rmse=RootMeanSquaredError,
                acc=Accuracy, mape=MeanAbsolutePercentageError, MAPE=MeanAbsolutePercentageError,
                msle=MeanSquaredLogarithmicError, MSLE=MeanSquaredLogarithmicError,
                bce=BinaryCrossentropy, BCE=BinaryCrossentropy)


def get(identifier):
    """A name (``"mae"``, ``"categorical_accuracy"``), class name, config, or callable."""
    if isinstance(identifier, Metric) or (callable(identifier) and
                                          not isinstance(identifier, type)):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier) or _CLASSES.get(identifier)
        if cls is None:
            raise unknown_identifier("metric", identifier, _BY_NAME)
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    raise TypeError(f"Could not interpret metric identifier: {identifier!r}")


def serialize(metric) -> dict:
    return {"module": "keras.metrics", "class_name": type(metric).__name__,
            "config": metric.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None):
    name = config["class_name"]
    cls = (custom_objects or {}).get(name) or _CLASSES.get(name)
    if cls is None:
        raise unknown_identifier("metric", name, _CLASSES)
    return cls.from_config(config.get("config", {}))
