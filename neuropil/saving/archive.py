"""The ``.keras`` file: a zip archive in Keras 3's layout, readable by Keras and by us.

::

    model.keras (zip, stored)
    ├── metadata.json      {"keras_version": "3.15.1", "date_saved": "2025-01-31@12:00:00"}
    ├── config.json        the model's serialized config (registry.serialize_keras_object):
    │                      module, class_name, config, registered_name, build_config,
    │                      compile_config (optimizer, loss, metrics)
    └── model.weights.h5   every variable, laid out as in weights_h5.py

Saving writes a temporary file beside the target and renames it into place. Loading
rebuilds the model from config.json through the registry (known classes only), then
checks and assigns the weights, and with ``compile=True`` the optimizer state, so
training continues where it stopped. Follows Keras 3's ``saving/saving_lib.py`` and
``saving/saving_api.py``.
"""
from __future__ import annotations

import datetime
import io
import json
import os
import warnings
import zipfile
import zlib

from neuropil.models import Model
from neuropil.saving import atomic
from neuropil.saving.registry import (deserialize_keras_object, serialize_keras_object,
                                      strip_keras_only_keys)
from neuropil.saving.weights_h5 import open_h5, read_state, weights_bytes

__all__ = ["save_model", "load_model", "read_member", "KERAS_VERSION"]

# The Keras release whose format we write (Keras does not check it when loading).
KERAS_VERSION = "3.15.1"
CONFIG, METADATA, WEIGHTS = "config.json", "metadata.json", "model.weights.h5"
# A member that declares far more bytes than it stores is a decompression bomb (Keras's
# CWE-409 guard): refuse it before reading.
_BOMB_FLOOR_BYTES = 1 << 32
_MAX_EXPANSION = 100


def save_model(model, filepath, overwrite=True, **kwargs) -> None:
    """Saves ``model`` (architecture, weights, compile settings, optimizer state).

    Args:
        model: a built Sequential, functional, or registered subclassed model.
        filepath: path ending in ``.keras``.
        overwrite: replace an existing file; otherwise ask (on a terminal) as Keras does.

    Example:
    >>> model.save("digits.keras")
    >>> restored = keras.models.load_model("digits.keras")
    """
    if kwargs:
        raise ValueError(f"The following argument(s) are not supported: {list(kwargs)}")
    filepath = os.fspath(filepath)
    if str(filepath).endswith((".h5", ".hdf5")):
        raise ValueError("neuropil does not write Keras 2's legacy HDF5 model format. Use the "
                         "native Keras format: model.save('my_model.keras'). "
                         f"Received: filepath={filepath}.")
    if not str(filepath).endswith(".keras"):
        raise ValueError("Invalid filepath extension for saving. Please add a `.keras` "
                         "extension for the native Keras format. "
                         f"Received: filepath={filepath}.")
    if not model.built:
        warnings.warn("You are saving a model that has not yet been built. It might not "
                      "contain any weights yet. Consider building the model first by "
                      "calling it on some data.", stacklevel=2)
    if not atomic.may_write(filepath, overwrite):
        return
    config_json = json.dumps(serialize_keras_object(model))
    metadata_json = json.dumps({
        "keras_version": KERAS_VERSION,
        "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")})

    def write(file):
        with zipfile.ZipFile(file, "w") as archive:
            archive.writestr(METADATA, metadata_json)
            archive.writestr(CONFIG, config_json)
            archive.writestr(WEIGHTS, weights_bytes(model))

    atomic.write_with(filepath, write)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Loads a model saved as ``.keras`` (by neuropil or by Keras 3).

    Args:
        filepath: path ending in ``.keras``.
        custom_objects: ``{name: class or function}`` for classes the file names that are
            neither neuropil's nor registered with ``register_keras_serializable``.
        compile: compile the model as it was saved and restore the optimizer state.
        safe_mode: accepted for Keras compatibility; neuropil never loads code from a file.

    Raises:
        ValueError: the file is not a valid ``.keras`` archive, names an unknown class, or
            its weights do not fit the model (the message names the file).
    """
    filepath = os.fspath(filepath)
    if not str(filepath).endswith(".keras"):
        raise ValueError(f"File format not supported: filepath={filepath}. neuropil loads "
                         "Keras 3's `.keras` files (Keras 2's legacy `.h5` model files and "
                         "SavedModel directories are not supported).")
    if not os.path.isfile(filepath):
        raise ValueError(f"File not found: filepath={filepath}. Please ensure the file is an "
                         "accessible `.keras` zip file.")
    with _open(filepath) as archive:
        config = _read_json(archive, filepath)
        weights = _read(archive, WEIGHTS, filepath)
    model = _model_from_config(config, filepath, custom_objects, compile, safe_mode)
    with open_h5(io.BytesIO(weights), f"{filepath}:{WEIGHTS}") as h5file:
        read_state(model, h5file, filepath)
    return model


def read_member(filepath, name: str) -> bytes:
    """The bytes of one member of a ``.keras`` archive."""
    with _open(filepath) as archive:
        return _read(archive, name, filepath)


def _open(filepath) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(filepath, "r")
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as error:
        raise ValueError(f"{filepath} is not a valid .keras file (a zip archive): "
                         f"{error}") from error


def _read(archive: zipfile.ZipFile, name: str, filepath) -> bytes:
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise ValueError(f"{filepath} is not a complete .keras file: it has no {name} "
                         f"(members: {archive.namelist()}).") from None
    if info.file_size > _BOMB_FLOOR_BYTES and \
            info.file_size > _MAX_EXPANSION * info.compress_size:
        raise ValueError(f"{filepath}: member {name} declares {info.file_size} bytes but "
                         f"stores {info.compress_size}; refusing a potential "
                         "decompression bomb.")
    try:
        # NOTE: not archive.read(name): it inflates up to 2 GiB in one go before cutting
        # to the declared size, so a header that lies about the size would still cost that
        # much memory; read(n) inflates at most n bytes (the CRC then fails).
        with archive.open(info) as member:
            return member.read(info.file_size)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, zlib.error) as error:
        raise ValueError(f"{filepath}: cannot read {name} ({error}); the file is damaged "
                         "or truncated.") from error


def _read_json(archive: zipfile.ZipFile, filepath) -> dict:
    try:
        config = json.loads(_read(archive, CONFIG, filepath))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{filepath}: {CONFIG} is not valid JSON ({error}).") from error
    if not isinstance(config, dict) or "class_name" not in config or "config" not in config:
        raise ValueError(f"{filepath}: {CONFIG} does not describe a model (expected "
                         "{'module', 'class_name', 'config', ...}).")
    return config


def _model_from_config(config: dict, filepath, custom_objects, compile, safe_mode):
    try:
        strip_keras_only_keys(config, str(filepath))
        if not compile:
            config["compile_config"] = None
        model = deserialize_keras_object(config, custom_objects=custom_objects,
                                         safe_mode=safe_mode)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as error:
        raise ValueError(f"Cannot rebuild the model saved in {filepath}: {error}") from error
    if not isinstance(model, Model):
        raise ValueError(f"{filepath}: {CONFIG} describes a {type(model).__name__}, not a "
                         "model.")
    return model
