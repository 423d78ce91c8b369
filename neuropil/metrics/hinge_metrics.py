"""Hinge metrics (margins of ±1 labels), and the Kullback-Leibler divergence and Poisson
metrics (Keras's probabilistic metrics beyond the cross-entropies)."""
from __future__ import annotations

import numpy as np

from neuropil.metrics.base import _metric_class
from neuropil.metrics.regression_metrics import _pair

__all__ = ["Hinge", "SquaredHinge", "CategoricalHinge", "KLDivergence", "Poisson", "hinge",
           "squared_hinge", "categorical_hinge", "kl_divergence", "poisson"]

EPSILON = 1e-7


def _signed(y_true: np.ndarray) -> np.ndarray:
    """Labels that are all 0 or 1 become -1 / +1; any other labels are used as given."""
    return 2.0 * y_true - 1.0 if np.all((y_true == 0) | (y_true == 1)) else y_true


def hinge(y_true, y_pred):
    """Mean over the last axis of max(1 - y_true · y_pred, 0)."""
    y_true, y_pred = _pair(y_true, y_pred)
    return np.mean(np.maximum(1.0 - _signed(y_true) * y_pred, 0.0), axis=-1)


def squared_hinge(y_true, y_pred):
    """Mean over the last axis of max(1 - y_true · y_pred, 0)²."""
    y_true, y_pred = _pair(y_true, y_pred)
    return np.mean(np.maximum(1.0 - _signed(y_true) * y_pred, 0.0) ** 2, axis=-1)


def categorical_hinge(y_true, y_pred):
    """max(neg - pos + 1, 0): pos the score of the true class(es), neg the best other one."""
    y_true, y_pred = _pair(y_true, y_pred)
    positive = np.sum(y_true * y_pred, axis=-1)
    negative = np.max((1.0 - y_true) * y_pred, axis=-1)
    return np.maximum(negative - positive + 1.0, 0.0)


def kl_divergence(y_true, y_pred):
    """sum(y_true · log(y_true / y_pred)) over the last axis, both clipped to [1e-7, 1]."""
    y_true, y_pred = _pair(y_true, y_pred)
    y_true, y_pred = np.clip(y_true, EPSILON, 1), np.clip(y_pred, EPSILON, 1)
    return np.sum(y_true * np.log(y_true / y_pred), axis=-1)


def poisson(y_true, y_pred):
    """Mean over the last axis of y_pred - y_true · log(y_pred + 1e-7): the Poisson negative
    log-likelihood of counts ``y_true`` at rates ``y_pred``, without the log(y_true!) term."""
    y_true, y_pred = _pair(y_true, y_pred)
    return np.mean(y_pred - y_true * np.log(y_pred + EPSILON), axis=-1)


Hinge = _metric_class("Hinge", hinge, "hinge", "Mean hinge loss (0/1 labels become ±1).",
                      "down")
SquaredHinge = _metric_class("SquaredHinge", squared_hinge, "squared_hinge",
                             "Mean squared hinge loss (0/1 labels become ±1).", "down")
CategoricalHinge = _metric_class("CategoricalHinge", categorical_hinge, "categorical_hinge",
                                 "Mean categorical hinge loss of one-hot labels.", "down")
KLDivergence = _metric_class("KLDivergence", kl_divergence, "kl_divergence",
                             "Mean Kullback-Leibler divergence of y_pred from y_true.", "down")
Poisson = _metric_class("Poisson", poisson, "poisson",
                        "Mean Poisson negative log-likelihood, y_pred - y_true · log(y_pred).",
                        "down")
