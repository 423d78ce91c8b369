"""The Optimizer base class: turns gradients into weight updates.

What every optimizer shares lives here (learning rate or schedule, step counter, gradient
clipping, decoupled weight decay, per-weight slots); a named optimizer only writes its own
``update_step``. Updates run in place on the weights' arrays, outside the autodiff graph.
"""
from __future__ import annotations

import warnings

import numpy as np

from neuropil._naming import to_snake_case, unique_name
from neuropil.autodiff import Variable

__all__ = ["Optimizer"]


class Optimizer:
    """Base class of the optimizers.

    Args:
        learning_rate: a float or a schedule (a callable of the step number).
        weight_decay: if set, each step first shrinks weights by ``lr · weight_decay · w``.
        clipnorm: clip each gradient to this L2 norm.
        clipvalue: clip each gradient's entries to [-clipvalue, clipvalue].
        global_clipnorm: clip all gradients together to this global L2 norm.
        name: the optimizer's name.
    """

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        if kwargs:
            raise TypeError(f"Unrecognized keyword arguments passed to {type(self).__name__}: "
                            f"{kwargs}")
        if sum(x is not None for x in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError("Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be "
                             f"set. Received: clipnorm={clipnorm}, clipvalue={clipvalue}, "
                             f"global_clipnorm={global_clipnorm}")
        self.name = name or unique_name(to_snake_case(type(self).__name__))
        self.weight_decay, self.clipnorm, self.clipvalue = weight_decay, clipnorm, clipvalue
        self.global_clipnorm = global_clipnorm
        self.use_ema, self.ema_momentum = use_ema, ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self.iterations = Variable(np.zeros((), np.int64), dtype="int64", trainable=False,
                                   name="iteration")
        self._schedule = None
        self._learning_rate = Variable(np.zeros((), np.float32), dtype="float32",
                                       trainable=False, name="learning_rate")
        self.learning_rate = learning_rate
        self._slots: dict = {}       # id(weight) -> {slot name: array}
        self._variables: list = []   # slot variables, in creation order (for saving)
        self.built = False

    # ---- learning rate ---------------------------------------------------------------
    @property
    def learning_rate(self):
        """The current learning rate (a scalar variable; ``float()`` it to read)."""
        if self._schedule is not None:
            self._learning_rate.data[...] = self._schedule(int(self.iterations.data))
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        if callable(value) and not isinstance(value, (Variable, np.ndarray)):
            self._schedule = value
            return
        value = float(np.asarray(value))
        if value < 0:
            raise ValueError(f"{type(self).__name__}: learning_rate must be >= 0. "
                             f"Received: learning_rate={value}")
        self._schedule = None
        self._learning_rate.data[...] = value

    lr = learning_rate

    def _current_lr(self) -> float:
        return float(self.learning_rate.data)

    # ---- slots -----------------------------------------------------------------------
    def build(self, variables) -> None:
        """Creates the per-weight state (momentum, moments, ...) for these weights."""
        for variable in variables:
            self._slots.setdefault(id(variable), {})
        self.built = True

    def add_variable_from_reference(self, reference, name: str, initializer="zeros"):
        """A slot shaped like ``reference``: ``self.momentums`` and the like."""
        slot = Variable(np.zeros(reference.shape, reference.dtype), trainable=False,
                        name=f"{reference.path.replace('/', '_')}_{name}")
        self._slots.setdefault(id(reference), {})[name] = slot
        self._variables.append(slot)
        return slot

    def _slot(self, variable, name: str) -> np.ndarray:
        slots = self._slots.setdefault(id(variable), {})
        if name not in slots:
            self.add_variable_from_reference(variable, name)
        return slots[name].data

    @property
    def variables(self) -> list:
        return [self.iterations, self._learning_rate] + self._variables

    # ---- applying gradients ------------------------------------------------------------
    def apply_gradients(self, grads_and_vars) -> None:
        """Updates each variable from its gradient: ``[(grad, var), ...]``."""
        pairs = [(g, v) for g, v in grads_and_vars if g is not None]
        self.apply([g for g, _ in pairs], [v for _, v in pairs])

    def apply(self, grads, trainable_variables=None) -> None:
        """Updates ``trainable_variables`` (a list) from ``grads`` (a list, same order)."""
        if trainable_variables is None:
            raise ValueError("apply() needs the variables the gradients belong to.")
        if len(grads) != len(trainable_variables):
            raise ValueError(f"{len(grads)} gradients for {len(trainable_variables)} variables.")
        # As in Keras, a variable without a gradient (None) is left alone, not updated.
        pairs = [(g, v) for g, v in zip(grads, trainable_variables) if g is not None]
        if not pairs and grads:
            raise ValueError("No gradients provided for any variable.")
        if len(pairs) < len(grads):
            missing = [v.path for g, v in zip(grads, trainable_variables) if g is None]
            warnings.warn(f"Gradients do not exist for variables {missing} when minimizing "
                          "the loss.", stacklevel=2)
        trainable_variables = [v for _, v in pairs]
        grads = self._clip([np.asarray(getattr(g, "data", g)) for g, _ in pairs])
        lr = self._current_lr()
        for grad, variable in zip(grads, trainable_variables):
            if self.weight_decay:
                variable.data -= variable.data * (lr * self.weight_decay)
            self.update_step(grad, variable, lr)
        self.iterations.data += 1
        self.built = True

    def _clip(self, grads: list) -> list:
        # As in Keras, a limit of 0 (or less) means "no clipping", not "zero the gradients".
        if self.clipvalue and self.clipvalue > 0:
            return [np.clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        if self.clipnorm and self.clipnorm > 0:
            return [g * min(1.0, self.clipnorm / max(float(np.linalg.norm(g)), 1e-12))
                    for g in grads]
        if self.global_clipnorm and self.global_clipnorm > 0:
            total = float(np.sqrt(sum(float(np.sum(g * g)) for g in grads)))
            scale = min(1.0, self.global_clipnorm / max(total, 1e-12))
            return [g * scale for g in grads] if scale < 1.0 else grads
        return grads

    def update_step(self, gradient: np.ndarray, variable, learning_rate: float) -> None:
        raise NotImplementedError

    # ---- configuration --------------------------------------------------------------
    def get_config(self) -> dict:
        learning_rate = (self._schedule.get_config() if hasattr(self._schedule, "get_config")
                         else float(self._learning_rate.data))
        return {"name": self.name, "learning_rate": learning_rate,
                "weight_decay": self.weight_decay, "clipnorm": self.clipnorm,
                "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue,
                "use_ema": self.use_ema, "ema_momentum": self.ema_momentum,
                "ema_overwrite_frequency": self.ema_overwrite_frequency,
                "loss_scale_factor": self.loss_scale_factor,
                "gradient_accumulation_steps": self.gradient_accumulation_steps}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, learning_rate={self._current_lr():g}>"
