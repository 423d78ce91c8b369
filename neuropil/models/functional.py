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

    # ---- config: Keras 3's functional format ---------------------------------------------
    def get_config(self) -> dict:
        """``name``, ``trainable``, ``layers`` (each with its ``inbound_nodes``),
        ``input_layers`` and ``output_layers``, as Keras 3 writes them."""
        # NOTE: the registry (level 8) names each layer's class; imported here so that
        # importing models never loads saving.
        from neuropil.saving.registry import serialize_keras_object
        return self._graph_config(serialize_keras_object)

    def _graph_config(self, serialize_layer) -> dict:
        own = {id(node) for node in self._nodes}

        def kept_index(layer, node_index) -> int:
            # Only this model's calls of a layer count (a layer may serve other graphs).
            return sum(1 for node in layer._inbound_nodes[:node_index] if id(node) in own)

        def tensor_config(tensor, functional_offset=False):
            layer, node_index, tensor_index = tensor._keras_history
            # Keras counts a nested functional model's own graph as node 0 in
            # input_layers / output_layers (not in inbound_nodes): mirror it.
            offset = 1 if functional_offset and isinstance(layer, Functional) else 0
            return [layer.name, kept_index(layer, node_index) + offset, tensor_index]

        def node_config(node) -> dict:
            def arg(x):
                if not isinstance(x, KerasTensor):
                    return serialize_layer(x) if hasattr(x, "get_config") else x
                return {"class_name": "__keras_tensor__",
                        "config": {"shape": list(x.shape), "dtype": x.dtype,
                                   "keras_history": tensor_config(x)}}
            return {"args": [map_structure(arg, node.call_args)],
                    "kwargs": map_structure(arg, node.call_kwargs)}

        layer_configs = []
        for layer in self._graph_layers:
            entry = dict(serialize_layer(layer))
            entry["name"] = layer.name
            entry["inbound_nodes"] = [node_config(node) for node in layer._inbound_nodes
                                      if id(node) in own and node.input_tensors]
            layer_configs.append(entry)
        return {"name": self.name, "trainable": self.trainable, "layers": layer_configs,
                "input_layers": map_structure(lambda t: tensor_config(t, True),
                                              self._inputs_struct),
                "output_layers": map_structure(lambda t: tensor_config(t, True),
                                               self._outputs_struct)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Rebuilds the graph: makes each layer, then replays its calls in order."""
        from neuropil.saving.registry import deserialize_keras_object  # NOTE: as above
        return functional_from_config(
            cls, config, lambda data: deserialize_keras_object(data, custom_objects))


def functional_from_config(cls, config: dict, make_layer):
    """A functional model from Keras 3's config format.

    ``make_layer(layer_data)`` returns the layer for one entry of ``config["layers"]``
    (deserializing it, or cloning an existing layer). Each entry's ``inbound_nodes`` are
    calls to replay; a call whose inputs do not exist yet (a layer shared at several depths)
    waits for a later pass, as in Keras's ``functional_from_config``.
    """
    config = dict(config)
    created = {}   # layer name -> (layer, the nodes made by this rebuild, in order)
    pending = []   # (layer, its nodes so far, calls still to replay), in config order
    for layer_data in config.pop("layers"):
        layer = make_layer(layer_data)
        if not isinstance(layer, Layer):
            raise ValueError(f"Functional config: entry {layer_data.get('name')!r} did not "
                             f"rebuild as a layer (got {type(layer).__name__}).")
        # A reused layer (clone_model's clone_function) keeps its old nodes: count only ours.
        own_nodes = layer._inbound_nodes[:1] if isinstance(layer, InputLayer) else []
        created[layer_data["name"]] = (layer, own_nodes)
        pending.append((layer, own_nodes, list(layer_data.get("inbound_nodes") or [])))

    while any(calls for _, _, calls in pending):
        progressed = False
        for layer, own_nodes, calls in pending:
            while calls:
                call = _node_call(calls[0], created)
                if call is None:
                    break
                args, kwargs = call
                layer(args, **kwargs)
                own_nodes.append(layer._inbound_nodes[-1])
                calls.pop(0)
                progressed = True
        if not progressed:
            stuck = [layer.name for layer, _, calls in pending if calls]
            raise ValueError("Invalid functional model configuration: the calls of layers "
                             f"{stuck} refer to layers, nodes or tensors that never exist "
                             "(a loop, or a disconnected graph).")

    def get_tensor(reference):
        if not (isinstance(reference, list) and len(reference) == 3 and
                isinstance(reference[0], str)):
            raise ValueError(f"Functional config: expected [layer_name, node_index, "
                             f"tensor_index], received {reference!r}")
        name, node_index, tensor_index = reference
        if name not in created:
            raise ValueError(f"Functional config: unknown layer {name!r} in input_layers / "
                             f"output_layers. Layers: {sorted(created)}")
        layer, own_nodes = created[name]
        if isinstance(layer, Functional):
            node_index -= 1   # Keras's extra node 0 of nested functional models
        tensor = _output_of(layer, own_nodes, node_index, tensor_index)
        if tensor is None:
            raise ValueError(f"Functional config: layer {name!r} has no node {node_index}.")
        return tensor

    def map_references(structure):
        if isinstance(structure, list) and len(structure) == 3 and \
                isinstance(structure[0], str):
            return get_tensor(structure)
        if isinstance(structure, dict):
            return {key: map_references(value) for key, value in structure.items()}
        return [map_references(item) for item in structure]

    inputs = map_references(config.pop("input_layers"))
    outputs = map_references(config.pop("output_layers"))
    return cls(inputs=inputs, outputs=outputs, name=config.get("name"),
               trainable=config.get("trainable", True))


def _output_of(layer, nodes, node_index, tensor_index):
    if not 0 <= node_index < len(nodes):
        return None
    tensors = nodes[node_index].output_tensors
    if not 0 <= tensor_index < len(tensors):
        raise ValueError(f"Functional config: layer {layer.name!r} has no output tensor "
                         f"{tensor_index} (it has {len(tensors)}).")
    return tensors[tensor_index]


def _node_call(node_data, created):
    """(inputs, kwargs) for one saved call, or None while an input does not exist yet."""
    if not isinstance(node_data, dict) or "args" not in node_data:
        raise ValueError("Functional config: each inbound node must be {'args': [...], "
                         f"'kwargs': {{...}}}} (Keras 3's format). Received: {node_data!r}")
    missing = []

    def revive(x):
        if isinstance(x, dict) and x.get("class_name") == "__keras_tensor__":
            history = (x.get("config") or {}).get("keras_history")
            if not (isinstance(history, list) and len(history) == 3):
                raise ValueError(f"Functional config: bad keras_history in {x!r}")
            name, node_index, tensor_index = history
            if name not in created:
                raise ValueError(f"Functional config: a call refers to unknown layer "
                                 f"{name!r}. Layers: {sorted(created)}")
            tensor = _output_of(*created[name], node_index, tensor_index)
            if tensor is None:
                missing.append(name)
            return tensor
        if isinstance(x, dict):
            return {key: revive(value) for key, value in x.items()}
        if isinstance(x, list):
            return [revive(item) for item in x]
        return x

    args = revive(node_data["args"])
    kwargs = revive(node_data.get("kwargs") or {})
    if missing:
        return None
    if not isinstance(args, list) or len(args) != 1:
        raise ValueError("Functional config: neuropil layers take one positional input "
                         f"(a tensor or a list of tensors); this call has {args!r}.")
    # Keras records mask=None on calls; neuropil has no masking.
    kwargs = {key: value for key, value in kwargs.items()
              if not (key == "mask" and value is None)}
    return args[0], kwargs


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
