"""Margin losses: hinge, squared hinge and categorical hinge (labels -1 / 1, or 0 / 1)."""
from __future__ import annotations

import numpy as np

from neuropil import ops
from neuropil.autodiff import Tensor
from neuropil.losses.loss import _align_ranks, _tensor, _wrapper_class

__all__ = ["Hinge", "SquaredHinge", "CategoricalHinge", "hinge", "squared_hinge",
           "categorical_hinge"]


def _hinge_labels(y_true: Tensor) -> Tensor:
    """Keras's rule: labels that are all 0 or 1 become -1 / 1; others are kept as given."""
    labels = y_true.data
    if np.all((labels == 0) | (labels == 1)):
        return _tensor(2.0 * labels - 1.0)
    return y_true


def _margin(y_true, y_pred) -> Tensor:
    """max(1 - y_true * y_pred, 0), with {0, 1} labels read as {-1, 1}."""
    y_pred = _tensor(y_pred)
    y_true = _hinge_labels(_align_ranks(_tensor(y_true, y_pred.dtype), y_pred))
    return ops.relu(ops.subtract(1.0, ops.multiply(y_true, y_pred)))


def hinge(y_true, y_pred):
    """mean(max(1 - y_true * y_pred, 0)) over the last axis; labels -1 / 1 (or 0 / 1).

    Example:
    >>> round(float(hinge([[1., 0.]], [[0.6, -2.]])[0]), 4)  # (0.4 + 0) / 2
    0.2
    """
    return ops.mean(_margin(y_true, y_pred), axis=-1)


def squared_hinge(y_true, y_pred):
    """mean(max(1 - y_true * y_pred, 0)²) over the last axis; labels -1 / 1 (or 0 / 1)."""
    return ops.mean(ops.square(_margin(y_true, y_pred)), axis=-1)


def categorical_hinge(y_true, y_pred):
    """max(1 + neg - pos, 0) per sample, pos = Σ y·p (the true class's score) and neg =
    max((1 - y)·p) (the best other class's score); ``y_true`` is one-hot."""
    y_pred = _tensor(y_pred)
    y_true = _align_ranks(_tensor(y_true, y_pred.dtype), y_pred)
    pos = ops.sum(ops.multiply(y_true, y_pred), axis=-1)
    neg = ops.max(ops.multiply(ops.subtract(1.0, y_true), y_pred), axis=-1)
    return ops.relu(ops.add(ops.subtract(neg, pos), 1.0))


Hinge = _wrapper_class("Hinge", hinge, "hinge",
                       "Hinge loss, max(1 - y * p, 0), for labels -1 / 1 (0 / 1 are converted).")
SquaredHinge = _wrapper_class("SquaredHinge", squared_hinge, "squared_hinge",
                              "Squared hinge loss, max(1 - y * p, 0)², for labels -1 / 1.")
CategoricalHinge = _wrapper_class(
    "CategoricalHinge", categorical_hinge, "categorical_hinge",
    "max(1 + best wrong score - true score, 0) for one-hot labels.")
