"""Weights in Keras 3's HDF5 layout (``model.save_weights("x.weights.h5")``).

Every layer, nested model and the optimizer gets a group ``<path>/vars`` (attribute
``name``) holding datasets ``"0"``, ``"1"``, ... in the object's variable order: a layer's
own trainable weights, then its own non-trainable ones; the optimizer's ``variables``
(step counter, learning rate, slots). Paths follow Keras 3's ``saving_lib``: the model's
layers live under ``layers/``, each named after its class with a counter (``dense``,
``dense_1``: names given by the user are not used, so two instances of an architecture
match); a sublayer held in an attribute lives under the attribute's name; the optimizer
under ``optimizer``; the model's own variables (if any) under ``vars``.

Loading checks everything (count and shape per variable) before assigning anything, so a
bad file leaves the model as it was. The HDF5 file is read defensively: no soft or
external links, no external or virtual datasets, numbers only, no "shape bombs".
"""
from __future__ import annotations

import copy
import io
import os
import warnings

import numpy as np

from neuropil._naming import to_snake_case
from neuropil.layers import Layer
from neuropil.models import Functional, Sequential
from neuropil.optimizers import Optimizer
from neuropil.saving import atomic

__all__ = ["save_weights", "load_weights", "write_state", "read_state"]

# Attributes that hold layers already reached through ``layers`` (Keras skips its own
# equivalents, ``_layers`` and ``_functional``).
_SKIP = {"_functional", "_stack", "_graph_layers", "_nodes", "_inbound_nodes"}
# A dataset larger than this must not be (almost) all compression: see Keras's
# CVE-2026-0897 guard in saving_lib.
_BOMB_FLOOR_BYTES = 1 << 32
_MAX_EXPANSION = 1000


def _h5py():
    try:
        import h5py
    except ImportError as error:  # pragma: no cover - h5py is installed in tests
        raise ImportError("Saving and loading weights needs h5py: `pip install h5py` (or "
                          "`pip install neuropil[saving]`).") from error
    return h5py


# ---- which objects, under which paths ----------------------------------------------------------
def walk(model) -> list:
    """``[(path, object)]`` for the model, every layer below it and the optimizer, in the
    order Keras 3 visits them; each object once (a shared layer under its first path)."""
    found, visited = [], set()

    def visit(obj, path):
        if id(obj) in visited:
            return
        visited.add(id(obj))
        found.append((path, obj))
        if isinstance(obj, Optimizer):
            return
        for attribute, child in _children(obj):
            child_path = f"{path}/{attribute}" if path else attribute
            if _is_saveable(child):
                visit(child, child_path)
            elif isinstance(child, (list, tuple, dict)):
                visit_container(child, child_path, set())

    def visit_container(container, path, seen):
        if id(container) in seen:
            return
        seen.add(id(container))
        used: dict = {}
        for item in container.values() if isinstance(container, dict) else container:
            if _is_saveable(item):
                visit(item, f"{path}/{_unique(to_snake_case(type(item).__name__), used)}")
            elif isinstance(item, (list, tuple, dict)):
                visit_container(item, f"{path}/{_unique('container', used)}", seen)

    visit(model, "")
    return found


def _children(obj):
    if isinstance(obj, (Sequential, Functional)):
        yield "layers", obj.layers
    for attribute in sorted(vars(obj), key=lambda n: f"~{n}" if n.startswith("_") else n):
        if attribute not in _SKIP:
            yield attribute, vars(obj)[attribute]


def _is_saveable(obj) -> bool:
    return isinstance(obj, (Layer, Optimizer))


def _unique(name: str, used: dict) -> str:
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name


def own_variables(obj) -> list:
    """The variables stored in ``obj``'s group, in Keras's order."""
    if isinstance(obj, Optimizer):
        return list(obj.variables)
    return obj._ordered_own_variables()


def _custom_hook(obj, name: str):
    """``obj``'s own ``save_own_variables`` / ``load_own_variables`` when its class
    overrides Layer's (Keras's way to take control of a layer's saved state), else None."""
    from neuropil.layers.layer import Layer
    if not isinstance(obj, Layer) or getattr(type(obj), name) is getattr(Layer, name):
        return None
    return getattr(obj, name)


# ---- writing ----------------------------------------------------------------------------------
def write_state(model, h5file) -> None:
    """Writes every variable of ``model`` (and its optimizer) into an open h5py File."""
    for path, obj in walk(model):
        group = h5file.create_group(f"{path}/vars" if path else "vars")
        group.attrs["name"] = obj.name
        custom = _custom_hook(obj, "save_own_variables")
        if custom is not None:
            store: dict = {}
            custom(store)
            for key, value in store.items():
                write_dataset(group, str(key), np.asarray(getattr(value, "data", value)))
            continue
        for index, variable in enumerate(own_variables(obj)):
            write_dataset(group, str(index), np.asarray(variable.data))


def write_dataset(group, key: str, array: np.ndarray) -> None:
    """The one place arrays go to disk (tests break it on purpose to check atomic saves)."""
    group.create_dataset(key, data=array)


def weights_bytes(model) -> bytes:
    """The ``.weights.h5`` file for ``model``, built in memory."""
    buffer = io.BytesIO()
    with _h5py().File(buffer, "w") as h5file:
        write_state(model, h5file)
    return buffer.getvalue()


def save_weights(model, filepath, overwrite=True) -> None:
    """Writes ``model``'s weights to ``filepath`` (must end in ``.weights.h5``).

    The file is written next to the target under a temporary name, then renamed over it:
    an interrupted save never leaves a half-written file.
    """
    filepath = os.fspath(filepath)
    if not str(filepath).endswith(".weights.h5"):
        raise ValueError("The filename must end in `.weights.h5`. "
                         f"Received: filepath={filepath}")
    if not model.built:
        raise ValueError("You are saving a model that has not yet been built. Try building "
                         "the model first by calling it on some data or by using `build()`.")
    if not atomic.may_write(filepath, overwrite):
        return
    data = weights_bytes(model)
    atomic.write_bytes(filepath, data)


# ---- reading ----------------------------------------------------------------------------------
def load_weights(model, filepath, skip_mismatch=False, **kwargs) -> None:
    """Loads weights saved by ``save_weights`` or inside a ``.keras`` file into ``model``."""
    if kwargs:
        raise ValueError(f"Invalid keyword arguments: {kwargs}")
    filepath = os.fspath(filepath)
    if not model.built:
        raise ValueError("You are loading weights into a model that has not yet been built. "
                         "Try building the model first by calling it on some data or by "
                         "using `build()`.")
    if str(filepath).endswith(".keras"):
        from neuropil.saving.archive import read_member
        source = io.BytesIO(read_member(filepath, "model.weights.h5"))
    elif str(filepath).endswith(".weights.h5"):
        if not os.path.isfile(filepath):
            raise FileNotFoundError(f"No such weights file: {filepath}")
        source = filepath
    else:
        raise ValueError(f"File format not supported: filepath={filepath}. neuropil reads "
                         "weights from `.weights.h5` files (Keras 3's format) and `.keras` "
                         "files.")
    with open_h5(source, filepath) as h5file:
        read_state(model, h5file, filepath, skip_mismatch=skip_mismatch)


def open_h5(source, name: str):
    h5py = _h5py()
    try:
        return h5py.File(source, "r")
    except OSError as error:
        raise ValueError(f"{name}: not a readable HDF5 weights file ({error}).") from error


def read_state(model, h5file, source: str, skip_mismatch: bool = False) -> None:
    """Assigns the file's values to ``model``'s variables (and its optimizer's).

    Raises:
        ValueError: a layer's weights are missing, or their count or a shape differs
            (naming the file, the layer and both shapes), unless ``skip_mismatch``.
    """
    try:
        plan = _plan(model, h5file, source, skip_mismatch)
    except (KeyError, RuntimeError, OSError) as error:  # what h5py raises on damaged files
        raise ValueError(f"{source}: the HDF5 weights are damaged and cannot be read "
                         f"({error}).") from error
    for variable, value in plan:
        if variable is None:  # a layer's own load_own_variables, given its stored dict
            load, store = value
            load(store)
            continue
        variable.assign(value.astype(variable.dtype, copy=False))


def _plan(model, h5file, source, skip_mismatch) -> list:
    """[(variable, value)] for everything in the file, every check passed."""
    plan = []
    optimizers = []
    for path, obj in walk(model):
        if isinstance(obj, Optimizer):
            optimizers.append((path, obj))
            continue
        custom = _custom_hook(obj, "load_own_variables")
        if custom is not None:
            group = _group(h5file, f"{path}/vars" if path else "vars", source)
            plan.append((None, (custom, {} if group is None else
                                {key: np.asarray(group[key][()]) for key in group.keys()})))
            continue
        try:
            plan += _match(obj, own_variables(obj), path, h5file, source)
        except ValueError as error:
            if not skip_mismatch:
                raise
            warnings.warn(f"{error} Skipping it (skip_mismatch=True).", stacklevel=5)
    for path, optimizer in optimizers:
        plan += _match_optimizer(optimizer, model, path, h5file, source)
    return plan


def _match(obj, variables, path, h5file, source) -> list:
    """[(variable, value)] for one object, after checking count and shapes."""
    group_path = f"{path}/vars" if path else "vars"
    kind = "optimizer" if isinstance(obj, Optimizer) else "layer"
    group = _group(h5file, group_path, source)
    keys = sorted(group.keys(), key=_index) if group is not None else []
    if [str(i) for i in range(len(keys))] != keys:
        raise ValueError(f"{source}: group '{group_path}' holds datasets {keys}; expected "
                         "'0', '1', ... (Keras's layout).")
    if len(keys) != len(variables):
        names = [v.name for v in variables]
        where = f"'{group_path}'" if group is not None else \
            f"nothing (no group '{group_path}')"
        raise ValueError(f"{source}: {kind} '{obj.name}' has {len(variables)} weights "
                         f"{names}, but the file holds {len(keys)} at {where}.")
    plan = []
    for key, variable in zip(keys, variables):
        dataset = _dataset(group, key, f"{group_path}/{key}", source)
        if tuple(dataset.shape) != tuple(variable.shape):
            raise ValueError(f"{source}: {kind} '{obj.name}' weight '{variable.name}' has "
                             f"shape {tuple(variable.shape)}, but the file holds shape "
                             f"{tuple(dataset.shape)} at '{group_path}/{key}'.")
        plan.append((variable, np.asarray(dataset[()])))
    return plan


def _match_optimizer(optimizer, model, path, h5file, source) -> list:
    group = _group(h5file, f"{path}/vars", source)
    if group is None:
        return []   # saved without an optimizer: keep this one as it is
    saved = len(group.keys())
    if len(optimizer.variables) != saved and not optimizer.built:
        # neuropil creates slots on the first step; make them now, in that order, so the
        # saved ones have somewhere to go (Keras builds the optimizer when compiling).
        if _materialize_slots(copy.deepcopy(optimizer), model) == saved:
            _materialize_slots(optimizer, model)
    if len(optimizer.variables) != saved:
        warnings.warn(f"Skipping variable loading for optimizer '{optimizer.name}', because "
                      f"it has {len(optimizer.variables)} variables whereas the saved "
                      f"optimizer in {source} has {saved} variables.", stacklevel=6)
        return []
    return _match(optimizer, optimizer.variables, path, h5file, source)


def _materialize_slots(optimizer, model) -> int:
    """Runs one update with zero gradients so the optimizer creates its slots, then puts
    the weights back. Returns the optimizer's variable count."""
    variables = list(model.trainable_weights)
    if not variables:
        return len(optimizer.variables)
    saved = [np.array(v.data) for v in variables]
    optimizer.build(variables)
    learning_rate = float(np.asarray(optimizer.learning_rate.data)) or 1.0
    try:
        with np.errstate(all="ignore"):
            optimizer.update_steps([np.zeros_like(v.data) for v in variables], variables,
                                   learning_rate)
    finally:
        for variable, value in zip(variables, saved):
            variable.data[...] = value
    return len(optimizer.variables)


def _index(key: str):
    return (0, int(key)) if key.isdigit() else (1, key)


def _group(h5file, path: str, source: str):
    """The group at ``path`` or None; refuses links that leave the file."""
    h5py = _h5py()
    current = h5file
    for part in path.split("/"):
        if part not in current:
            return None
        _check_link(current, part, path, source)
        current = current[part]
        if not isinstance(current, h5py.Group):
            raise ValueError(f"{source}: '{path}' should be an HDF5 group, found "
                             f"{type(current).__name__}.")
    return current


def _dataset(group, key: str, path: str, source: str):
    h5py = _h5py()
    _check_link(group, key, path, source)
    dataset = group[key]
    if not isinstance(dataset, h5py.Dataset):
        raise ValueError(f"{source}: '{path}' should be a dataset, found "
                         f"{type(dataset).__name__}.")
    if dataset.external or dataset.is_virtual:
        raise ValueError(f"{source}: '{path}' is an external or virtual dataset; "
                         "not allowed (it would read other files).")
    if dataset.dtype.kind not in "biuf":
        raise ValueError(f"{source}: '{path}' holds {dataset.dtype} data; weights must be "
                         "numbers.")
    declared = int(np.prod(dataset.shape, dtype=np.int64)) * dataset.dtype.itemsize
    stored = dataset.id.get_storage_size()
    if declared > _BOMB_FLOOR_BYTES and declared > _MAX_EXPANSION * stored:
        raise ValueError(f"{source}: '{path}' declares {declared} bytes but stores {stored}; "
                         "refusing a potential decompression bomb.")
    return dataset


def _check_link(parent, name: str, path: str, source: str) -> None:
    link = parent.get(name, getlink=True)
    if not isinstance(link, _h5py().HardLink):
        raise ValueError(f"{source}: '{path}' is a {type(link).__name__}; links to other "
                         "places or files are not allowed in a weights file.")
