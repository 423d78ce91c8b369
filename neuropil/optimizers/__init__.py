"""``keras.optimizers``: the optimizers, by object or by name, and ``schedules``."""
from neuropil._naming import unknown_identifier
from neuropil.optimizers import schedules
from neuropil.optimizers.adadelta import Adadelta
from neuropil.optimizers.adagrad import Adagrad
from neuropil.optimizers.adam import Adam
from neuropil.optimizers.adamax import Adamax
from neuropil.optimizers.adamw import AdamW
from neuropil.optimizers.ftrl import Ftrl
from neuropil.optimizers.lamb import Lamb
from neuropil.optimizers.lion import Lion
from neuropil.optimizers.nadam import Nadam
from neuropil.optimizers.optimizer import Optimizer
from neuropil.optimizers.rmsprop import RMSprop
from neuropil.optimizers.sgd import SGD

__all__ = ["Optimizer", "SGD", "RMSprop", "Adam", "AdamW", "Adagrad", "Adadelta", "Adamax",
           "Nadam", "Lion", "Ftrl", "Lamb", "schedules", "get", "serialize", "deserialize"]

_CLASSES = {cls.__name__: cls for cls in (SGD, RMSprop, Adam, AdamW, Adagrad, Adadelta,
                                          Adamax, Nadam, Lion, Ftrl, Lamb)}
_BY_NAME = {name.lower(): cls for name, cls in _CLASSES.items()}


def get(identifier) -> Optimizer | None:
    """``"adam"`` / ``"Adam"`` / a config dict / an Optimizer -> an Optimizer; None -> None."""
    if identifier is None or isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower())
        if cls is None:
            raise unknown_identifier("optimizer", identifier, _BY_NAME)
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise TypeError(f"Could not interpret optimizer identifier: {identifier!r}. Pass a name "
                    "such as 'adam' or an optimizer object.")


def serialize(optimizer) -> dict:
    return {"module": "keras.optimizers", "class_name": type(optimizer).__name__,
            "config": optimizer.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None) -> Optimizer:
    """The inverse of ``serialize``; class names match case-insensitively, as in Keras."""
    name = config["class_name"]
    cls = (custom_objects or {}).get(name) or _CLASSES.get(name) or _BY_NAME.get(name.lower())
    if cls is None:
        raise unknown_identifier("optimizer", name, _CLASSES)
    inner = dict(config.get("config", {}))
    if isinstance(inner.get("learning_rate"), dict):  # a serialized schedule
        inner["learning_rate"] = schedules.deserialize(inner["learning_rate"], custom_objects)
    return cls.from_config(inner)
