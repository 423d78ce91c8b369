"""Class names <-> classes: what a saved config may name, and nothing else.

A ``config.json`` names classes as Keras 3 does: ``{"module": "keras.layers", "class_name":
"Dense", "config": {...}, "registered_name": None}``. Loading looks the name up in tables
of neuropil's own public classes (per namespace: layers, models, initializers, ...), in the
classes the user registered with ``@register_keras_serializable`` and in ``custom_objects``.
A name found nowhere is an error: no module named in a file is ever imported, no string is
evaluated, nothing is unpickled.

Follows Keras 3's ``saving/object_registration.py`` and ``saving/serialization_lib.py``.
"""
from __future__ import annotations

import inspect
import types

import numpy as np

from neuropil import (activations, constraints, initializers, layers, losses, metrics,
                      optimizers, regularizers)
from neuropil.layers.node import KerasTensor
from neuropil.models import Functional, Model, Sequential
from neuropil.optimizers import schedules

__all__ = ["register_keras_serializable", "get_registered_name", "get_registered_object",
           "get_custom_objects", "CustomObjectScope", "custom_object_scope",
           "serialize_keras_object", "deserialize_keras_object", "get_compile_config",
           "compile_from_config", "strip_keras_only_keys"]

_GLOBAL_CUSTOM_OBJECTS: dict = {}   # "package>name" -> class or function
_GLOBAL_CUSTOM_NAMES: dict = {}     # class or function -> "package>name"
_SCOPES: list = []                  # custom_objects dicts active during a deserialization

# Keras writes Functional under its source module; Keras reads it back from there.
_FUNCTIONAL_MODULE = "keras.src.models.functional"

# Keras 3 config keys for features neuropil does not have. Dropped when they hold Keras's
# default (so files from newer Keras load); any other value is refused by name.
_KERAS_ONLY_DEFAULTS = {"quantization_config": None, "ragged": False, "input_axes": None,
                        "output_axes": None, "lora_alpha": None}


# ---- registration (keras.saving.register_keras_serializable & co.) -------------------------
def register_keras_serializable(package: str = "Custom", name: str | None = None):
    """Registers a class or function under ``"package>name"`` so saved models can name it.

    Args:
        package: the first part of the key (default ``"Custom"``).
        name: the second part (default: the class or function's ``__name__``).

    Example:
    >>> @register_keras_serializable(package="demo")
    ... class Twice(keras.layers.Layer):
    ...     def call(self, x):
    ...         return x * 2
    >>> get_registered_name(Twice)
    'demo>Twice'
    """
    def decorator(arg):
        key = f"{package}>{name if name is not None else arg.__name__}"
        if inspect.isclass(arg) and not hasattr(arg, "get_config"):
            raise ValueError("Cannot register a class that does not have a get_config() "
                             f"method. Received: {arg.__name__}")
        _GLOBAL_CUSTOM_OBJECTS[key] = arg
        _GLOBAL_CUSTOM_NAMES[arg] = key
        return arg
    return decorator


def get_registered_name(obj) -> str:
    """The key ``obj`` was registered under, or its plain ``__name__``."""
    return _GLOBAL_CUSTOM_NAMES.get(obj, getattr(obj, "__name__", None))


def get_registered_object(name, custom_objects=None, module_objects=None):
    """The class or function registered (or passed in ``custom_objects``) as ``name``."""
    for table in (*reversed(_SCOPES), _GLOBAL_CUSTOM_OBJECTS, custom_objects or {},
                  module_objects or {}):
        if name in table:
            return table[name]
    return None


def get_custom_objects() -> dict:
    """The live dictionary of registered objects (``{"package>name": object}``)."""
    return _GLOBAL_CUSTOM_OBJECTS


class CustomObjectScope:
    """``with custom_object_scope({"MyLayer": MyLayer}):`` makes the names loadable inside."""

    def __init__(self, custom_objects):
        self.custom_objects = dict(custom_objects or {})

    def __enter__(self):
        _SCOPES.append(self.custom_objects)
        return self

    def __exit__(self, *exc):
        _SCOPES.remove(self.custom_objects)


custom_object_scope = CustomObjectScope


# ---- the tables of known classes ------------------------------------------------------------
def _public_classes(module, base) -> dict:
    found = {}
    for name in module.__all__:
        obj = getattr(module, name, None)
        if isinstance(obj, type) and issubclass(obj, base):
            found.setdefault(obj.__name__, obj)
    return found


def _public_functions(module) -> dict:
    skip = {"get", "serialize", "deserialize"}
    return {name: getattr(module, name) for name in module.__all__
            if name not in skip and inspect.isfunction(getattr(module, name, None))}


_TABLES: dict = {}


def _tables() -> dict:
    """namespace -> {class name: class}, built on first use."""
    if not _TABLES:
        _TABLES.update(
            models={"Sequential": Sequential, "Functional": Functional, "Model": Model},
            layers=_public_classes(layers, layers.Layer),
            initializers=_public_classes(initializers, initializers.Initializer),
            regularizers=_public_classes(regularizers, regularizers.Regularizer),
            constraints=_public_classes(constraints, constraints.Constraint),
            losses=_public_classes(losses, losses.Loss),
            metrics=_public_classes(metrics, metrics.Metric),
            optimizers=_public_classes(optimizers, optimizers.Optimizer),
            schedules=_public_classes(schedules, schedules.LearningRateSchedule))
    return _TABLES


_FUNCTION_MODULES = {"activations": activations, "losses": losses, "metrics": metrics}


def _namespaces(module) -> tuple:
    """Which tables a Keras module path may name: 'keras.layers', 'keras.src.layers.core'."""
    if module is None:
        return ("layers", "models")
    parts = str(module).split(".")
    if parts[0] != "keras":
        return ()
    rest = parts[2:] if parts[1:2] == ["src"] else parts[1:]
    if not rest:
        return ("models", "layers")
    if rest[:2] == ["optimizers", "schedules"]:
        return ("schedules",)
    return (rest[0],) if rest[0] in _tables() or rest[0] in _FUNCTION_MODULES else ()


def _builtin_module(obj) -> str | None:
    """The Keras module a neuropil class is exported from, or None if it is not ours."""
    cls = type(obj)
    if cls is Functional:
        return _FUNCTIONAL_MODULE
    if cls in (Sequential, Model):
        return "keras"
    for namespace, table in _tables().items():
        if namespace != "models" and table.get(cls.__name__) is cls:
            return "keras.optimizers.schedules" if namespace == "schedules" \
                else f"keras.{namespace}"
    return None


# ---- serializing -----------------------------------------------------------------------------
def serialize_keras_object(obj):
    """Any object a config may hold -> JSON-ready data in Keras 3's format."""
    if obj is None or isinstance(obj, (str, bool, int, float)):
        return obj
    if isinstance(obj, (list, tuple)):
        return [serialize_keras_object(x) for x in obj]
    if isinstance(obj, dict):
        return _with_registered_name({key: serialize_keras_object(value)
                                      for key, value in obj.items()})
    if isinstance(obj, np.ndarray) and obj.ndim > 0:
        return {"class_name": "__numpy__",
                "config": {"value": obj.tolist(), "dtype": str(obj.dtype)}}
    if isinstance(obj, (np.generic, np.ndarray)):
        return obj.item()
    if isinstance(obj, KerasTensor):
        history = obj._keras_history
        return {"class_name": "__keras_tensor__",
                "config": {"shape": list(obj.shape), "dtype": obj.dtype,
                           "keras_history": None if history is None else
                           [history[0].name, history[1], history[2]]}}
    if isinstance(obj, types.FunctionType):
        return _serialize_function(obj)
    if not hasattr(obj, "get_config"):
        raise TypeError(f"Cannot serialize {obj!r} of type {type(obj).__name__}: to be "
                        "saved, an object needs a get_config() method (and, unless it is "
                        "neuropil's own, @keras.saving.register_keras_serializable()).")
    module = _builtin_module(obj)
    if module is not None:
        registered = "Functional" if type(obj) is Functional else None
    else:  # a user's class: loading will need it registered or in custom_objects (as Keras)
        module, registered = type(obj).__module__, get_registered_name(type(obj))
    try:
        inner = serialize_keras_object(obj.get_config())
    except TypeError as error:  # say which layer (a Lambda holding a Python lambda ...)
        raise TypeError(f'{type(obj).__name__} "{getattr(obj, "name", "")}": '
                        f"{error}") from error
    config = {"module": module, "class_name": type(obj).__name__, "config": inner,
              "registered_name": registered}
    build_config = obj.get_build_config() if hasattr(obj, "get_build_config") and \
        getattr(obj, "built", False) else None
    if build_config is not None:
        config["build_config"] = serialize_keras_object(build_config)
    if getattr(obj, "compiled", False) and isinstance(obj, Model):
        config["compile_config"] = get_compile_config(obj)
    return config


def _with_registered_name(config: dict) -> dict:
    """A user's object inside a config, written by a namespace's own ``serialize`` (as
    ``constraints.serialize`` does: level 3 cannot see this registry), gets the name it was
    registered under, as Keras writes it, so loading finds it without ``custom_objects``."""
    module = config.get("module")
    if "class_name" not in config or not isinstance(module, str) or \
            module.split(".")[0] == "keras":
        return config
    is_function = config["class_name"] == "function"
    name = config.get("config") if is_function else config["class_name"]
    if config.get("registered_name") not in (None, name):
        return config
    for key, obj in _GLOBAL_CUSTOM_OBJECTS.items():
        if getattr(obj, "__name__", None) == name and getattr(obj, "__module__", None) == module \
                and inspect.isclass(obj) != is_function:
            return {**config, "registered_name": key}
    return config


def _serialize_function(fn) -> dict:
    registered = _GLOBAL_CUSTOM_NAMES.get(fn)
    if registered is not None:
        return {"module": fn.__module__, "class_name": "function", "config": registered,
                "registered_name": registered}
    for namespace, module in _FUNCTION_MODULES.items():
        if _public_functions(module).get(fn.__name__) is fn:
            return {"module": f"keras.{namespace}", "class_name": "function",
                    "config": fn.__name__, "registered_name": fn.__name__}
    if fn.__name__ == "<lambda>":
        raise TypeError("Cannot serialize a lambda: neuropil never saves (or loads) code. "
                        "Use a named function decorated with "
                        "@keras.saving.register_keras_serializable().")
    # A user's function, saved by name: loading needs it registered or in custom_objects.
    return {"module": fn.__module__, "class_name": "function", "config": fn.__name__,
            "registered_name": fn.__name__}


def get_compile_config(model) -> dict:
    """What ``compile`` was given, serialized as Keras 3's ``compile_config``."""
    compiled_metrics = getattr(model, "_compiled_metrics", None)

    def identifiers(values):
        # A list, a list of lists or a dict (per output) of names and metric objects.
        return serialize_keras_object(values) if values else None

    loss = model.loss
    return {"optimizer": serialize_keras_object(model.optimizer),
            "loss": loss if isinstance(loss, str) else serialize_keras_object(loss),
            "loss_weights": serialize_keras_object(getattr(model, "loss_weights", None)),
            "metrics": identifiers(compiled_metrics.identifiers if compiled_metrics else []),
            "weighted_metrics": identifiers(compiled_metrics.weighted_identifiers
                                            if compiled_metrics else []),
            "run_eagerly": False, "steps_per_execution": 1, "jit_compile": "auto"}


def compile_from_config(model, config: dict) -> None:
    """``model.compile(...)`` from a ``compile_config`` (optimizer, loss, metrics)."""
    config = deserialize_keras_object(config)
    model.compile(**{key: value for key, value in config.items()
                     if key in ("optimizer", "loss", "loss_weights", "metrics",
                                "weighted_metrics")})


# ---- deserializing ---------------------------------------------------------------------------
def deserialize_keras_object(config, custom_objects=None, safe_mode=True, **kwargs):
    """The object a config describes, built from known classes only.

    Args:
        config: a dict as written by ``serialize_keras_object`` (or plain data).
        custom_objects: ``{name: class or function}`` the config may name besides
            neuropil's own and the registered ones.
        safe_mode: accepted for Keras compatibility. neuropil never loads code from a
            config (a ``__lambda__`` is refused either way).

    Raises:
        ValueError: the config names a class or function that is not known.
    """
    if custom_objects:
        with CustomObjectScope(custom_objects):
            return deserialize_keras_object(config, safe_mode=safe_mode)
    if isinstance(config, str) and get_registered_object(config) is not None:
        return get_registered_object(config)
    if config is None or isinstance(config, (str, bool, int, float)):
        return config
    if isinstance(config, (list, tuple)):
        return [deserialize_keras_object(x, safe_mode=safe_mode) for x in config]
    if not isinstance(config, dict):
        raise TypeError(f"Could not parse config: {config!r}")
    if "class_name" not in config or "config" not in config:
        return {key: deserialize_keras_object(value, safe_mode=safe_mode)
                for key, value in config.items()}
    special = _special(config)
    if special is not _NOT_SPECIAL:
        return special
    class_name, inner = config["class_name"], config["config"]
    if class_name == "function":
        return _resolve_function(config)
    if inner is None:
        inner = {}
    if not isinstance(inner, dict):
        raise TypeError(f"Expected 'config' to be a dict for {class_name}, got "
                        f"{type(inner).__name__}. Full object config: {config}")
    cls = _resolve_class(config)
    inner = {key: _resolve_custom_child(key, value) for key, value in inner.items()}
    try:
        if "custom_objects" in inspect.signature(cls.from_config).parameters:
            instance = cls.from_config(inner, custom_objects=_merged_scope())
        else:
            instance = cls.from_config(inner)
    except TypeError as error:
        raise TypeError(f"{class_name} could not be rebuilt from its config: {error}. "
                        f"Config: {inner}") from error
    build_config = config.get("build_config")
    if build_config and not getattr(instance, "built", True) and \
            hasattr(instance, "build_from_config"):
        instance.build_from_config(build_config)
    if config.get("compile_config") and isinstance(instance, Model):
        compile_from_config(instance, config["compile_config"])
    return instance


_NOT_SPECIAL = object()


def _special(config: dict):
    """Keras's tagged plain values (arrays, slices, ...); lambdas are refused."""
    name, inner = config["class_name"], config["config"]
    if name == "__lambda__":
        raise ValueError("The config holds a Python lambda (serialized bytecode). neuropil "
                         "never loads code from a saved file, whatever `safe_mode` says. "
                         "Replace the lambda with a function registered with "
                         "@keras.saving.register_keras_serializable().")
    if name in ("__numpy__", "__tensor__"):
        dtype = np.dtype(inner["dtype"])
        if dtype.kind not in "biuf":
            raise ValueError(f"Refusing a {name} value of dtype {dtype}: only numbers load.")
        return np.array(inner["value"], dtype=dtype)
    if name == "__bytes__":
        return inner["value"].encode("utf-8")
    if name == "__ellipsis__":
        return Ellipsis
    if name == "__slice__":
        return slice(*(deserialize_keras_object(inner[k]) for k in ("start", "stop", "step")))
    if name == "__keras_tensor__":
        raise ValueError("A __keras_tensor__ only appears inside a functional model's "
                         "'inbound_nodes'; it cannot be rebuilt on its own.")
    return _NOT_SPECIAL


def _merged_scope() -> dict:
    merged = {}
    for scope in _SCOPES:
        merged.update(scope)
    return merged


def _resolve_class(config: dict):
    class_name, module = config["class_name"], config.get("module")
    registered = config.get("registered_name") or class_name
    found = get_registered_object(registered)
    if found is None and registered != class_name:
        found = get_registered_object(class_name)
    if found is not None:
        return found
    for namespace in _namespaces(module):
        cls = _tables().get(namespace, {}).get(class_name)
        if cls is not None:
            return cls
    raise ValueError(f"Unknown class {class_name!r} (module {module!r}, registered name "
                     f"{config.get('registered_name')!r}). neuropil rebuilds only its own "
                     "classes, classes decorated with "
                     "@keras.saving.register_keras_serializable(), and classes passed in "
                     "custom_objects={...}; it never imports a module named in a file.")


def _resolve_function(config: dict):
    name, module = config["config"], config.get("module")
    if not isinstance(name, str):
        raise TypeError(f"Expected a function name as 'config', got {name!r}.")
    found = get_registered_object(config.get("registered_name") or name) or \
        get_registered_object(name)
    if found is not None:
        return found
    namespaces = _namespaces(module) if module != "builtins" else tuple(_FUNCTION_MODULES)
    for namespace in namespaces:
        if namespace in _FUNCTION_MODULES:
            function = _public_functions(_FUNCTION_MODULES[namespace]).get(name)
            if function is not None:
                return function
    raise ValueError(f"Unknown function {name!r} (module {module!r}). neuropil loads only its "
                     "own activations, losses and metrics, and functions decorated with "
                     "@keras.saving.register_keras_serializable() or passed in "
                     "custom_objects={...}; it never imports a module named in a file.")


def _resolve_custom_child(key, value):
    """Registered objects inside a config become objects (neuropil's own stay configs, read
    by each namespace's ``get``); so a registered initializer or activation loads too."""
    if isinstance(value, dict) and "class_name" in value and "config" in value:
        names = (value.get("registered_name"), value["class_name"])
        special = str(value["class_name"]).startswith("__")   # __numpy__, __lambda__ ...
        if special or value["class_name"] == "function" or any(
                name and get_registered_object(name) is not None for name in names):
            return deserialize_keras_object(value)
    if key == "activation" and isinstance(value, str):
        custom = get_registered_object(value) or next(
            (obj for name, obj in _GLOBAL_CUSTOM_OBJECTS.items()
             if name.endswith(f">{value}")), None)
        if custom is not None:
            return custom
    return value


def strip_keras_only_keys(tree, where: str = "config"):
    """Removes Keras bookkeeping (``shared_object_id``) and Keras-only options that hold
    their default from every object config in ``tree`` (in place); returns ``tree``.

    Raises:
        ValueError: a Keras-only option is set to something neuropil cannot do.
    """
    if isinstance(tree, list):
        for item in tree:
            strip_keras_only_keys(item, where)
    elif isinstance(tree, dict):
        tree.pop("shared_object_id", None)
        inner = tree.get("config")
        if "class_name" in tree and isinstance(inner, dict):
            for key, default in _KERAS_ONLY_DEFAULTS.items():
                if key in inner and inner[key] != default:
                    raise ValueError(f"{tree['class_name']} {inner.get('name', '')!s} in "
                                     f"{where} sets `{key}={inner[key]!r}`, a Keras "
                                     "feature neuropil does not implement.")
                inner.pop(key, None)
        for value in tree.values():
            strip_keras_only_keys(value, where)
    return tree
