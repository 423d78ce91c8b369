"""TerminateOnNaN: stop training when the loss becomes NaN or infinite."""
from __future__ import annotations

import numpy as np

from neuropil.callbacks.callback import Callback

__all__ = ["TerminateOnNaN"]


class TerminateOnNaN(Callback):
    """Stops training after the first batch whose loss is NaN or infinite.

    By default it prints "Batch N: Invalid loss, terminating training" and sets
    ``model.stop_training``, so the epoch still ends and every callback's ``on_train_end``
    runs.

    Args:
        raise_error: raise a RuntimeError at once instead, skipping ``on_train_end`` (so a
            BackupAndRestore backup is kept, for instance).

    Example:
    >>> model.fit(x, y, callbacks=[keras.callbacks.TerminateOnNaN()])
    """

    def __init__(self, raise_error: bool = False):
        super().__init__()
        self.raise_error = raise_error

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or np.isfinite(loss):
            return
        if self.raise_error:
            raise RuntimeError(f"NaN or Inf loss encountered at batch {batch}. Loss value: "
                               f"{loss}. Terminating training immediately.")
        print(f"Batch {batch}: Invalid loss, terminating training")
        self.model.stop_training = True
