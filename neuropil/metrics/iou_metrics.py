"""Intersection over union, from a class-by-class confusion matrix summed over batches."""
from __future__ import annotations

import numpy as np

from neuropil.metrics.base import Metric, _array

__all__ = ["IoU", "MeanIoU"]

EPSILON = 1e-7


class IoU(Metric):
    """TP / (TP + FP + FN) of the target classes, averaged over those that occur.

    Rows of the confusion matrix are true classes, columns predicted ones; a class's IoU is
    its diagonal entry over (row sum + column sum - diagonal). Classes with an empty row and
    column are left out of the mean.

    Args:
        num_classes: the number of classes (the confusion matrix is num_classes²).
        target_class_ids: the classes whose IoU is averaged.
        ignore_class: a label value to skip (e.g. a "void" class); None keeps every label.
        sparse_y_true, sparse_y_pred: True means integer class ids (predictions given as
            floats are truncated to integers, as Keras casts them); False means scores along
            ``axis``, reduced by argmax.
        axis: the class axis of non-sparse inputs (default -1).

    >>> m = IoU(num_classes=2, target_class_ids=[0])
    >>> m.update_state([0, 0, 1, 1], [0, 1, 0, 1]); round(m.result(), 4)
    0.3333
    """

    _direction = "up"

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None,
                 sparse_y_true=True, sparse_y_pred=True, axis=-1):
        super().__init__(name=name, dtype=dtype)
        if max(target_class_ids) >= num_classes:
            raise ValueError(f"Target class id {max(target_class_ids)} is out of range, which "
                             f"is [0, {num_classes}).")
        self.num_classes, self.target_class_ids = num_classes, list(target_class_ids)
        self.ignore_class, self.axis = ignore_class, axis
        self.sparse_y_true, self.sparse_y_pred = sparse_y_true, sparse_y_pred
        self.total_cm = self.add_variable(shape=(num_classes, num_classes),
                                          name="total_confusion_matrix")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = _array(y_true), _array(y_pred)
        if not self.sparse_y_true:
            y_true = np.argmax(y_true, axis=self.axis)
        if not self.sparse_y_pred:
            y_pred = np.argmax(y_pred, axis=self.axis)
        y_true = y_true.reshape(-1).astype(np.int64)
        y_pred = y_pred.reshape(-1).astype(np.int64)
        weight = np.ones(y_true.shape) if sample_weight is None else \
            np.broadcast_to(_array(sample_weight).astype(np.float64).reshape(-1), y_true.shape)
        n = self.num_classes
        keep = (y_true >= 0) & (y_true < n) & (y_pred >= 0) & (y_pred < n)
        if self.ignore_class is not None:
            keep &= y_true != self.ignore_class
        cells = y_true[keep] * n + y_pred[keep]
        self.total_cm.data += np.bincount(cells, weight[keep], minlength=n * n).reshape(n, n)

    def result(self):
        cm = self.total_cm.data
        tp = np.diag(cm)
        denominator = (cm.sum(axis=0) + cm.sum(axis=1) - tp)[self.target_class_ids]
        tp = tp[self.target_class_ids]
        valid = denominator > 1e-9
        iou = np.where(valid, tp / (denominator + EPSILON), 0.0)
        return float(iou.sum() / (valid.sum() + EPSILON))

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes,
                "target_class_ids": self.target_class_ids, "ignore_class": self.ignore_class,
                "sparse_y_true": self.sparse_y_true, "sparse_y_pred": self.sparse_y_pred,
                "axis": self.axis}


class MeanIoU(IoU):
    """IoU averaged over every class (``IoU`` with target_class_ids = all of them); the
    name defaults to "mean_io_u", as in Keras.

    >>> m = MeanIoU(num_classes=2)
    >>> m.update_state([0, 0, 1, 1], [0, 1, 0, 1]); round(m.result(), 4)
    0.3333
    """

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None,
                 sparse_y_true=True, sparse_y_pred=True, axis=-1):
        super().__init__(num_classes, list(range(num_classes)), name=name, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_true=sparse_y_true,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        config = super().get_config()
        del config["target_class_ids"]
        return config
