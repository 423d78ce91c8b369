"""The Keras-style progress line printed by fit / evaluate / predict.

Per step (``verbose=1``): ``  47/1875 ━━━━━━━━━━━━━━━━━━━━ 3s 2ms/step - accuracy: 0.86 -
loss: 0.47``, drawn by tqdm (the ``progress`` extra) on a terminal. Per epoch
(``verbose=2``, and what ``verbose="auto"`` means when output is not a terminal): one line
at the end of each epoch. Without tqdm the same lines are printed plainly.
"""
from __future__ import annotations

import logging
import sys
import time

from neuropil import config
from neuropil.callbacks.callback import Callback

__all__ = ["ProgbarLogger", "format_logs"]


def format_logs(logs: dict) -> str:
    return " - ".join(f"{key}: {value:.4f}" for key, value in logs.items()
                      if isinstance(value, (int, float)))


def _format_time(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds // 3600:.0f}:{seconds % 3600 // 60:02.0f}:{seconds % 60:02.0f}"
    if seconds >= 60:
        return f"{seconds // 60:.0f}:{seconds % 60:02.0f}"
    return f"{seconds:.0f}s"


def _per_step(seconds: float, steps: int) -> str:
    each = seconds / max(steps, 1)
    return f"{each * 1e3:.0f}ms/step" if each >= 1e-3 else f"{each * 1e6:.0f}us/step"


class ProgbarLogger(Callback):
    """Prints progress; ``verbose`` 1 = a bar per step, 2 = one line per epoch."""

    def __init__(self, count_mode="steps", verbose=1, stream=None):
        super().__init__()
        self.verbose = verbose
        self.stream = stream
        self._bar = None

    @property
    def _out(self):
        return self.stream or sys.stdout

    def set_params(self, params):
        super().set_params(params)
        self.verbose = params.get("verbose", self.verbose)
        self.epochs = params.get("epochs", 1)

    # ---- fit ---------------------------------------------------------------------------
    def on_epoch_begin(self, epoch, logs=None):
        if self.verbose and self.epochs > 1:  # Keras prints no "Epoch 1/1"
            self._emit(f"Epoch {epoch + 1}/{self.epochs}")
        self._start(self.params.get("steps"))

    def on_train_batch_end(self, batch, logs=None):
        self._update(batch + 1, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._finish(logs)

    def on_train_begin(self, logs=None):
        self._in_fit, self._discovered = True, None

    def on_train_end(self, logs=None):
        self._in_fit = False

    # ---- evaluate / predict (validation inside fit shows in the epoch line instead) -------
    _in_fit = False

    def on_test_begin(self, logs=None):
        if not self._in_fit:
            self._start(self.params.get("steps"))

    def on_test_batch_end(self, batch, logs=None):
        if not self._in_fit:
            self._update(batch + 1, logs)

    def on_test_end(self, logs=None):
        if not self._in_fit:
            self._finish(logs)

    def on_predict_begin(self, logs=None):
        self._start(self.params.get("steps"))

    def on_predict_batch_end(self, batch, logs=None):
        self._update(batch + 1, None)

    def on_predict_end(self, logs=None):
        self._finish(None)

    # ---- drawing ---------------------------------------------------------------------
    def _emit(self, line: str) -> None:
        """A finished line: printed, or (``keras.config.disable_interactive_logging()``)
        sent to the "neuropil" logger, without a bar, as Keras sends it to its logger."""
        if config.is_interactive_logging_enabled():
            print(line, file=self._out, flush=True)
        else:
            logging.getLogger("neuropil").info(line)

    _started = None

    _discovered = None  # steps counted in an epoch of data of unknown length

    def _start(self, steps):
        # As Keras: data of unknown length shows "12/Unknown" until its first epoch ends; the
        # count found then is the total of the next epochs.
        steps = steps or self._discovered
        self._steps, self._started, self._seen = steps, time.perf_counter(), 0
        self._bar = None
        if self.verbose == 1 and config.is_interactive_logging_enabled():
            try:
                from tqdm.auto import tqdm
            except ImportError:
                return
            width = len(str(steps)) if steps else 1
            # Only the counter and the bar are tqdm's; time and metrics are ours, in Keras's
            # words ("3s 2ms/step - loss: ..."), carried in the description field.
            self._bar = tqdm(total=steps, file=self._out, leave=True, ascii=" ━",
                             bar_format=f"{{n_fmt:>{width}}}/{{total_fmt}} {{bar:20}} {{desc}}"
                             if steps else "{n_fmt:>7}/Unknown {desc}",
                             mininterval=0.1)

    def _status(self, step, logs, finished):
        elapsed = time.perf_counter() - self._started
        if finished or not self._steps:
            clock = _format_time(elapsed)
        else:  # ETA from the mean step time so far
            clock = _format_time(elapsed / max(step, 1) * (self._steps - step))
        text = format_logs(logs or {})
        return f"{clock} {_per_step(elapsed, max(step, 1))}" + (f" - {text}" if text else "")

    def _update(self, step, logs):
        self._seen = step
        if self._bar is not None:
            self._bar.set_description_str(self._status(step, logs, False), refresh=False)
            self._bar.update(step - self._bar.n)

    def _finish(self, logs):
        if self._started is None:
            return
        steps = self._steps or self._seen
        if not self._steps and self._in_fit:
            self._discovered = self._seen
        if self._bar is not None:
            self._bar.set_description_str(self._status(steps, logs, True), refresh=False)
            self._bar.close()
        elif self.verbose:
            elapsed = time.perf_counter() - self._started
            text = format_logs(logs or {})
            line = f"{steps}/{steps} - {_format_time(elapsed)} - {_per_step(elapsed, steps)}"
            self._emit(line + (f" - {text}" if text else ""))
        self._bar, self._started = None, None
