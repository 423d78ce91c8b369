"""The Callback base class: every hook fit / evaluate / predict calls, each doing nothing."""
from __future__ import annotations

__all__ = ["Callback"]


class Callback:
    """Base class for hooks into fit / evaluate / predict.

    ``self.model`` is the model being trained and ``self.params`` holds ``epochs``, ``steps``
    and ``verbose``. Override any of the ``on_*`` methods; ``logs`` is a dict of the current
    metric values (e.g. ``{"loss": 0.3, "accuracy": 0.9}``), the same dict for every callback
    in the list, so a callback may add a key for the ones after it (``History`` comes last).
    Set ``self.model.stop_training = True`` to end fit after the current batch and epoch.

    What each hook receives, as in Keras:
        on_train_batch_end(batch, logs): loss and metrics averaged over the epoch so far.
        on_epoch_end(epoch, logs): the epoch's loss and metrics, plus ``val_*`` ones when
            the epoch was validated. ``epoch`` counts from 0 and includes ``initial_epoch``.
        on_test_end(logs): the evaluation's loss and metrics.
        on_train_end(logs): the last epoch's logs.
        on_predict_batch_end(batch, logs): ``{"outputs": the batch's predictions}``.
        The ``*_begin`` hooks and ``on_predict_end`` receive an empty dict.

    Example:
    >>> class Stop(keras.callbacks.Callback):
    ...     def on_epoch_end(self, epoch, logs=None):
    ...         if logs["loss"] < 0.1:
    ...             self.model.stop_training = True
    """

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model) -> None:
        self.model = model

    def set_params(self, params: dict) -> None:
        self.params = params

    # NOTE: as in Keras, the train-batch hooks fall back to the Keras 2 names on_batch_begin /
    # on_batch_end, so an old-style callback (or LambdaCallback(on_batch_end=...)) still runs.
    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs=logs)

    def on_batch_begin(self, batch, logs=None): pass
    def on_batch_end(self, batch, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_test_begin(self, logs=None): pass
    def on_test_end(self, logs=None): pass
    def on_test_batch_begin(self, batch, logs=None): pass
    def on_test_batch_end(self, batch, logs=None): pass
    def on_predict_begin(self, logs=None): pass
    def on_predict_end(self, logs=None): pass
    def on_predict_batch_begin(self, batch, logs=None): pass
    def on_predict_batch_end(self, batch, logs=None): pass
