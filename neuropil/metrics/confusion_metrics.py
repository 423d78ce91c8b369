"""Metrics from confusion counts: TP / FP / TN / FN at thresholds, Precision, Recall, AUC.

A prediction counts as positive at threshold t when ``y_pred > t`` (strictly); a label is
positive when it is non-zero. Sample weights weigh each prediction. Counts at every threshold
come from one pass: each prediction falls into the bucket "how many thresholds lie below
it", and a reversed cumulative sum over the buckets gives the positives at every threshold.
"""
from __future__ import annotations

import numpy as np

from neuropil.metrics.base import Metric, _array

__all__ = ["TruePositives", "FalsePositives", "TrueNegatives", "FalseNegatives", "Precision",
           "Recall", "AUC"]

NEG_INF = -1e10   # Keras's threshold with top_k: every kept prediction counts as positive
EPSILON = 1e-7


def _same_rank(a: np.ndarray, b: np.ndarray) -> tuple:
    """Keras's squeeze-or-expand: ranks differing by one are matched by dropping a last
    axis of size 1 from the larger, else adding one to the smaller."""
    if a.ndim == b.ndim + 1:
        a = a[..., 0] if a.shape[-1] == 1 else a
        b = b if a.ndim == b.ndim else b[..., None]
    elif b.ndim == a.ndim + 1:
        b, a = _same_rank(b, a)
    return a, b


def _weights(sample_weight, shape) -> np.ndarray:
    """Per-sample (or per-element) weights broadcast to the predictions' shape."""
    if sample_weight is None:
        return np.ones(shape)
    weight = _array(sample_weight).astype(np.float64)
    while weight.ndim > len(shape) and weight.shape[-1] == 1:
        weight = weight[..., 0]
    weight = weight.reshape(weight.shape + (1,) * (len(shape) - weight.ndim))
    return np.broadcast_to(weight, shape)


def _parse_thresholds(thresholds, default) -> list:
    if thresholds is None:
        return [default]
    values = [float(t) for t in np.ravel(thresholds)]
    if any(not 0.0 <= t <= 1.0 for t in values):
        raise ValueError(f"Threshold values must be in [0, 1]. Received: {thresholds}")
    return values


def confusion_counts(y_true, y_pred, thresholds, sample_weight=None, top_k=None,
                     class_id=None, multi_label=False, label_weights=None) -> dict:
    """Weighted ``{"tp", "fp", "tn", "fn"}`` at each threshold: arrays of shape
    ``(len(thresholds),)``, or ``(len(thresholds), labels)`` with ``multi_label``."""
    y_true = _array(y_true).astype(np.float64)
    y_pred = _array(y_pred).astype(np.float64)
    y_pred, y_true = _same_rank(y_pred, y_true)
    weight = _weights(sample_weight, y_pred.shape)
    if top_k is not None:   # keep the k largest per row, the rest can never be positive
        kept = np.argsort(-y_pred, axis=-1, kind="stable")[..., :top_k]
        filtered = np.full_like(y_pred, NEG_INF)
        np.put_along_axis(filtered, kept, np.take_along_axis(y_pred, kept, -1), -1)
        y_pred = filtered
    if class_id is not None:
        if y_pred.ndim == 1:
            raise ValueError("When class_id is provided, y_pred must be a 2D array with shape "
                             f"(num_samples, num_classes), found shape: {y_pred.shape}")
        y_true, y_pred = y_true[..., class_id, None], y_pred[..., class_id, None]
        weight = weight[..., class_id, None]
    if label_weights is not None and not multi_label:
        weight = weight * np.broadcast_to(np.asarray(label_weights, np.float64), y_pred.shape)
    thresholds = np.asarray(thresholds, np.float64)
    order = np.argsort(thresholds, kind="stable")
    count = len(thresholds)
    labels = y_pred.shape[-1] if multi_label else 1
    y_pred, y_true, weight = (x.reshape(-1, labels) for x in (y_pred, y_true, weight))
    # bucket = number of thresholds strictly below the prediction: positive at the first ones
    bucket = np.searchsorted(thresholds[order], y_pred, side="left")
    bucket = bucket + np.arange(labels) * (count + 1)
    positive = y_true != 0
    counts = {}
    for key, mask in (("tp", positive), ("fp", ~positive)):
        hist = np.bincount(bucket.ravel(), (weight * mask).ravel(),
                           minlength=labels * (count + 1)).reshape(labels, count + 1)
        above = hist[:, ::-1].cumsum(axis=1)[:, ::-1][:, 1:]   # [j]: buckets > j
        below = hist.cumsum(axis=1)[:, :-1]                    # [j]: buckets <= j
        for name, sorted_counts in ((key, above), ("fn" if key == "tp" else "tn", below)):
            per_threshold = np.empty_like(sorted_counts)
            per_threshold[:, order] = sorted_counts
            counts[name] = per_threshold.T
    if not multi_label:
        counts = {key: value[:, 0] for key, value in counts.items()}
    return counts


def _divide_no_nan(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.divide(a, b, out=np.zeros(np.broadcast(a, b).shape), where=b != 0)


class _ThresholdMetric(Metric):
    """Counts kept at a list of thresholds (the family logic of Precision, Recall, TP...)."""

    _keys: tuple = ()
    _direction = "up"

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds, self.top_k, self.class_id = thresholds, top_k, class_id
        self.thresholds = _parse_thresholds(thresholds, 0.5 if top_k is None else NEG_INF)
        self._counts = {key: self.add_variable(shape=(len(self.thresholds),), name=variable)
                        for key, variable in self._keys}

    def update_state(self, y_true, y_pred, sample_weight=None):
        counts = confusion_counts(y_true, y_pred, self.thresholds, sample_weight,
                                  self.top_k, self.class_id)
        for key, variable in self._counts.items():
            variable.data += counts[key]

    def _value(self, values: np.ndarray):
        return float(values[0]) if len(self.thresholds) == 1 else values

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds,
                "top_k": self.top_k, "class_id": self.class_id}


class _ConditionCount(_ThresholdMetric):
    """One confusion count at each threshold."""

    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(thresholds=thresholds, name=name, dtype=dtype)

    def result(self):
        return self._value(self._counts[self._keys[0][0]].data.copy())

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "thresholds": self.init_thresholds}


class TruePositives(_ConditionCount):
    """The (weighted) number of true positives: label non-zero and ``y_pred > threshold``.

    Args:
        thresholds: a float or list of floats in [0, 1] (default 0.5); with a list, the
            result is an array, one count per threshold.

    >>> m = TruePositives(); m.update_state([0, 1, 1, 1], [1, 0, 1, 1]); m.result()
    2.0
    """
    _keys = (("tp", "accumulator"),)


class FalsePositives(_ConditionCount):
    """The (weighted) number of false positives: label 0 and ``y_pred > threshold``."""
    _keys = (("fp", "accumulator"),)


class TrueNegatives(_ConditionCount):
    """The (weighted) number of true negatives: label 0 and ``y_pred <= threshold``."""
    _keys = (("tn", "accumulator"),)


class FalseNegatives(_ConditionCount):
    """The (weighted) number of false negatives: label non-zero and ``y_pred <= threshold``."""
    _keys = (("fn", "accumulator"),)


class Precision(_ThresholdMetric):
    """TP / (TP + FP): how many of the predicted positives are positive (0 when none is).

    Args:
        thresholds: a float or list of floats in [0, 1]; None means 0.5 (or, with
            ``top_k``, every top-k prediction is positive). A list gives an array result.
        top_k: only the k largest predictions of each row can be positive.
        class_id: look at this column (class) only.
        name, dtype: as for every metric (name defaults to "precision").

    >>> m = Precision(); m.update_state([0, 1, 1, 1], [1, 0, 1, 1]); round(m.result(), 4)
    0.6667
    """
    _keys = (("tp", "true_positives"), ("fp", "false_positives"))

    def result(self):
        tp, fp = self._counts["tp"].data, self._counts["fp"].data
        return self._value(_divide_no_nan(tp, tp + fp))


class Recall(_ThresholdMetric):
    """TP / (TP + FN): how many of the positives are predicted positive (0 when none is).

    Arguments as for ``Precision``; the name defaults to "recall".
    """
    _keys = (("tp", "true_positives"), ("fn", "false_negatives"))

    def result(self):
        tp, fn = self._counts["tp"].data, self._counts["fn"].data
        return self._value(_divide_no_nan(tp, tp + fn))


class AUC(Metric):
    """Area under the ROC or precision-recall curve, from confusion counts at thresholds.

    Args:
        num_thresholds: how many thresholds, evenly spaced over [0, 1] (default 200); the
            first lies just below 0 and the last just above 1.
        curve: "ROC" (true-positive rate over false-positive rate) or "PR" (precision over
            recall).
        summation_method: "interpolation" (trapezoids; for PR, Davis & Goadrich's
            interpolation of precision), "minoring" (lower Riemann sum) or "majoring" (upper).
        thresholds: explicit thresholds in [0, 1] instead of ``num_thresholds``.
        multi_label: True keeps counts per column and averages the per-label AUCs
            (weighted by ``label_weights``); False flattens every column into one curve.
        num_labels: the number of labels with ``multi_label`` (else read on first update).
        label_weights: per-label weights (per-label counts without ``multi_label``).
        from_logits: apply a sigmoid to the predictions first.

    >>> m = AUC(num_thresholds=3); m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
    >>> round(m.result(), 4)
    0.75
    """

    _direction = "up"

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation",
                 name=None, dtype=None, thresholds=None, multi_label=False, num_labels=None,
                 label_weights=None, from_logits=False):
        if str(curve).upper() not in ("ROC", "PR"):
            raise ValueError(f'Invalid `curve` argument value "{curve}". Expected one of: '
                             "['ROC', 'PR'] (PRGAIN is not supported by neuropil).")
        if str(summation_method).lower() not in ("interpolation", "minoring", "majoring"):
            raise ValueError(f'Invalid `summation_method` argument value "{summation_method}"'
                             ". Expected one of: ['interpolation', 'minoring', 'majoring']")
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            inner = sorted(_parse_thresholds(thresholds, None))
            self.num_thresholds = len(inner) + 2
        else:
            if num_thresholds <= 1:
                raise ValueError("Argument `num_thresholds` must be an integer > 1. "
                                 f"Received: num_thresholds={num_thresholds}")
            self.num_thresholds = num_thresholds
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        self._thresholds = np.array([0.0 - EPSILON] + inner + [1.0 + EPSILON])
        self.curve, self.summation_method = str(curve).upper(), str(summation_method).lower()
        super().__init__(name=name, dtype=dtype)
        if num_labels and not multi_label:
            raise ValueError("`num_labels` is needed only when `multi_label` is True.")
        self.multi_label, self.num_labels = multi_label, num_labels
        self.label_weights = None if label_weights is None else \
            np.asarray(label_weights, np.float64)
        self._from_logits = from_logits
        self._built = False
        if not multi_label:
            self._build(None)
        elif num_labels:
            self._build((None, num_labels))

    @property
    def thresholds(self) -> list:
        return list(self._thresholds)

    def _build(self, shape) -> None:
        if self.multi_label:
            if len(shape) != 2:
                raise ValueError("`y_pred` must have rank 2 when `multi_label=True`. Found "
                                 f"rank {len(shape)}. Full shape received for `y_pred`: "
                                 f"{shape}")
            self._num_labels = shape[1]
            variable_shape = (self.num_thresholds, shape[1])
        else:
            variable_shape = (self.num_thresholds,)
        self.true_positives, self.false_positives, self.true_negatives, \
            self.false_negatives = (self.add_variable(shape=variable_shape, name=name) for name
                                    in ("true_positives", "false_positives",
                                        "true_negatives", "false_negatives"))
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = _array(y_pred).astype(np.float64)
        if not self._built:
            self._build(y_pred.shape)
        if self._from_logits:
            y_pred = 1.0 / (1.0 + np.exp(-y_pred))
        counts = confusion_counts(y_true, y_pred, self._thresholds, sample_weight,
                                  multi_label=self.multi_label,
                                  label_weights=None if self.multi_label else
                                  self.label_weights)
        self.true_positives.data += counts["tp"]
        self.false_positives.data += counts["fp"]
        self.true_negatives.data += counts["tn"]
        self.false_negatives.data += counts["fn"]

    def _average(self, per_threshold_terms: np.ndarray) -> float:
        if not self.multi_label:
            return float(per_threshold_terms.sum())
        by_label = per_threshold_terms.sum(axis=0)
        if self.label_weights is None:
            return float(by_label.mean())
        return float(_divide_no_nan((by_label * self.label_weights).sum(),
                                    self.label_weights.sum()))

    def _interpolate_pr_auc(self) -> float:
        """Davis & Goadrich: between two thresholds, TP and P = TP + FP vary linearly, so
        precision = TP / P integrates over recall in closed form (a log of the P ratio)."""
        tp, fp, fn = (v.data for v in (self.true_positives, self.false_positives,
                                       self.false_negatives))
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = _divide_no_nan(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        both = (p[:-1] > 0) & (p[1:] > 0)
        ratio = np.where(both, _divide_no_nan(p[:-1], np.maximum(p[1:], 0)), 1.0)
        increment = _divide_no_nan(slope * (dtp + intercept * np.log(ratio)),
                                   np.maximum(tp[1:] + fn[1:], 0))
        return self._average(increment)

    def result(self):
        if not self._built:
            return 0.0
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolate_pr_auc()
        tp, fp, tn, fn = (v.data for v in (self.true_positives, self.false_positives,
                                           self.true_negatives, self.false_negatives))
        recall = _divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _divide_no_nan(fp, fp + tn), recall
        else:
            x, y = recall, _divide_no_nan(tp, tp + fp)
        heights = {"interpolation": (y[:-1] + y[1:]) / 2, "minoring": np.minimum(y[:-1], y[1:]),
                   "majoring": np.maximum(y[:-1], y[1:])}[self.summation_method]
        return self._average((x[:-1] - x[1:]) * heights)

    def get_config(self):
        config = {**super().get_config(), "num_thresholds": self.num_thresholds,
                  "curve": self.curve, "summation_method": self.summation_method,
                  "multi_label": self.multi_label, "num_labels": self.num_labels,
                  "label_weights": None if self.label_weights is None else
                  self.label_weights.tolist(), "from_logits": self._from_logits}
        if self._init_from_thresholds:
            config["thresholds"] = self.thresholds[1:-1]
        return config
