"""Symbolic tensors and the nodes that connect layers into a graph.

Calling a layer on a ``KerasTensor`` (what ``keras.Input`` returns) computes no numbers: it
infers the output shape and records a ``Node`` saying which layer turned which symbolic inputs
into which outputs. A functional model replays those nodes on real data.
"""
from __future__ import annotations

import itertools
from collections import OrderedDict

import numpy as np

from neuropil import backend

__all__ = ["KerasTensor", "Node", "map_structure", "flatten_structure", "is_symbolic"]

_ids = itertools.count()


class KerasTensor:
    """A placeholder with a shape (``None`` for the batch axis) and a dtype, but no values.

    ``_keras_history`` is (layer, node_index, tensor_index): where in the graph it was made.
    """

    def __init__(self, shape, dtype=None, name=None, keras_history=None):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = backend.standardize_dtype(dtype)
        self.name = name or f"keras_tensor_{next(_ids)}"
        self._keras_history = keras_history

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    def __array__(self, *args, **kwargs):
        raise TypeError(f"{self.name} is a symbolic tensor (shape {self.shape}): it has no "
                        "values. Build a keras.Model from it and call the model on data.")


class Node:
    """One call of a layer inside a graph: its symbolic inputs, outputs and call arguments."""

    def __init__(self, layer, call_args, call_kwargs, outputs, extra_args=()):
        self.layer = layer
        self.call_args = call_args            # the structure the layer was called with
        self.call_kwargs = call_kwargs
        # Positional arguments after the first (``layer(targets, logits)``), replayed as
        # ``layer(call_args, *extra_args, **call_kwargs)``.
        self.extra_args = tuple(extra_args)
        self.input_tensors = [t for t in flatten_structure((call_args, self.extra_args,
                                                            call_kwargs))
                              if isinstance(t, KerasTensor)] \
            if self.extra_args or is_symbolic(call_kwargs) else flatten_structure(call_args)
        self.outputs = outputs                # a KerasTensor or a list of them
        self.output_tensors = flatten_structure(outputs)
        self.parent_nodes = [t._keras_history[0]._inbound_nodes[t._keras_history[1]]
                             for t in self.input_tensors if t._keras_history is not None]


def is_symbolic(structure) -> bool:
    """Whether any leaf is a KerasTensor. Every layer call asks, so it walks the structure
    and stops at the first one, without building a list of the leaves."""
    if isinstance(structure, KerasTensor):
        return True
    if isinstance(structure, (list, tuple)):
        for item in structure:
            if is_symbolic(item):
                return True
        return False
    if isinstance(structure, dict):
        for value in structure.values():
            if is_symbolic(value):
                return True
    return False


def flatten_structure(structure) -> list:
    """The leaves of nested lists / tuples / dicts, in order: a dict's in sorted key order
    (an OrderedDict's in its own order), as ``keras.tree.flatten``, so that a model built
    on dicts lists its inputs and outputs as Keras does."""
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in flatten_structure(item)]
    if isinstance(structure, dict):
        return [leaf for key in dict_keys(structure) for leaf in flatten_structure(structure[key])]
    return [structure]


def dict_keys(mapping: dict) -> list:
    """A dict's keys in Keras's flattening order: sorted, unless it is an OrderedDict (or
    its keys cannot be compared, then as inserted)."""
    if isinstance(mapping, OrderedDict):
        return list(mapping)
    try:
        return sorted(mapping)
    except TypeError:
        return list(mapping)


def map_structure(fn, structure, is_leaf=None):
    """Applies ``fn`` to every leaf, keeping the nesting (``is_leaf`` can stop the descent)."""
    if is_leaf is not None and is_leaf(structure):
        return fn(structure)
    if isinstance(structure, (list, tuple)):
        return type(structure)(map_structure(fn, item, is_leaf) for item in structure)
    if isinstance(structure, dict):
        return {key: map_structure(fn, value, is_leaf) for key, value in structure.items()}
    return fn(structure)


def shape_of(x) -> tuple:
    return tuple(x.shape) if hasattr(x, "shape") else np.shape(x)
