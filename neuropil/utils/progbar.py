"""``keras.utils.Progbar``: a progress bar for loops of one's own (a custom training loop).

Prints Keras's lines, plainly (no colours):
``  3/10 ━━━━━━              1s 12ms/step - loss: 0.5123``. On a terminal each update
redraws the line; elsewhere (a log file, a notebook capture) each update is a new line.
With ``keras.config.disable_interactive_logging()`` the lines go to the ``logging``
module (logger ``"neuropil"``) instead of stdout.
"""
from __future__ import annotations

import logging
import sys
import time

import numpy as np

from neuropil import config

__all__ = ["Progbar"]


class Progbar:
    """Displays a progress bar.

    Args:
        target: total number of steps expected, None if unknown.
        width: width of the bar, in characters (default 20).
        verbose: 0 silent, 1 a bar updated as it goes, 2 one line when ``target`` is reached.
        interval: minimum seconds between two redraws (default 0.05).
        stateful_metrics: names of values shown as given; all others are averaged over the
            steps seen (weighted by the steps each value covered). Give this or
            ``stateless_metrics`` (the names to average; all others shown as given).
        unit_name: the unit of the time per step (``"step"``, ``"sample"``).

    Example:
    >>> bar = Progbar(target=4, interval=0)
    >>> for step in range(1, 5):
    ...     bar.update(step, values=[("loss", 1.0 / step)])
    """

    def __init__(self, target, width=20, verbose=1, interval=0.05, stateful_metrics=None,
                 stateless_metrics=None, unit_name="step"):
        if stateful_metrics is not None and stateless_metrics is not None:
            raise ValueError("Progbar: give `stateful_metrics` (names not to average) or "
                             "`stateless_metrics` (names to average), not both.")
        self.target, self.width, self.verbose = target, width, verbose
        self.interval, self.unit_name = interval, unit_name
        self.stateful_metrics = set(stateful_metrics or ()) if stateless_metrics is None \
            else None
        self.stateless_metrics = None if stateless_metrics is None else set(stateless_metrics)
        self._dynamic = hasattr(sys.stdout, "isatty") and sys.stdout.isatty()
        self._values: dict = {}   # name -> [weighted sum, weight]
        self._seen_so_far = 0
        self._start = time.time()
        self._last_update = 0.0
        self._after_first_step = None
        self._previous_width = 0

    def update(self, current, values=None, finalize=None):
        """Moves the bar to step ``current``.

        Args:
            current: index of the current step (1-based: the steps done so far).
            values: list of ``(name, value)`` for this step.
            finalize: whether this is the last update; default ``current >= target``.
        """
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        for name, value in values or []:
            averaged = (name not in self.stateful_metrics if self.stateful_metrics is not None
                        else name in self.stateless_metrics)
            if averaged and not finalize:
                weight = max(current - self._seen_so_far, 1)
                total, count = self._values.get(name, [0.0, 0])
                self._values[name] = [total + np.mean(value) * weight, count + weight]
            else:  # shown as given (and, as Keras, a final value replaces the average)
                self._values[name] = [np.mean(value), 1]
        self._seen_so_far = current
        now = time.time()
        per_step = self._step_time(current, now)
        if self.verbose == 1:
            if now - self._last_update < self.interval and not finalize:
                return
            self._draw(current, per_step, now, finalize)
        elif self.verbose == 2 and finalize and self.target:
            count = f"{current:>{len(str(self.target))}}/{self.target}"
            _emit(f"{count} - {now - self._start:.0f}s - {_per_unit(per_step, self.unit_name)}"
                  f"{self._metrics()}\n")
        self._last_update = now

    def add(self, n, values=None):
        """Moves the bar ``n`` steps forward."""
        self.update(self._seen_so_far + n, values)

    # ---- drawing -------------------------------------------------------------------------
    def _draw(self, current, per_step, now, finalize):
        if self.target:
            done = min(int(self.width * current / self.target), self.width)
            bar = (f"{current:>{len(str(self.target))}}/{self.target} "
                   + "━" * done + " " * (self.width - done))
        else:
            bar = f"{current:>7}/Unknown"
        if self.target and not finalize:
            clock = _format_clock(per_step * (self.target - current))   # time left
        else:
            clock = f"{now - self._start:.0f}s"                           # time taken
        line = f"{bar} {clock} {_per_unit(per_step, self.unit_name)}{self._metrics()}"
        # On a terminal, blank out the rest of a longer previous line.
        padding = " " * max(self._previous_width - len(line), 0) if self._dynamic else ""
        self._previous_width = len(line)
        start = "\r" if self._dynamic else ""
        end = "\n" if finalize or not self._dynamic else ""
        _emit(start + line + padding + end)

    def _metrics(self) -> str:
        text = ""
        for name, (total, count) in self._values.items():
            mean = total / max(count, 1)
            text += f" - {name}: {mean:.4f}" if abs(mean) > 1e-3 else f" - {name}: {mean:.4e}"
        return text

    def _step_time(self, current, now) -> float:
        """Seconds per step, leaving out the first step (often slow) once there are more."""
        if not current:
            return 0.0
        if self._after_first_step is not None and current > 1:
            per_step = (now - self._after_first_step) / (current - 1)
        else:
            per_step = (now - self._start) / current
        if current == 1:
            self._after_first_step = now
        return per_step


def _format_clock(seconds: float) -> str:
    if seconds > 3600:
        return f"{seconds // 3600:.0f}:{seconds % 3600 // 60:02.0f}:{seconds % 60:02.0f}"
    if seconds > 60:
        return f"{seconds // 60:.0f}:{seconds % 60:02.0f}"
    return f"{seconds:.0f}s"


def _per_unit(seconds: float, unit: str) -> str:
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/{unit}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit}"
    return f"{seconds * 1e6:.0f}us/{unit}"


def _emit(message: str) -> None:
    """To stdout, or to logging when interactive logging is off (keras.config)."""
    if config.is_interactive_logging_enabled():
        sys.stdout.write(message)
        sys.stdout.flush()
    else:
        logging.getLogger("neuropil").info(message.strip("\r\n"))
