"""Runs a model one layer call at a time, keeping what went into and came out of each.

Sequential and functional models are replayed node by node, in the order ``Functional.call``
uses, and a model nested inside another is opened up, so a padded LeNet-5 shows its
convolutions rather than one "lenet5" box. A subclassed model has no graph to replay: it is
run whole, as one step.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from neuropil.autodiff import Tensor
from neuropil.layers.core import InputLayer
from neuropil.layers.node import KerasTensor, flatten_structure, map_structure
from neuropil.models.functional import Functional
from neuropil.models.sequential import Sequential

__all__ = ["Step", "graph_of", "run", "leaf_layers", "as_batch", "to_numpy",
           "preserved"]


@dataclass
class Step:
    """One layer call: its path ("lenet5/conv1"), the layer, and its input and output values
    (tensors, or lists of tensors for layers with several)."""

    path: str
    layer: object
    inputs: object
    outputs: object


def graph_of(model):
    """The functional graph behind ``model``: itself, a built Sequential's, or None."""
    if isinstance(model, Sequential):
        return model._functional  # None until the Sequential is built
    return model if isinstance(model, Functional) else None


def _ensure_built(model, x) -> None:
    """A Sequential without ``keras.Input`` is built from the data's shape."""
    if isinstance(model, Sequential) and getattr(model, "_functional", None) is None:
        first = flatten_structure(x)[0]
        model.build((None,) + tuple(np.shape(first))[1:])


def _as_input(value, dtype):
    if isinstance(value, Tensor):
        return value
    array = np.asarray(value)
    if array.dtype.kind in "fiub" and array.dtype != np.dtype(dtype):
        array = array.astype(dtype)
    return Tensor(array)


def run(model, x, training=False, steps=None, prefix: str = ""):
    """The model's output for ``x``; each layer call is appended to ``steps`` as a ``Step``.

    Args:
        model: a built (or buildable) model.
        x: the input batch (an array, or a list of arrays for several inputs).
        training: the training flag every layer receives (unless its node fixed one).
        steps: a list to append to (a new one when None).
        prefix: path prefix of nested models.
    """
    steps = [] if steps is None else steps
    _ensure_built(model, x)
    graph = graph_of(model)
    if graph is None:  # a subclassed model: one opaque step
        out = model(x, training=training)
        steps.append(Step(prefix + model.name, model, x, out))
        return out
    flat = list(x.values()) if isinstance(x, dict) else flatten_structure(x)
    if len(flat) != len(graph.inputs):
        raise ValueError(f'Model "{model.name}" expects {len(graph.inputs)} input(s), but '
                         f"received {len(flat)}.")
    values = {id(t): _as_input(v, model.compute_dtype) for t, v in zip(graph.inputs, flat)}
    for node in graph._nodes:
        layer = node.layer
        if isinstance(layer, InputLayer):
            continue
        value = lambda t: values[id(t)] if isinstance(t, KerasTensor) else t  # noqa: E731
        args = map_structure(value, node.call_args)
        if graph_of(layer) is not None:
            outputs = run(layer, args, training, steps, f"{prefix}{layer.name}/")
        else:
            kwargs = map_structure(value, dict(node.call_kwargs))
            kwargs.setdefault("training", training)
            outputs = layer(args, *map_structure(value, node.extra_args), **kwargs)
            steps.append(Step(prefix + layer.name, layer, args, outputs))
        for tensor, value in zip(node.output_tensors, flatten_structure(outputs)):
            values[id(tensor)] = value
    return map_structure(lambda t: values[id(t)], graph._outputs_struct)


def leaf_layers(model, prefix: str = "") -> list:
    """(path, layer) for every layer of the model, nested models opened up, in graph order."""
    graph = graph_of(model)
    if graph is None:
        layers = model.layers if hasattr(model, "layers") else []
    else:
        layers = []
        for node in graph._nodes:
            if node.layer not in layers and not isinstance(node.layer, InputLayer):
                layers.append(node.layer)
    found = []
    for layer in layers:
        if hasattr(layer, "layers") and (graph_of(layer) is not None or layer.layers):
            found += leaf_layers(layer, f"{prefix}{layer.name}/")
        else:
            found.append((prefix + layer.name, layer))
    return found


def to_numpy(value):
    """Tensors (or nested lists of them) -> NumPy arrays."""
    return map_structure(lambda t: np.asarray(t.data if isinstance(t, Tensor) else t), value)


def as_batch(model, x) -> tuple:
    """(batch, added): ``x`` with a batch axis added when it is one sample (its rank is one
    less than the model's input rank); integers become the model's float dtype."""
    if isinstance(x, (list, tuple)) and x and isinstance(x[0], np.ndarray):
        return x, False  # several inputs: given as batches
    array = np.asarray(x)
    if array.dtype.kind in "iub":
        array = array.astype(model.compute_dtype)
    expected = _input_rank(model)
    if (expected is not None and array.ndim == expected - 1) or \
            (expected is None and array.ndim == 1):
        return array[None], True
    if array.ndim == 0:
        return array.reshape(1, 1), True
    return array, False


def _input_rank(model):
    graph = graph_of(model)
    if graph is not None:
        return len(graph.inputs[0].shape)
    shape = getattr(model, "_batch_input_shape", None) or getattr(
        (getattr(model, "layers", None) or [None])[0], "_batch_input_shape", None)
    return None if shape is None else len(shape)


@contextmanager
def preserved(model):
    """Puts every weight's value and ``.grad`` back as they were on exit."""
    saved = [(v, np.array(v.data), v.grad) for v in model.weights]
    try:
        yield
    finally:
        for variable, value, grad in saved:
            variable.data[...] = value
            variable.grad = grad
