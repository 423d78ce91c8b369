"""LambdaCallback: a callback made of plain functions."""
from __future__ import annotations

from neuropil.callbacks.callback import Callback

__all__ = ["LambdaCallback"]


class LambdaCallback(Callback):
    """A callback whose hooks are the functions given, each called as the hook would be.

    ``on_epoch_begin`` / ``on_epoch_end`` get ``(epoch, logs)``; ``on_train_begin`` /
    ``on_train_end`` get ``(logs)``; batch hooks get ``(batch, logs=logs)``, so their
    second argument must be called ``logs``. Any other hook is passed by keyword with its
    own name, e.g. ``on_test_end=...``, ``on_predict_batch_end=...``, or the Keras 2 names
    ``on_batch_begin`` / ``on_batch_end`` (called for training batches).

    Example:
    >>> print_batch = keras.callbacks.LambdaCallback(
    ...     on_train_batch_begin=lambda batch, logs: print(batch))
    >>> log_loss = keras.callbacks.LambdaCallback(
    ...     on_epoch_end=lambda epoch, logs: losses.append(logs["loss"]))
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None,
                 on_train_end=None, on_train_batch_begin=None, on_train_batch_end=None,
                 **kwargs):
        super().__init__()
        # NOTE: as in Keras, any keyword becomes an attribute; a hook name overrides the hook.
        self.__dict__.update(kwargs)
        hooks = {"on_epoch_begin": on_epoch_begin, "on_epoch_end": on_epoch_end,
                 "on_train_begin": on_train_begin, "on_train_end": on_train_end,
                 "on_train_batch_begin": on_train_batch_begin,
                 "on_train_batch_end": on_train_batch_end}
        for name, function in hooks.items():
            if function is not None:
                setattr(self, name, function)
