"""Functional models: a graph of layer calls, replayed on real data in topological order."""
from __future__ import annotations

from neuropil.layers.core import InputLayer
from neuropil.layers.input_spec import InputSpec
from neuropil.layers.layer import Layer
from neuropil.layers.node import KerasTensor, flatten_structure, map_structure
from neuropil.models.model import Model

__all__ = ["Functional"]


class Functional(Model):
    """A model defined by symbolic ``inputs`` and the ``outputs`` computed from them."""

    def __init__(self, inputs, outputs, name=None, trainable=True, **kwargs):
        Layer.__init__(self, name=name, trainable=trainable, **kwargs)
        self._inputs_struct, self._outputs_struct = inputs, outputs
        self.inputs = flatten_structure(inputs)
        self.outputs = flatten_structure(outputs)
        for tensor in self.inputs + self.outputs:
            if not isinstance(tensor, KerasTensor):
                raise ValueError("keras.Model(inputs, outputs) expects symbolic tensors (from "
                                 f"keras.Input and layer calls). Received: {tensor!r}")
        self._nodes = _topological_nodes(self.inputs, self.outputs)
        self._graph_layers = []
        for node in self._nodes:
            if node.layer not in self._graph_layers:
                self._graph_layers.append(node.layer)
        self.input_spec = [InputSpec(shape=(None,) + t.shape[1:]) for t in self.inputs]
        self.built = True

    @property
    def input(self):
        return self._inputs_struct

    @property
    def output(self):
        return self._outputs_struct

    def _sublayers(self) -> list:
        return list(self._graph_layers)

    def _expected_input_shapes(self) -> list:
        return [t.shape for t in self.inputs]

    def call(self, inputs, training=None):
        flat = list(inputs.values()) if isinstance(inputs, dict) else flatten_structure(inputs)
        if len(flat) != len(self.inputs):
            raise ValueError(f'Model "{self.name}" expects {len(self.inputs)} input(s), but '
                             f"received {len(flat)}.")
        values = {id(t): v for t, v in zip(self.inputs, flat)}
        for node in self._nodes:
            if isinstance(node.layer, InputLayer):
                continue
            args = map_structure(lambda t: values[id(t)] if isinstance(t, KerasTensor) else t,
                                 node.call_args)
            outputs = node.layer(args, **node.call_kwargs)
            for tensor, value in zip(node.output_tensors, flatten_structure(outputs)):
                values[id(tensor)] = value
        return map_structure(lambda t: values[id(t)], self._outputs_struct)

    def compute_output_shape(self, input_shape):
        return map_structure(lambda t: t.shape, self._outputs_struct)


def _topological_nodes(inputs, outputs) -> list:
    """The nodes between ``inputs`` and ``outputs``, each after the nodes it depends on."""
    input_ids = {id(t) for t in inputs}
    order, done = [], set()

    def node_of(tensor):
        layer, node_index, _ = tensor._keras_history
        return layer._inbound_nodes[node_index]

    def visit(tensor, path):
        if tensor._keras_history is None:
            raise ValueError(f"{tensor.name} was not made by a layer; keras.Model needs tensors "
                             "from keras.Input and layer calls.")
        node = node_of(tensor)
        if id(node) in done:
            return
        if id(tensor) not in input_ids:
            if isinstance(node.layer, InputLayer):
                raise ValueError(f"Graph disconnected: cannot obtain value for tensor "
                                 f"{tensor.name} (input layer \"{node.layer.name}\") on the "
                                 f"way to layer \"{path}\": it is not one of the model's "
                                 "inputs. Add it to `inputs`.")
            for parent in node.input_tensors:
                if isinstance(parent, KerasTensor):
                    visit(parent, node.layer.name)
        done.add(id(node))
        order.append(node)

    for tensor in outputs:
        visit(tensor, "output")
    return order
