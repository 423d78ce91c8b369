"""LearningRateScheduler: set the learning rate from a function of the epoch."""
from __future__ import annotations

import numpy as np

from neuropil.callbacks.callback import Callback
from neuropil.callbacks.reduce_lr_on_plateau import current_learning_rate

__all__ = ["LearningRateScheduler"]


class LearningRateScheduler(Callback):
    """Before each epoch, sets the learning rate to ``schedule(epoch, lr)``.

    ``epoch`` counts from 0 (``initial_epoch`` included) and ``lr`` is the current rate; a
    one-argument ``schedule(epoch)`` works too. Each epoch end records the rate as
    ``logs["learning_rate"]``.

    Args:
        schedule: a function returning the new rate as a float.
        verbose: 1 prints "Epoch N: LearningRateScheduler setting learning rate to ...".

    Example (keep the rate for 10 epochs, then decay it by e^-0.1 per epoch):
    >>> def scheduler(epoch, lr):
    ...     return lr if epoch < 10 else lr * math.exp(-0.1)
    >>> model.compile(keras.optimizers.SGD(0.01), loss="mse")
    >>> model.fit(x, y, epochs=15, callbacks=[keras.callbacks.LearningRateScheduler(scheduler)])
    >>> round(float(model.optimizer.learning_rate), 5)
    0.00607
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        if not hasattr(optimizer, "learning_rate"):
            raise ValueError('Optimizer must have a "learning_rate" attribute.')
        try:
            learning_rate = self.schedule(epoch, current_learning_rate(optimizer))
        except TypeError:  # the older one-argument form, schedule(epoch)
            learning_rate = self.schedule(epoch)
        if not isinstance(learning_rate, (float, np.floating)):
            raise ValueError("The output of the `schedule` function should be a float. "
                             f"Got: {learning_rate}")
        optimizer.learning_rate = learning_rate
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to "
                  f"{learning_rate}.")

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        logs["learning_rate"] = current_learning_rate(self.model.optimizer)
