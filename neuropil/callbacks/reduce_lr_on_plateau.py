"""ReduceLROnPlateau: lower the learning rate when the monitored value stops improving."""
from __future__ import annotations

import warnings

import numpy as np

from neuropil.callbacks.monitor_callback import MonitorCallback

__all__ = ["ReduceLROnPlateau"]


def current_learning_rate(optimizer) -> float:
    """The optimizer's learning rate as a Python float (it is kept in a scalar variable)."""
    value = optimizer.learning_rate
    return float(np.asarray(getattr(value, "data", value)))


class ReduceLROnPlateau(MonitorCallback):
    """Multiplies the learning rate by ``factor`` after ``patience`` epochs without
    improvement of ``monitor``, never going below ``min_lr``.

    Every epoch end also records the current rate as ``logs["learning_rate"]`` (so it shows
    in ``History``), before the rate is changed.

    Args:
        monitor: the logs key to watch (default ``"val_loss"``).
        factor: new_lr = lr * factor; must be below 1 (default 0.1).
        patience: epochs without improvement before reducing (default 10).
        verbose: 1 prints "Epoch N: ReduceLROnPlateau reducing learning rate to ...".
        mode: ``"auto"``, ``"min"`` or ``"max"`` (see ``MonitorCallback``).
        min_delta: smaller changes than this do not count as improvements (default 1e-4).
        cooldown: epochs after a reduction during which no new reduction happens and the
            wait counter stays at 0 (default 0).
        min_lr: the lowest learning rate (default 0).

    Example:
    >>> reduce_lr = keras.callbacks.ReduceLROnPlateau(factor=0.2, patience=5, min_lr=0.001)
    >>> model.fit(x, y, validation_split=0.2, callbacks=[reduce_lr])
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0, **kwargs):
        # NOTE: like Keras 3, unknown keyword arguments (e.g. Keras 2's `epsilon`) are
        # accepted and ignored, so older scripts still run.
        super().__init__(monitor, mode, min_delta=min_delta)
        if factor >= 1.0:
            raise ValueError("ReduceLROnPlateau does not support a factor >= 1.0. "
                             f"Received factor={factor}")
        self.factor = factor
        self.min_lr = min_lr
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.cooldown_counter = 0
        self.wait = 0

    def _reset(self) -> None:
        self.best = None
        self.cooldown_counter = 0
        self.wait = 0

    def on_train_begin(self, logs=None):
        self._reset()

    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        logs = logs if logs is not None else {}
        logs["learning_rate"] = current_learning_rate(self.model.optimizer)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Learning rate reduction is conditioned on metric `{self.monitor}` "
                          f"which is not available. Available metrics are: {','.join(logs)}.",
                          stacklevel=2)
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience and self._reduce_lr(epoch):
                self.cooldown_counter = self.cooldown
                self.wait = 0

    def _reduce_lr(self, epoch) -> bool:
        """Lowers the rate unless it is already at min_lr; returns whether it did."""
        optimizer = self.model.optimizer
        old_lr = current_learning_rate(optimizer)
        if old_lr <= np.float32(self.min_lr):  # the rate is stored in float32
            return False
        new_lr = max(old_lr * self.factor, self.min_lr)
        optimizer.learning_rate = new_lr
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.")
        return True
