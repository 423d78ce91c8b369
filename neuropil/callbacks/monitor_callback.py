"""MonitorCallback: what EarlyStopping, ModelCheckpoint and ReduceLROnPlateau share.

Each watches one logged value (``monitor``) and asks, once per epoch, "is this better than
the best so far by more than ``min_delta``?". Which way is better comes from ``mode``.
"""
from __future__ import annotations

import operator
import warnings

from neuropil.callbacks.callback import Callback

__all__ = ["MonitorCallback"]


class MonitorCallback(Callback):
    """Base class of the callbacks that track the best value of a monitored quantity.

    Args:
        monitor: the logs key to watch (default ``"val_loss"``).
        mode: ``"min"``, ``"max"`` or ``"auto"``. In ``"auto"`` mode, as in Keras 3, a name
            that is ``"loss"`` (after removing a ``"val_"`` prefix) is minimized, and a
            compiled metric of that name is maximized or minimized according to its kind
            (accuracies up, errors and cross-entropies down); anything else raises a
            ValueError at the first epoch end asking for an explicit mode. An unknown mode
            warns and falls back to ``"auto"``.
        baseline: the starting "best" value (``None``: the first value seen is the best).
        min_delta: the smallest change that counts as an improvement (its sign is ignored).
    """

    def __init__(self, monitor="val_loss", mode="auto", baseline=None, min_delta=0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"{type(self).__name__} mode '{mode}' is unknown, fallback to auto "
                          "mode.", stacklevel=2)
            mode = "auto"
        self.monitor = monitor
        self.mode = mode
        self.best = baseline
        self.min_delta = abs(min_delta)
        self.monitor_op = None

    def _set_monitor_op(self) -> None:
        """Chooses ``operator.lt`` (lower is better) or ``operator.gt``; called at the first
        epoch end, once the compiled metrics exist."""
        if self.mode == "min":
            self.monitor_op = operator.lt
        elif self.mode == "max":
            self.monitor_op = operator.gt
        else:
            name = self.monitor.removeprefix("val_")
            if name == "loss":
                self.monitor_op = operator.lt
            for metric in getattr(self.model, "metrics", []):
                direction = getattr(metric, "_direction", None)
                if metric.name == name and direction is not None:
                    self.monitor_op = operator.gt if direction == "up" else operator.lt
            if self.monitor_op is None:
                raise ValueError(
                    f"{type(self).__name__} callback received monitor={self.monitor}, but "
                    "neuropil isn't able to automatically determine whether that metric "
                    "should be maximized or minimized. Pass `mode='max'` in order to monitor "
                    "based on the highest metric value, or pass `mode='min'` in order to use "
                    "the lowest value.")
        # NOTE: from here on, "improved" is one comparison: op(value - min_delta, best).
        if self.monitor_op is operator.lt:
            self.min_delta = -self.min_delta

    def _is_improvement(self, monitor_value, reference_value) -> bool:
        if reference_value is None:
            return True
        return bool(self.monitor_op(monitor_value - self.min_delta, reference_value))
