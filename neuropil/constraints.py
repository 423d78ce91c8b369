"""``keras.constraints``: projections applied to a weight right after each optimizer step.

A constraint maps a weight array to the nearest allowed one (clip negatives, rescale
columns to a bounded norm). It is not part of the loss and has no gradient: the optimizer
updates the weight, then replaces it with ``constraint(weight)`` (Keras 3's
``base_optimizer.apply``). Layers take them as ``kernel_constraint=``, ``bias_constraint=``
and so on, as an object, a name (``"max_norm"``, ``"NonNeg"``) or a config dict.

The norm-based constraints work on the norm over ``axis`` (default 0: for a Dense kernel
of shape (inputs, units), one norm per unit's column of incoming weights; for a Conv2D
kernel use ``axis=[0, 1, 2]``, one norm per filter). As in Keras, the rescaling divides by
``backend.epsilon() + norm``, so a norm already inside the bounds shrinks by a hair.

Example:
>>> import neuropil as keras
>>> w = np.array([[3.0, 0.0], [4.0, 1.0]], "float32")  # column norms 5 and 1
>>> np.round(keras.constraints.MaxNorm(2.0)(w), 4)
array([[1.2, 0. ],
       [1.6, 1. ]], dtype=float32)
"""
from __future__ import annotations

import numpy as np

from neuropil import backend
from neuropil._naming import to_snake_case, unknown_identifier

__all__ = ["Constraint", "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "max_norm",
           "min_max_norm", "non_neg", "unit_norm", "get", "serialize", "deserialize"]


def _array(w) -> np.ndarray:
    """The values of a Variable, Tensor or array-like (constraints never record a graph)."""
    return np.asarray(getattr(w, "data", w))


def _norms(w: np.ndarray, axis) -> np.ndarray:
    axis = tuple(axis) if isinstance(axis, (list, tuple)) else axis
    return np.sqrt(np.sum(np.square(w), axis=axis, keepdims=True))


class Constraint:
    """Base class: ``__call__(w)`` returns the projected weight (here: ``w`` unchanged).

    Subclass it and override ``__call__`` (and ``get_config`` if the constructor takes
    arguments) to write your own.

    Example:
    >>> class Clip(keras.constraints.Constraint):
    ...     def __call__(self, w):
    ...         return np.clip(np.asarray(getattr(w, "data", w)), -1.0, 1.0)
    >>> Clip()(np.array([-3.0, 0.5])).tolist()
    [-1.0, 0.5]
    """

    def __call__(self, w):
        return w

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self) -> str:
        arguments = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({arguments})"


class MaxNorm(Constraint):
    """Rescales each weight vector along ``axis`` whose L2 norm exceeds ``max_value`` down to
    ``max_value``: ``w · clip(norm, 0, max_value) / (epsilon + norm)``.

    Args:
        max_value: the largest allowed norm (default 2).
        axis: int or list of ints, the axes the norm runs over (default 0).
    """

    def __init__(self, max_value=2, axis=0):
        self.max_value, self.axis = max_value, axis

    def __call__(self, w):
        w = _array(w)
        norms = _norms(w, self.axis)
        return w * (np.clip(norms, 0, self.max_value) / (backend.epsilon() + norms))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class MinMaxNorm(Constraint):
    """Moves each weight vector's norm along ``axis`` into [min_value, max_value]:
    the target norm is ``rate · clip(norm, min_value, max_value) + (1 - rate) · norm`` and
    the vector is scaled by ``target / (epsilon + norm)``. ``rate=1`` enforces the bounds at
    once; a smaller rate moves towards them a little each step.

    Args:
        min_value, max_value: the norm's bounds (default 0.0 and 1.0).
        rate: how strictly to enforce them (default 1.0).
        axis: int or list of ints, the axes the norm runs over (default 0).
    """

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value, self.max_value, self.rate, self.axis = min_value, max_value, rate, axis

    def __call__(self, w):
        w = _array(w)
        norms = _norms(w, self.axis)
        desired = (self.rate * np.clip(norms, self.min_value, self.max_value) +
                   (1 - self.rate) * norms)
        return w * (desired / (backend.epsilon() + norms))

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate,
                "axis": self.axis}


class NonNeg(Constraint):
    """Sets negative weights to zero: ``max(w, 0)``."""

    def __call__(self, w):
        w = _array(w)
        return np.maximum(w, np.zeros((), w.dtype))


class UnitNorm(Constraint):
    """Scales each weight vector along ``axis`` to norm 1: ``w / (epsilon + norm)``.

    Args:
        axis: int or list of ints, the axes the norm runs over (default 0).
    """

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        w = _array(w)
        return w / (backend.epsilon() + _norms(w, self.axis))

    def get_config(self):
        return {"axis": self.axis}


max_norm, min_max_norm, non_neg, unit_norm = MaxNorm, MinMaxNorm, NonNeg, UnitNorm

# Keras accepts each class's name and its snake_case form ("MaxNorm", "max_norm").
_CLASSES = {name: cls for c in (Constraint, MaxNorm, MinMaxNorm, NonNeg, UnitNorm)
            for name, cls in ((c.__name__, c), (to_snake_case(c.__name__), c))}


def get(identifier):
    """A constraint from a name (``"max_norm"`` or ``"MaxNorm"``), a config dict, a class,
    an instance or any callable; ``None`` gives ``None`` (as in Keras).

    Raises:
        ValueError: an unknown name (the message lists the valid ones) or an identifier
            that is none of the above.
    """
    if identifier is None:
        return None
    if isinstance(identifier, str):
        if identifier not in _CLASSES:
            raise unknown_identifier("constraint", identifier, _CLASSES)
        return _CLASSES[identifier]()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, type):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret constraint identifier: {identifier!r}. Pass a "
                     "keras.constraints.Constraint, a name such as 'max_norm', a config dict, "
                     "a callable taking and returning the weight, or None.")


def serialize(constraint):
    """Keras 3's config dict for ``constraint`` (``None`` stays ``None``).

    neuropil's own classes are written under ``keras.constraints``; a user's class or
    function under its module and name, to be loaded through ``custom_objects`` or the
    saving registry. A lambda (or other nameless callable) is returned unchanged: it
    cannot be written to a file.
    """
    if constraint is None:
        return None
    if not hasattr(constraint, "get_config"):
        if getattr(constraint, "__name__", "<lambda>") == "<lambda>":
            # NOTE: returned as is, so get_config / from_config still copy a layer in memory;
            # saving it to a file then fails with the saving registry's lambda message.
            return constraint
        return {"module": constraint.__module__, "class_name": "function",
                "config": constraint.__name__, "registered_name": constraint.__name__}
    cls = type(constraint)
    ours = _CLASSES.get(cls.__name__) is cls
    return {"module": "keras.constraints" if ours else cls.__module__,
            "class_name": cls.__name__, "config": constraint.get_config(),
            "registered_name": None}


def deserialize(config, custom_objects=None):
    """The constraint a config dict describes (or a name: see ``get``)."""
    if isinstance(config, str):
        found = (custom_objects or {}).get(config)
        return found() if isinstance(found, type) else found or get(config)
    name = config.get("class_name")
    found = (custom_objects or {}).get(name)
    if name == "function":
        function = (custom_objects or {}).get(config.get("config"))
        if function is None:
            raise ValueError(f"Unknown constraint function {config.get('config')!r}: pass "
                             "it in custom_objects={...} (neuropil never imports a module "
                             "named in a config).")
        return function
    cls = found or _CLASSES.get(name)
    if cls is None:
        raise unknown_identifier("constraint", name, _CLASSES)
    return cls.from_config(config.get("config") or {})
