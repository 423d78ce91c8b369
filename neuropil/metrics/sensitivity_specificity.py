"""One rate at its best where another meets a target: SensitivityAtSpecificity,
SpecificityAtSensitivity, PrecisionAtRecall and RecallAtPrecision.

Each keeps TP / FP / TN / FN at ``num_thresholds`` thresholds evenly spaced over [0, 1]
(0 and 1 included; a single threshold is 0.5). A prediction is positive at threshold t when
it is above t, after clipping to [0, 1]. ``result()`` looks at every threshold where the
constrained rate reaches the target (``>=``) and returns the largest value of the other rate
there, or 0 when no threshold reaches it. Rates with a zero denominator count as 0.
"""
from __future__ import annotations

import numbers

import numpy as np

from neuropil.metrics.base import Metric, _array
from neuropil.metrics.confusion_metrics import _divide_no_nan, confusion_counts

__all__ = ["SensitivityAtSpecificity", "SpecificityAtSensitivity", "PrecisionAtRecall",
           "RecallAtPrecision"]


class SensitivitySpecificityBase(Metric):
    """The family logic: thresholds, the four counts, and the constrained maximum.

    A subclass names its target (``_target``, e.g. "recall"), and says which rate is
    constrained and which is maximized (``_rates``).
    """

    _direction = "up"
    _target = ""

    def __init__(self, value, num_thresholds=200, class_id=None, name=None, dtype=None):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"Argument `{self._target}` must be in the range [0, 1]. "
                             f"Received: {self._target}={value!r}")
        if not isinstance(num_thresholds, numbers.Integral) or num_thresholds <= 0:
            raise ValueError("Argument `num_thresholds` must be an integer > 0. "
                             f"Received: num_thresholds={num_thresholds!r}")
        super().__init__(name=name, dtype=dtype)
        self.value, self.num_thresholds, self.class_id = value, num_thresholds, class_id
        setattr(self, self._target, value)
        if num_thresholds == 1:
            self.thresholds = [0.5]
        else:
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self.thresholds = [0.0] + inner + [1.0]
        shape = (len(self.thresholds),)
        self.true_positives, self.false_positives, self.true_negatives, \
            self.false_negatives = (self.add_variable(shape=shape, name=name) for name in
                                    ("true_positives", "false_positives", "true_negatives",
                                     "false_negatives"))

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = np.clip(_array(y_pred).astype(np.float64), 0.0, 1.0)
        counts = confusion_counts(y_true, y_pred, self.thresholds, sample_weight,
                                  class_id=self.class_id)
        self.true_positives.data += counts["tp"]
        self.false_positives.data += counts["fp"]
        self.true_negatives.data += counts["tn"]
        self.false_negatives.data += counts["fn"]

    def _rate(self, kind: str) -> np.ndarray:
        """'sensitivity' (= recall), 'specificity' or 'precision' at every threshold."""
        tp, fp, tn, fn = (v.data for v in (self.true_positives, self.false_positives,
                                           self.true_negatives, self.false_negatives))
        numerator, other = {"sensitivity": (tp, fn), "specificity": (tn, fp),
                            "precision": (tp, fp)}[kind]
        return _divide_no_nan(numerator, numerator + other)

    def result(self):
        constrained, maximized = (self._rate(kind) for kind in self._rates)
        feasible = constrained >= self.value
        return float(np.max(np.where(feasible, maximized, 0.0), initial=0.0))

    def get_config(self):
        return {**super().get_config(), "class_id": self.class_id,
                "num_thresholds": self.num_thresholds, self._target: self.value}


class SensitivityAtSpecificity(SensitivitySpecificityBase):
    """The best sensitivity, TP / (TP + FN), at a threshold where the specificity,
    TN / (TN + FP), is at least ``specificity``.

    Args:
        specificity: the target, in [0, 1].
        num_thresholds: how many thresholds to try, evenly spaced over [0, 1] (default 200).
        class_id: look at this column (class) of 2-D predictions only.
        name, dtype: as for every metric (name defaults to "sensitivity_at_specificity").

    Example (labels [0, 0, 0, 1, 1]: above 0.3, the negatives 0 and 0.3 give a specificity
    of 2/3, and one positive of two is found):
    >>> m = SensitivityAtSpecificity(0.5)
    >>> m.update_state([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8]); m.result()
    0.5
    """

    _target, _rates = "specificity", ("specificity", "sensitivity")

    def __init__(self, specificity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(specificity, num_thresholds, class_id, name, dtype)


class SpecificityAtSensitivity(SensitivitySpecificityBase):
    """The best specificity, TN / (TN + FP), at a threshold where the sensitivity,
    TP / (TP + FN), is at least ``sensitivity``.

    Arguments as for ``SensitivityAtSpecificity``, with ``sensitivity`` the target.

    >>> m = SpecificityAtSensitivity(0.5)
    >>> m.update_state([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8]); round(m.result(), 4)
    0.6667
    """

    _target, _rates = "sensitivity", ("sensitivity", "specificity")

    def __init__(self, sensitivity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(sensitivity, num_thresholds, class_id, name, dtype)


class PrecisionAtRecall(SensitivitySpecificityBase):
    """The best precision, TP / (TP + FP), at a threshold where the recall, TP / (TP + FN),
    is at least ``recall``.

    Arguments as for ``SensitivityAtSpecificity``, with ``recall`` the target.

    >>> m = PrecisionAtRecall(0.5)
    >>> m.update_state([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8]); m.result()
    0.5
    """

    _target, _rates = "recall", ("sensitivity", "precision")

    def __init__(self, recall, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(recall, num_thresholds, class_id, name, dtype)


class RecallAtPrecision(SensitivitySpecificityBase):
    """The best recall, TP / (TP + FN), at a threshold where the precision,
    TP / (TP + FP), is at least ``precision`` (0 if no threshold reaches it).

    Arguments as for ``SensitivityAtSpecificity``, with ``precision`` the target.

    >>> m = RecallAtPrecision(0.8)
    >>> m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9]); m.result()
    0.5
    """

    _target, _rates = "precision", ("precision", "sensitivity")

    def __init__(self, precision, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(precision, num_thresholds, class_id, name, dtype)
