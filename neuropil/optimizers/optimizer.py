"""The Optimizer base class: turns gradients into weight updates.

What every optimizer shares lives here (learning rate or schedule, step counter, gradient
clipping, loss-scale unscaling, decoupled weight decay, per-weight slots, constraints); a
named optimizer only writes its own ``update_step``. Updates run in place on the weights'
arrays, outside the autodiff graph. One ``apply`` follows Keras 3's ``base_optimizer.py``:
drop variables without a gradient, clip, shrink weights by ``lr · weight_decay``, run
``update_steps``, apply constraints, count the step.

With numba (``neuropil.ops.accel``'s switch), Adam, SGD, RMSprop (not centered) and weight decay
run as one compiled pass per weight (``kernels.py``), 3-5x faster than NumPy's chain of
temporaries and bit for bit the same; their NumPy lines stay as the reference and fallback.
"""
from __future__ import annotations

import re
import warnings

import numpy as np

from neuropil import initializers
from neuropil._naming import to_snake_case, unique_name
from neuropil.autodiff import Tensor, Variable, no_grad
from neuropil.ops import accel
from neuropil.optimizers import schedules

__all__ = ["Optimizer", "compiled_kernels"]

_COMPILED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_loaded = {"kernels": None}  # the module, once imported (an import statement costs ~0.4 us)


def compiled_kernels():
    """``neuropil.optimizers.kernels`` (one-pass numba loops for Adam, SGD with momentum and
    RMSprop) when ``neuropil.ops.accel`` says numba is wanted and loads, else None."""
    if accel.kernels() is None:
        return None
    if _loaded["kernels"] is None:
        from neuropil.optimizers import kernels  # NOTE: imports numba, hence not at the top
        _loaded["kernels"] = kernels
    return _loaded["kernels"]


class Optimizer:
    """Base class of the optimizers.

    Args:
        learning_rate: a float, a ``keras.optimizers.schedules.LearningRateSchedule``
            (evaluated at ``iterations`` each step) or a callable of no arguments.
        weight_decay: if set, each step first shrinks weights by ``lr · weight_decay · w``
            (decoupled from the gradient, as in AdamW).
        clipnorm: clip each gradient to this L2 norm.
        clipvalue: clip each gradient's entries to [-clipvalue, clipvalue].
        global_clipnorm: clip all gradients together to this global L2 norm.
        loss_scale_factor: gradients are divided by it before anything else.
        use_ema, ema_momentum, ema_overwrite_frequency, gradient_accumulation_steps:
            accepted and kept in the config for Keras compatibility; not implemented.
        name: the optimizer's name (default: the snake-cased class name, made unique).
    """

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        if kwargs.pop("decay", None) is not None:
            warnings.warn("Argument `decay` is no longer supported and will be ignored.",
                          stacklevel=2)
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
        # The learning rate is either this variable, or a schedule / callable that writes
        # its current value into the variable whenever ``learning_rate`` is read.
        self._schedule = None
        self._learning_rate = Variable(np.zeros((), np.float32), dtype="float32",
                                       trainable=False, name="learning_rate")
        self.learning_rate = learning_rate
        self._slots: dict = {}       # id(weight) -> {slot name: Variable}
        self._variables: list = []   # slot variables, in creation order (for saving)
        self._trainable_variables: list = []
        self._exclude_ids: set = set()
        self._exclude_pattern = None
        self._typed_scalars: dict = {}  # (dtype, Python floats) -> those floats as dtype
        self.built = False

    # ---- learning rate ---------------------------------------------------------------
    @property
    def learning_rate(self):
        """The current learning rate, a scalar variable (``float()`` it to read). With a
        schedule, the schedule's value at ``iterations``."""
        if isinstance(self._schedule, schedules.LearningRateSchedule):
            self._learning_rate.data[...] = self._schedule(int(self.iterations.data))
        elif self._schedule is not None:
            self._learning_rate.data[...] = self._schedule()
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        if isinstance(value, schedules.LearningRateSchedule) or (
                callable(value) and not isinstance(value, (Tensor, np.ndarray))):
            self._schedule = value
            return
        if isinstance(self._schedule, schedules.LearningRateSchedule):
            raise TypeError(f"{self.name}: the learning rate comes from the schedule "
                            f"{self._schedule!r}, so it is not settable (received "
                            f"{value!r}). Assign another schedule, or create the optimizer "
                            "with a float `learning_rate` to set it by hand.")
        received = value
        try:
            value = float(np.asarray(getattr(value, "data", value)))
        except (TypeError, ValueError):
            raise TypeError(f"{type(self).__name__}: learning_rate must be a float, a "
                            "LearningRateSchedule or a callable. Received: "
                            f"learning_rate={received!r}") from None
        if not value >= 0 or value == float("inf"):
            raise ValueError(f"{type(self).__name__}: learning_rate must be >= 0 and "
                             f"finite. Received: learning_rate={value}")
        self._schedule = None
        self._learning_rate.data[...] = value

    lr = learning_rate

    def _current_lr(self) -> float:
        return float(self.learning_rate.data)

    # ---- slots -----------------------------------------------------------------------
    def build(self, variables) -> None:
        """Remembers the weights this optimizer updates (``apply(grads)`` then needs no
        variables). Slots (momentum, moments, ...) are created on first use."""
        self._trainable_variables = list(variables)
        for variable in self._trainable_variables:
            self._slots.setdefault(id(variable), {})
        self.built = True

    def add_variable_from_reference(self, reference, name: str, initializer="zeros"):
        """A slot shaped like ``reference``, named ``<weight path>_<name>``. ``initializer``:
        a number (constant fill), an initializer name or an initializer object."""
        if isinstance(initializer, (int, float)):
            value = np.full(reference.shape, initializer, reference.dtype)
        else:
            value = initializers.get(initializer)(reference.shape, dtype=reference.dtype)
        slot = Variable(value, dtype=reference.dtype, trainable=False,
                        name=f"{reference.path.replace('/', '_')}_{name}")
        self._slots.setdefault(id(reference), {})[name] = slot
        self._variables.append(slot)
        return slot

    def _slot(self, variable, name: str, initializer="zeros") -> np.ndarray:
        """The array of ``variable``'s slot ``name``, created on first use."""
        slots = self._slots.setdefault(id(variable), {})
        if name not in slots:
            self.add_variable_from_reference(variable, name, initializer)
        return slots[name].data

    @property
    def variables(self) -> list:
        """The optimizer's state: step counter, learning rate (unless a schedule drives it,
        as in Keras) and slots."""
        own_lr = [] if self._schedule is not None else [self._learning_rate]
        return [self.iterations, *own_lr, *self._variables]

    # ---- weight decay -----------------------------------------------------------------
    def exclude_from_weight_decay(self, var_list=None, var_names=None) -> None:
        """Exempts these variables, or those whose name contains any of ``var_names``
        (e.g. ``["bias"]``), from weight decay."""
        self._exclude_ids = {id(v) for v in var_list or ()}
        self._exclude_pattern = (re.compile("|".join(map(re.escape, set(var_names))))
                                 if var_names else None)

    def _use_weight_decay(self, variable) -> bool:
        if id(variable) in self._exclude_ids:
            return False
        return not (self._exclude_pattern and self._exclude_pattern.search(variable.name))

    def _apply_weight_decay(self, variables, learning_rate: float) -> None:
        if self.weight_decay is None:
            return
        factor = self.weight_decay * learning_rate
        for variable in variables:
            if self._use_weight_decay(variable):
                w = variable.data
                compiled = self._compiled(w, w)
                if compiled is not None:  # one pass, the same numbers as the line below
                    compiled.decay(w, *self._scalars_as(w.dtype, (factor,)))
                else:
                    w -= w * factor

    # ---- applying gradients ------------------------------------------------------------
    def apply_gradients(self, grads_and_vars):
        """Updates each variable from its gradient: ``[(grad, var), ...]``."""
        pairs = list(grads_and_vars)
        self.apply([g for g, _ in pairs], [v for _, v in pairs])
        return self.iterations

    def apply(self, grads, trainable_variables=None) -> None:
        """Updates ``trainable_variables`` (a list) from ``grads`` (a list, same order).

        Without ``trainable_variables``, the variables given to ``build()`` are used.
        """
        grads = list(grads)
        if not grads:
            return  # as in Keras: nothing to do, and the step is not counted
        if trainable_variables is None:
            if not self.built:
                raise ValueError("When passing `grads` without `variables`, the optimizer "
                                 "must already be built on a list of variables. Call "
                                 "`optimizer.build(trainable_variables)` first.")
            trainable_variables = self._trainable_variables
        elif not self.built:
            self.build(trainable_variables)
        trainable_variables = list(trainable_variables)
        if len(grads) != len(trainable_variables):
            raise ValueError(f"{type(self).__name__}.apply: {len(grads)} gradients for "
                             f"{len(trainable_variables)} variables.")
        # As in Keras, a variable without a gradient (None) is left alone, not updated.
        pairs = [(g, v) for g, v in zip(grads, trainable_variables) if g is not None]
        if not pairs:
            raise ValueError("No gradients provided for any variable.")
        if len(pairs) < len(grads):
            missing = [v.path for g, v in zip(grads, trainable_variables) if g is None]
            warnings.warn(f"Gradients do not exist for variables {missing} when minimizing "
                          "the loss. If using `model.compile()`, did you forget to provide a "
                          "`loss` argument?", stacklevel=2)
        variables = [v for _, v in pairs]
        # NOTE: an ndarray as is: its own `.data` is a memoryview, 0.3 us a gradient to rewrap
        grads = [g if type(g) is np.ndarray else np.asarray(getattr(g, "data", g))
                 for g, _ in pairs]
        if self.loss_scale_factor is not None:
            grads = [g / self.loss_scale_factor for g in grads]
        grads = self._clip(grads)
        lr = self._current_lr()
        self._apply_weight_decay(variables, lr)
        self.update_steps(grads, variables, lr)
        self._apply_constraints(variables)
        self.iterations.data[()] = int(self.iterations.data) + 1  # NOTE: `+= 1`: 1 us, this 0.1

    @staticmethod
    def _apply_constraints(variables) -> None:
        """As Keras, right after the update: each updated variable with a ``constraint``
        (``Dense(kernel_constraint=...)`` puts one there) is replaced by its projection."""
        constrained = [v for v in variables if getattr(v, "constraint", None) is not None]
        if not constrained:
            return
        with no_grad():  # NOTE: a constraint written with keras.ops must not record a graph
            for variable in constrained:
                value = variable.constraint(variable)
                variable.assign(np.asarray(getattr(value, "data", value)))

    def _clip(self, grads: list) -> list:
        # As in Keras, a limit of 0 (or less) means "no clipping", not "zero the gradients".
        if self.clipnorm and self.clipnorm > 0:
            return [g * min(1.0, self.clipnorm / max(float(np.linalg.norm(g)), 1e-12))
                    for g in grads]
        if self.global_clipnorm and self.global_clipnorm > 0:
            total = float(np.sqrt(sum(float(np.sum(g * g)) for g in grads)))
            scale = min(1.0, self.global_clipnorm / max(total, 1e-12))
            return [g * scale for g in grads] if scale < 1.0 else grads
        if self.clipvalue and self.clipvalue > 0:
            return [np.clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        return grads

    def update_steps(self, grads: list, variables: list, learning_rate: float) -> None:
        """One step over all variables. An optimizer with state shared by all variables
        (Nadam's momentum-cache product) advances it here, once per step."""
        for grad, variable in zip(grads, variables):
            self.update_step(grad, variable, learning_rate)

    @staticmethod
    def _compiled(gradient: np.ndarray, weight: np.ndarray):
        """The compiled loops (``kernels``) if they can update ``weight`` from ``gradient``
        (arrays of float32 or float64, the same dtype, both C-contiguous), else None: NumPy
        runs. NOTE: clipping turns a 0-d gradient into a NumPy scalar, not an array."""
        if (isinstance(gradient, np.ndarray) and weight.dtype in _COMPILED_DTYPES
                and gradient.dtype == weight.dtype and weight.flags.c_contiguous
                and gradient.flags.c_contiguous):
            return compiled_kernels()
        return None

    def _scalars_as(self, dtype: np.dtype, values: tuple) -> tuple:
        """``values`` (Python floats) as scalars of ``dtype``, the cast NumPy makes when a
        Python float meets an array of that dtype; numba, handed a Python float, would
        compute in float64 instead. Remembered, as a step's values repeat per weight."""
        key = (dtype, values)
        typed = self._typed_scalars.get(key)
        if typed is None:
            if len(self._typed_scalars) > 16:  # values of past steps
                self._typed_scalars.clear()
            typed = self._typed_scalars[key] = tuple(map(dtype.type, values))
        return typed

    def update_step(self, gradient: np.ndarray, variable, learning_rate: float) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement "
                                  "update_step(gradient, variable, learning_rate).")

    # ---- configuration --------------------------------------------------------------
    def get_config(self) -> dict:
        if isinstance(self._schedule, schedules.LearningRateSchedule):
            learning_rate = schedules.serialize(self._schedule)
        elif self._schedule is not None:
            raise ValueError(f"{type(self).__name__}.get_config: a plain function as "
                             f"learning_rate ({self._schedule!r}) cannot be serialized. Use a "
                             "keras.optimizers.schedules.LearningRateSchedule subclass with "
                             "get_config() instead.")
        else:
            learning_rate = float(self._learning_rate.data)
        return {"name": self.name, "learning_rate": learning_rate,
                "weight_decay": self.weight_decay, "clipnorm": self.clipnorm,
                "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue,
                "use_ema": self.use_ema, "ema_momentum": self.ema_momentum,
                "ema_overwrite_frequency": self.ema_overwrite_frequency,
                "loss_scale_factor": self.loss_scale_factor,
                "gradient_accumulation_steps": self.gradient_accumulation_steps}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"],
                                                            custom_objects=custom_objects)
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, learning_rate={self._current_lr():g}>"
