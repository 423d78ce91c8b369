"""CallbackList: calls one hook on every callback, in order, as fit / evaluate / predict do."""
from __future__ import annotations

import numpy as np

from neuropil.callbacks.callback import Callback
from neuropil.callbacks.history import History
from neuropil.callbacks.progbar_logger import ProgbarLogger

__all__ = ["CallbackList"]


def pythonify_logs(logs) -> dict:
    """A fresh dict, sorted by key, with scalar values as Python floats (as Keras passes them).

    Every callback of one hook call shares this dict, so a key one of them adds (e.g.
    ReduceLROnPlateau's "learning_rate") reaches those after it, History included; the
    trainer's own dict is left as it was.
    """
    result = {}
    for key, value in sorted((logs or {}).items()):
        # (a multi-output model's predict passes a list or dict of arrays: left as is)
        if not isinstance(value, (str, list, tuple, dict)) and np.ndim(value) == 0:
            try:
                value = float(value)
            except (TypeError, ValueError):
                pass
        result[key] = value
    return result


class CallbackList(Callback):
    """Calls every hook on each callback in order.

    Args:
        callbacks: list of ``Callback`` instances.
        add_history: append a ``History`` unless the list already has one.
        add_progbar: append a ``ProgbarLogger`` unless the list already has one (so one
            passed explicitly is the only one that prints).
        model: the model the callbacks are used with.
        **params: passed to every callback's ``set_params`` (epochs, steps, verbose).
    """

    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None,
                 **params):
        super().__init__()
        self.callbacks = list(callbacks or [])
        if add_history and not any(isinstance(c, History) for c in self.callbacks):
            self.callbacks.append(History())
        if add_progbar and not any(isinstance(c, ProgbarLogger) for c in self.callbacks):
            self.callbacks.append(ProgbarLogger())
        if model is not None:
            self.set_model(model)
        if params:
            self.set_params(params)

    def append(self, callback) -> None:
        self.callbacks.append(callback)

    def set_model(self, model) -> None:
        super().set_model(model)
        for callback in self.callbacks:
            callback.set_model(model)

    def set_params(self, params) -> None:
        super().set_params(params)
        for callback in self.callbacks:
            callback.set_params(params)

    # Epoch and begin/end hooks take logs positionally, batch hooks by keyword, as in Keras
    # (a LambdaCallback function must name its second argument `logs`).
    def _each(self, hook: str, *args) -> None:
        logs = pythonify_logs(args[-1])
        for callback in self.callbacks:
            getattr(callback, hook)(*args[:-1], logs)

    def _each_batch(self, hook: str, batch, logs) -> None:
        logs = pythonify_logs(logs)
        for callback in self.callbacks:
            getattr(callback, hook)(batch, logs=logs)

    def on_epoch_begin(self, epoch, logs=None): self._each("on_epoch_begin", epoch, logs)
    def on_epoch_end(self, epoch, logs=None): self._each("on_epoch_end", epoch, logs)
    def on_train_begin(self, logs=None): self._each("on_train_begin", logs)
    def on_train_end(self, logs=None): self._each("on_train_end", logs)
    def on_test_begin(self, logs=None): self._each("on_test_begin", logs)
    def on_test_end(self, logs=None): self._each("on_test_end", logs)
    def on_predict_begin(self, logs=None): self._each("on_predict_begin", logs)
    def on_predict_end(self, logs=None): self._each("on_predict_end", logs)

    def on_batch_begin(self, batch, logs=None): self._each_batch("on_batch_begin", batch, logs)
    def on_batch_end(self, batch, logs=None): self._each_batch("on_batch_end", batch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        self._each_batch("on_train_batch_begin", batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self._each_batch("on_train_batch_end", batch, logs)

    def on_test_batch_begin(self, batch, logs=None):
        self._each_batch("on_test_batch_begin", batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        self._each_batch("on_test_batch_end", batch, logs)

    def on_predict_batch_begin(self, batch, logs=None):
        self._each_batch("on_predict_batch_begin", batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._each_batch("on_predict_batch_end", batch, logs)
