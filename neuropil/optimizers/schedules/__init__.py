"""``keras.optimizers.schedules``: the learning rate as a function of the step count."""
from neuropil._naming import unknown_identifier
from neuropil.optimizers.schedules.learning_rate_schedule import (
    CosineDecay, CosineDecayRestarts, ExponentialDecay, InverseTimeDecay, LearningRateSchedule,
    PiecewiseConstantDecay, PolynomialDecay)

__all__ = ["LearningRateSchedule", "ExponentialDecay", "PiecewiseConstantDecay",
           "PolynomialDecay", "InverseTimeDecay", "CosineDecay", "CosineDecayRestarts",
           "serialize", "deserialize"]

_CLASSES = {cls.__name__: cls for cls in (ExponentialDecay, PiecewiseConstantDecay,
                                          PolynomialDecay, InverseTimeDecay, CosineDecay,
                                          CosineDecayRestarts)}


def serialize(learning_rate_schedule) -> dict:
    """A schedule -> ``{"module", "class_name", "config", "registered_name"}`` (Keras's form)."""
    cls = type(learning_rate_schedule)
    known = _CLASSES.get(cls.__name__) is cls
    return {"module": "keras.optimizers.schedules" if known else cls.__module__,
            "class_name": cls.__name__, "config": learning_rate_schedule.get_config(),
            "registered_name": None if known else cls.__name__}


def deserialize(config, custom_objects=None) -> LearningRateSchedule:
    """The inverse of ``serialize``. Only known classes (or ``custom_objects``) are built:
    nothing named in the config is imported or executed."""
    name = config["class_name"]
    custom_objects = custom_objects or {}
    cls = custom_objects.get(config.get("registered_name")) or custom_objects.get(name) \
        or _CLASSES.get(name)
    if cls is None:
        raise unknown_identifier("learning rate schedule", name, _CLASSES)
    return cls.from_config(dict(config.get("config", {})))
