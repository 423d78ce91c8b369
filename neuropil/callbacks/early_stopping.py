"""EarlyStopping: end fit when the monitored value stops improving."""
from __future__ import annotations

import warnings

from neuropil.callbacks.monitor_callback import MonitorCallback

__all__ = ["EarlyStopping"]


class EarlyStopping(MonitorCallback):
    """Stops training once ``monitor`` has not improved for ``patience`` epochs.

    At each epoch end the monitored value is compared with the best so far; an improvement
    (by more than ``min_delta``) resets the wait counter, otherwise it grows, and training
    stops (``model.stop_training = True``) once it reaches ``patience``. Epoch 0 never stops
    training. State is reset at every ``fit``, so one instance can be reused.

    Args:
        monitor: the logs key to watch (default ``"val_loss"``).
        min_delta: smaller changes than this do not count as improvements (default 0).
        patience: epochs without improvement before stopping (default 0).
        verbose: 1 prints "Epoch N: early stopping" and the restore message.
        mode: ``"auto"``, ``"min"`` or ``"max"`` (see ``MonitorCallback``).
        baseline: the wait counter is only reset by values that also beat this baseline, so
            training stops after ``patience`` epochs if the model never does better.
        restore_best_weights: at the end of training, set the model's weights back to those
            of the best epoch (whether or not training stopped early; with a baseline never
            beaten, the best of the epochs run).
        start_from_epoch: epochs to wait before monitoring at all (a warm-up).

    Attributes:
        best, best_epoch, wait, stopped_epoch (0 when training did not stop early).

    Example:
    >>> callback = keras.callbacks.EarlyStopping(monitor="loss", patience=3)
    >>> history = model.fit(x, y, epochs=100, callbacks=[callback], verbose=0)
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__(monitor, mode, min_delta=min_delta)
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.wait = 0
        self.stopped_epoch = 0
        self.restore_best_weights = restore_best_weights
        self.best_weights = None
        self.best_epoch = 0
        self.start_from_epoch = start_from_epoch

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # The first monitored epoch is the best one until another beats it.
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch

        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            # NOTE: the counter restarts only when the baseline is beaten too; an
            # improving epoch never stops training, though.
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return

        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print("Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)

    def get_monitor_value(self, logs):
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(f"Early stopping conditioned on metric `{self.monitor}` which is not "
                          f"available. Available metrics are: {','.join(logs)}", stacklevel=2)
        return value
