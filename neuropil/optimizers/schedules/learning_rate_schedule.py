"""Learning-rate schedules: the learning rate as a function of the optimizer's step count.

An optimizer given a schedule calls it with ``optimizer.iterations`` (0 before the first
update) at every step. Each schedule follows the formula of Keras 3's
``keras/src/optimizers/schedules/learning_rate_schedule.py``. ``step`` may be an int, a
scalar Variable or a NumPy array of steps (handy for plotting a schedule); a scalar step
gives a Python float.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["LearningRateSchedule", "ExponentialDecay", "PiecewiseConstantDecay",
           "PolynomialDecay", "InverseTimeDecay", "CosineDecay", "CosineDecayRestarts"]


def _steps(step) -> np.ndarray:
    return np.asarray(getattr(step, "data", step), dtype=np.float64)


def _out(value):
    value = np.asarray(value, dtype=np.float64)
    return float(value) if value.ndim == 0 else value


def _check_positive(name: str, value) -> None:
    if value <= 0:
        raise ValueError(f"Argument `{name}` must be > 0. Received: {name}={value}")


class LearningRateSchedule:
    """Base class: subclasses implement ``__call__(step)`` and ``get_config()``.

    Example:
    >>> class OneOverT(LearningRateSchedule):
    ...     def __init__(self, initial_learning_rate):
    ...         self.initial_learning_rate = initial_learning_rate
    ...     def __call__(self, step):
    ...         return self.initial_learning_rate / (step + 1)
    ...     def get_config(self):
    ...         return {"initial_learning_rate": self.initial_learning_rate}
    >>> OneOverT(0.1)(4)
    0.02
    """

    def __call__(self, step):
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must "
                                  "override `__call__(self, step)`.")

    def get_config(self) -> dict:
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must "
                                  "override `get_config()` in order to be serializable.")

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self) -> str:
        try:
            args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        except NotImplementedError:
            args = ""
        return f"{type(self).__name__}({args})"


class ExponentialDecay(LearningRateSchedule):
    """``initial_learning_rate · decay_rate ^ (step / decay_steps)``; with ``staircase`` the
    exponent is floored, so the rate drops once every ``decay_steps`` steps.

    Example:
    >>> ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)(20)
    0.025
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="ExponentialDecay"):
        _check_positive("decay_steps", decay_steps)
        self.initial_learning_rate, self.decay_steps = initial_learning_rate, decay_steps
        self.decay_rate, self.staircase, self.name = decay_rate, staircase, name

    def __call__(self, step):
        p = _steps(step) / self.decay_steps
        if self.staircase:
            p = np.floor(p)
        return _out(self.initial_learning_rate * np.power(float(self.decay_rate), p))

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` while ``step <= boundaries[0]``, ``values[i]`` while
    ``boundaries[i-1] < step <= boundaries[i]``, ``values[-1]`` after the last boundary.

    Example:
    >>> schedule = PiecewiseConstantDecay([100, 200], [1.0, 0.5, 0.1])
    >>> schedule(100), schedule(101), schedule(201)
    (1.0, 0.5, 0.1)
    """

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if len(boundaries) != len(values) - 1:
            raise ValueError(f"PiecewiseConstantDecay: n boundaries split the steps into "
                             f"n + 1 intervals, so `values` needs one more entry than "
                             f"`boundaries`. Received: {len(boundaries)} boundaries "
                             f"{boundaries} and {len(values)} values {values}.")
        self.boundaries, self.values, self.name = boundaries, values, name

    def __call__(self, step):
        # How many boundaries lie strictly below the step picks the interval.
        index = np.searchsorted(np.asarray(self.boundaries, np.float64), _steps(step),
                                side="left")
        return _out(np.asarray(self.values, dtype=np.float64)[index])

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """From ``initial_learning_rate`` to ``end_learning_rate`` over ``decay_steps``:
    ``(initial - end) · (1 - step / decay_steps) ^ power + end``, with ``step`` capped at
    ``decay_steps``. With ``cycle``, ``decay_steps`` grows instead to the first multiple of
    itself at or above ``step`` (1× at step 0), so the decay restarts.

    Example:
    >>> PolynomialDecay(0.1, decay_steps=10, end_learning_rate=0.0)(5)
    0.05
    """

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001,
                 power=1.0, cycle=False, name="PolynomialDecay"):
        _check_positive("decay_steps", decay_steps)
        self.initial_learning_rate, self.decay_steps = initial_learning_rate, decay_steps
        self.end_learning_rate, self.power = end_learning_rate, power
        self.cycle, self.name = cycle, name

    def __call__(self, step):
        step = _steps(step)
        decay_steps = np.float64(self.decay_steps)
        if self.cycle:
            decay_steps = decay_steps * np.where(step == 0, 1.0, np.ceil(step / decay_steps))
        else:
            step = np.minimum(step, decay_steps)
        fraction_left = 1 - step / decay_steps
        return _out((self.initial_learning_rate - self.end_learning_rate)
                    * np.power(fraction_left, self.power) + self.end_learning_rate)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "end_learning_rate": self.end_learning_rate,
                "power": self.power, "cycle": self.cycle, "name": self.name}


class InverseTimeDecay(LearningRateSchedule):
    """``initial_learning_rate / (1 + decay_rate · step / decay_steps)``; with
    ``staircase`` the ratio ``step / decay_steps`` is floored.

    Example:
    >>> InverseTimeDecay(0.1, decay_steps=1, decay_rate=0.5)(2)
    0.05
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="InverseTimeDecay"):
        _check_positive("decay_steps", decay_steps)
        self.initial_learning_rate, self.decay_steps = initial_learning_rate, decay_steps
        self.decay_rate, self.staircase, self.name = decay_rate, staircase, name

    def __call__(self, step):
        p = _steps(step) / self.decay_steps
        if self.staircase:
            p = np.floor(p)
        return _out(self.initial_learning_rate / (1 + self.decay_rate * p))

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


def _cosine(fraction, alpha):
    """Half a cosine from 1 down to ``alpha`` as ``fraction`` goes from 0 to 1."""
    return (1 - alpha) * 0.5 * (1 + np.cos(math.pi * fraction)) + alpha


class CosineDecay(LearningRateSchedule):
    """Cosine decay, optionally after a linear warm-up.

    Without ``warmup_target``: ``initial_learning_rate · ((1-alpha)·½(1 + cos(π·s/D)) +
    alpha)`` with ``s = min(step, D)``, ``D = decay_steps``; ``warmup_steps`` is then ignored
    (as in Keras). With ``warmup_target``: for ``step < warmup_steps`` the rate rises linearly
    from ``initial_learning_rate`` to ``warmup_target``; afterwards the same cosine runs from
    ``warmup_target`` down to ``alpha · warmup_target`` over the next ``decay_steps`` steps
    and stays there.

    Example:
    >>> schedule = CosineDecay(0.0, decay_steps=10, warmup_target=0.1, warmup_steps=5)
    >>> round(schedule(2), 6), round(schedule(5), 6), round(schedule(10), 6), schedule(99)
    (0.04, 0.1, 0.05, 0.0)
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
                 warmup_target=None, warmup_steps=0):
        _check_positive("decay_steps", decay_steps)
        self.initial_learning_rate, self.decay_steps = initial_learning_rate, decay_steps
        self.alpha, self.name = alpha, name
        self.warmup_target, self.warmup_steps = warmup_target, warmup_steps

    def __call__(self, step):
        step = _steps(step)
        if self.warmup_target is None:
            fraction = np.minimum(step, self.decay_steps) / self.decay_steps
            return _out(self.initial_learning_rate * _cosine(fraction, self.alpha))
        warmup_steps = float(self.warmup_steps)
        step = np.minimum(step, self.decay_steps + warmup_steps)
        decayed = self.warmup_target * _cosine((step - warmup_steps) / self.decay_steps,
                                               self.alpha)
        if warmup_steps <= 0:  # no warm-up phase at all (and no 0 / 0 below)
            return _out(decayed)
        warming = (self.initial_learning_rate + (self.warmup_target - self.initial_learning_rate)
                   * step / warmup_steps)
        return _out(np.where(step < warmup_steps, warming, decayed))

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR, Loshchilov & Hutter 2016).

    The first period lasts ``first_decay_steps``; each following period is ``t_mul`` times
    longer and starts from ``m_mul`` times the previous peak. Within period ``i`` (counted
    from 0) at fraction ``f`` of it the rate is
    ``initial_learning_rate · ((1-alpha) · m_mul^i · ½(1 + cos(π f)) + alpha)``
    (``alpha`` is not scaled by ``m_mul``, as in Keras).

    Example:
    >>> schedule = CosineDecayRestarts(1.0, first_decay_steps=10)
    >>> schedule(0), schedule(10), round(schedule(20), 6)
    (1.0, 1.0, 0.5)
    """

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0,
                 alpha=0.0, name="SGDRDecay"):
        _check_positive("first_decay_steps", first_decay_steps)
        self.initial_learning_rate, self.first_decay_steps = (initial_learning_rate,
                                                              first_decay_steps)
        self._t_mul, self._m_mul, self.alpha, self.name = t_mul, m_mul, alpha, name

    def __call__(self, step):
        fraction = _steps(step) / self.first_decay_steps
        t_mul = float(self._t_mul)
        if t_mul == 1.0:
            restart = np.floor(fraction)
            fraction = fraction - restart
        else:
            # Periods 1, t, t², ... end at (1 - t^i) / (1 - t) first-periods: invert that.
            restart = np.floor(np.log(1.0 - fraction * (1.0 - t_mul)) / np.log(t_mul))
            elapsed = (1.0 - np.power(t_mul, restart)) / (1.0 - t_mul)
            fraction = (fraction - elapsed) / np.power(t_mul, restart)
        peak = np.power(float(self._m_mul), restart)
        decayed = (1 - self.alpha) * peak * 0.5 * (1 + np.cos(math.pi * fraction)) + self.alpha
        return _out(self.initial_learning_rate * decayed)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "first_decay_steps": self.first_decay_steps, "t_mul": self._t_mul,
                "m_mul": self._m_mul, "alpha": self.alpha, "name": self.name}
