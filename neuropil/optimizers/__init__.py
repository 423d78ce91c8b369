"""``keras.optimizers``: SGD, RMSprop, Adam, by object or by name."""
from neuropil._naming import unknown_identifier
from neuropil.optimizers.adam import Adam
from neuropil.optimizers.optimizer import Optimizer
from neuropil.optimizers.rmsprop import RMSprop
from neuropil.optimizers.sgd import SGD

__all__ = ["Optimizer", "SGD", "RMSprop", "Adam", "get", "serialize", "deserialize"]

_CLASSES = {"SGD": SGD, "RMSprop": RMSprop, "Adam": Adam}
_BY_NAME = {name.lower(): cls for name, cls in _CLASSES.items()}


def get(identifier) -> Optimizer:
    """``"adam"`` / ``"Adam"`` / a config dict / an Optimizer -> an Optimizer."""
    if isinstance(identifier, Optimizer):
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
    name = config["class_name"]
    cls = (custom_objects or {}).get(name) or _CLASSES.get(name) or _BY_NAME.get(name.lower())
    if cls is None:
        raise unknown_identifier("optimizer", name, _CLASSES)
    return cls.from_config(config.get("config", {}))
