"""Overlap losses for segmentation masks: Dice and its generalization, Tversky."""
from __future__ import annotations

from neuropil import backend, ops
from neuropil.losses.loss import _align_ranks, _tensor, _wrapper_class

__all__ = ["Dice", "Tversky", "dice", "tversky"]


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def dice(y_true, y_pred, axis=None):
    """1 - 2 Σ y·p / (Σ y + Σ p + epsilon), summed over ``axis`` (None: everything, one
    value for the batch; e.g. (1, 2, 3) for one value per image)."""
    y_pred = _tensor(y_pred)
    y_true = _align_ranks(_tensor(y_true, y_pred.dtype), y_pred)
    axis = _axis(axis)
    overlap = ops.sum(ops.multiply(y_true, y_pred), axis=axis)
    total = ops.add(ops.add(ops.sum(y_true, axis=axis), ops.sum(y_pred, axis=axis)),
                    backend.epsilon())
    return ops.subtract(1.0, ops.divide(ops.multiply(overlap, 2.0), total))


def tversky(y_true, y_pred, alpha=0.5, beta=0.5, axis=None):
    """1 - TP / (TP + alpha·FP + beta·FN + epsilon) with soft counts summed over ``axis``;
    alpha = beta = 0.5 is the Dice loss."""
    y_pred = _tensor(y_pred)
    y_true = _align_ranks(_tensor(y_true, y_pred.dtype), y_pred)
    axis = _axis(axis)
    true_pos = ops.sum(ops.multiply(y_pred, y_true), axis=axis)
    false_pos = ops.sum(ops.multiply(ops.subtract(1.0, y_true), y_pred), axis=axis)
    false_neg = ops.sum(ops.multiply(y_true, ops.subtract(1.0, y_pred)), axis=axis)
    denominator = ops.add(ops.add(ops.add(true_pos, ops.multiply(false_pos, alpha)),
                                  ops.multiply(false_neg, beta)), backend.epsilon())
    return ops.subtract(1.0, ops.divide(true_pos, denominator))


Dice = _wrapper_class("Dice", dice, "dice",
                      "1 - the soft Dice coefficient of masks, over `axis` (None: all).",
                      positional=("reduction", "name", "axis", "dtype"), axis=None)
Tversky = _wrapper_class("Tversky", tversky, "tversky",
                         "1 - the Tversky index: Dice with false positives weighted by "
                         "`alpha` and false negatives by `beta`.",
                         positional=("alpha", "beta", "reduction", "name", "axis", "dtype"),
                         alpha=0.5, beta=0.5, axis=None)
