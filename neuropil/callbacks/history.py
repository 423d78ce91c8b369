"""History: what ``fit`` returns, the per-epoch record of every logged value."""
from __future__ import annotations

from neuropil.callbacks.callback import Callback

__all__ = ["History"]


class History(Callback):
    """Records the logs of each epoch: ``history.history["val_loss"][3]``.

    ``history.epoch`` lists the epoch numbers recorded. A model keeps one History across
    repeated ``fit`` calls' epochs only in ``model.history`` of the latest fit, as in Keras.
    """

    def __init__(self):
        super().__init__()
        self.history: dict = {}
        self.epoch: list = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)

    def set_model(self, model) -> None:
        super().set_model(model)
        model.history = self
