"""``keras.regularizers``: weight penalties added to the loss, per layer.

``L2(0.01)`` adds 0.01 · Σ w² for the weights it is attached to; ``L1`` adds 0.01 · Σ |w|.
"""
from __future__ import annotations

from neuropil import ops
from neuropil._naming import unknown_identifier

__all__ = ["Regularizer", "L1", "L2", "L1L2", "l1", "l2", "l1_l2", "get", "serialize",
           "deserialize"]


def _check_factor(cls_name, name, value):
    if value is None or value < 0:
        raise ValueError(f"{cls_name}: {name} must be a non-negative number. "
                         f"Received: {name}={value!r}")
    return float(value)


class Regularizer:
    """Base class: ``__call__(weight_tensor)`` returns a scalar penalty tensor."""

    def __call__(self, x):
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class L1L2(Regularizer):
    """l1 · Σ|w| + l2 · Σw² (Keras: both default to 0.0 here)."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = _check_factor(type(self).__name__, "l1", l1)
        self.l2 = _check_factor(type(self).__name__, "l2", l2)

    def __call__(self, x):
        penalty = 0.0
        if self.l1:
            penalty = ops.sum(ops.abs(x)) * self.l1
        if self.l2:
            penalty = ops.sum(ops.square(x)) * self.l2 + penalty
        return penalty

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    """l1 · Σ|w|; Keras's default factor is 0.01."""

    def __init__(self, l1=0.01):
        super().__init__(l1=l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    """l2 · Σw²; Keras's default factor is 0.01."""

    def __init__(self, l2=0.01):
        super().__init__(l2=l2)

    def get_config(self):
        return {"l2": self.l2}


l1, l2, l1_l2 = L1, L2, L1L2
_CLASSES = {"L1": L1, "L2": L2, "L1L2": L1L2, "l1": L1, "l2": L2, "l1_l2": L1L2}


def get(identifier):
    if identifier is None or isinstance(identifier, Regularizer) or callable(identifier):
        return identifier
    if isinstance(identifier, str):
        if identifier not in _CLASSES:
            raise unknown_identifier("regularizer", identifier, _CLASSES)
        return _CLASSES[identifier]()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise TypeError(f"Could not interpret regularizer identifier: {identifier!r}.")


def serialize(regularizer) -> dict:
    return {"module": "keras.regularizers", "class_name": type(regularizer).__name__,
            "config": regularizer.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None):
    name = config["class_name"]
    cls = (custom_objects or {}).get(name) or _CLASSES.get(name)
    if cls is None:
        raise unknown_identifier("regularizer", name, _CLASSES)
    return cls.from_config(config.get("config", {}))
