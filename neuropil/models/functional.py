"""Functional models: a graph of layer calls, replayed on real data in topological order."""
from __future__ import annotations

from neuropil.autodiff import is_grad_enabled
from neuropil.layers.core import InputLayer
from neuropil.layers.input_spec import InputSpec, format_shape
from neuropil.layers.layer import Layer
from neuropil.layers.node import (KerasTensor, dict_keys, flatten_structure, is_symbolic,
                                  map_structure)
from neuropil.models.fusion import inference_chains
from neuropil.models.model import Model

__all__ = ["Functional"]


class Functional(Model):
    """A model defined by symbolic ``inputs`` and the ``outputs`` computed from them.

    ``inputs`` and ``outputs`` may be one tensor, a list, or a dict (then the data passed to
    the model, and for outputs the predictions, use the same keys). Layers run in a
    topological order of the graph, whatever order they were created or called in; a layer
    called twice runs twice with the same weights (their gradients add up).
    """

    def __init__(self, inputs, outputs, name=None, trainable=True, **kwargs):
        Layer.__init__(self, name=name, trainable=trainable, **kwargs)
        self._inputs_struct, self._outputs_struct = inputs, outputs
        self.inputs = flatten_structure(inputs)
        self.outputs = flatten_structure(outputs)
        for what, structure, flat in (("inputs", inputs, self.inputs),
                                      ("outputs", outputs, self.outputs)):
            for tensor in flat:
                if not isinstance(tensor, KerasTensor):
                    raise ValueError(f"All `{what}` values must be KerasTensors (from "
                                     "keras.Input and layer calls). Received: "
                                     f"{what}={structure!r} including invalid value "
                                     f"{tensor!r} of type {type(tensor).__name__}")
        self._nodes, self._graph_layers, self._nodes_by_depth = _map_graph(self.inputs,
                                                                           self.outputs)
        # Per node, the tensors nothing after it reads: dropped once it has run, so that
        # inference holds only the live activations (training's graph keeps what it needs).
        last_use = {id(t): index for index, node in enumerate(self._nodes)
                    for t in node.input_tensors}
        keep = {id(t) for t in self.outputs}
        self._release = [[] for _ in self._nodes]
        for tensor_id, index in last_use.items():
            if tensor_id not in keep:
                self._release[index].append(tensor_id)
        # Keras's names for the outputs: the layers that make them (losses and metrics are
        # logged under these names, e.g. "head_a_loss").
        self.output_names = [t._keras_history[0].name for t in self.outputs]
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

    def _flatten_inputs(self, data, what: str = "data") -> list:
        """One entry per model input, in ``self.inputs`` order: a dict is read by key (the
        keys of a dict of inputs, else the input names), anything else is flattened."""
        if isinstance(data, dict):
            keys = dict_keys(self._inputs_struct) if isinstance(self._inputs_struct, dict) \
                else [t.name for t in self.inputs]
            missing = [key for key in keys if key not in data]
            if missing:
                raise ValueError(f'Model "{self.name}" expects its {what} as a dict with the '
                                 f"keys {keys}; missing {missing}. Received keys: "
                                 f"{list(data)}.")
            return [data[key] for key in keys]
        flat = _flatten_leaves(data)
        if len(flat) != len(self.inputs):
            raise ValueError(f'Model "{self.name}" expects {len(self.inputs)} input(s) '
                             f"{[t.name for t in self.inputs]}, but received {len(flat)}.")
        return flat

    def _prepare(self, shapes) -> None:
        # The spec lists the inputs in order: compare with the shapes put in that order.
        super()._prepare(self._flatten_inputs(shapes, "input shapes"))

    def call(self, inputs, training=None):
        values = {id(t): v for t, v in zip(self.inputs, self._flatten_inputs(inputs))}
        # In inference, conv -> batch norm (-> add) (-> relu) chains run as one convolution,
        # where the chain's last layer would run (see models/fusion.py).
        chains = {} if training or is_grad_enabled() else \
            inference_chains(self._nodes, flatten_structure(self._outputs_struct))
        inside = {id(n) for c in chains.values() for n in c.nodes[:-1]}
        pending: dict = {}  # a tensor a chain has yet to read -> those chains
        for chain in chains.values():
            for tensor in chain.inputs:
                pending.setdefault(id(tensor), set()).add(chain)
        waiting: dict = {}  # a chain -> the tensors to free once it has run

        def free(tensor_ids):
            for tensor_id in tensor_ids:
                if pending.get(tensor_id):
                    waiting.setdefault(next(iter(pending[tensor_id])), []).append(tensor_id)
                else:  # (a chain's inner results were never stored)
                    values.pop(tensor_id, None)

        def value(t):
            return values[id(t)] if isinstance(t, KerasTensor) else t

        for node, release in zip(self._nodes, self._release):
            if not node.input_tensors:   # an InputLayer
                continue
            if chains and id(node) in inside:
                free(release)
                continue
            if chains and id(node) in chains:
                chain = chains[id(node)]
                values[id(chain.output)] = chain.run(value)
                for tensor in chain.inputs:
                    pending[id(tensor)].discard(chain)
                free(waiting.pop(chain, []) + release)
                continue
            call_args = node.call_args
            # One tensor in (the common case): looked up without walking a structure.
            args = values[id(call_args)] if isinstance(call_args, KerasTensor) else \
                map_structure(value, call_args)
            if node.extra_args or node.call_kwargs and is_symbolic(node.call_kwargs):
                outputs = node.layer(args, *map_structure(value, node.extra_args),
                                     **map_structure(value, node.call_kwargs))
            else:
                outputs = node.layer(args, **node.call_kwargs)
            if len(node.output_tensors) == 1 and not isinstance(outputs, (list, tuple, dict)):
                values[id(node.output_tensors[0])] = outputs  # one output: nothing to flatten
            else:
                for tensor, result in zip(node.output_tensors, flatten_structure(outputs)):
                    values[id(tensor)] = result
            free(release)
        return map_structure(value, self._outputs_struct)

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
            return {"args": [map_structure(arg, a) for a in (node.call_args,
                                                              *node.extra_args)],
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
                layer(*args, **kwargs)
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
    if not isinstance(args, list) or not args:
        raise ValueError("Functional config: a call needs its positional inputs as a "
                         f"non-empty list; this call has {args!r}.")
    # Keras records mask=None on calls; neuropil has no masking.
    kwargs = {key: value for key, value in kwargs.items()
              if not (key == "mask" and value is None)}
    return args, kwargs


def _flatten_leaves(data) -> list:
    """Lists / tuples flattened; a shape tuple ``(None, 3)`` or an array is one leaf."""
    if isinstance(data, (list, tuple)) and not _is_shape(data):
        return [leaf for item in data for leaf in _flatten_leaves(item)]
    if isinstance(data, dict):
        return [leaf for key in dict_keys(data) for leaf in _flatten_leaves(data[key])]
    return [data]


def _is_shape(value) -> bool:
    return isinstance(value, tuple) and all(d is None or isinstance(d, int) for d in value)


def _map_graph(inputs, outputs):
    """The graph between ``inputs`` and ``outputs``, as Keras's ``map_graph`` orders it.

    A node's depth is its distance from the outputs (a shared layer takes the largest depth
    of its calls). Returns ``(nodes, layers, nodes_by_depth)``: the nodes in execution
    order (deepest first, so every node after those it reads from), the layers by depth
    (ties: the order a depth-first walk from the outputs meets them; InputLayers of unused
    inputs last), and ``{depth: [node, ...]}``.
    """
    input_ids = {id(t) for t in inputs}
    post_order, finished, in_progress, first_seen = [], set(), set(), {}

    def node_of(tensor):
        if tensor._keras_history is None:
            raise ValueError(f"{tensor.name} was not made by a layer; keras.Model needs "
                             "tensors from keras.Input and layer calls.")
        layer, node_index, _ = tensor._keras_history
        return layer._inbound_nodes[node_index]

    for output in outputs:
        # Iterative depth-first walk (a deep network would overflow Python's recursion).
        stack = [(output, "the model's outputs", False)]
        while stack:
            tensor, consumer, expanded = stack.pop()
            node = node_of(tensor)
            if expanded:
                in_progress.discard(id(node))
                finished.add(id(node))
                post_order.append(node)
                continue
            if id(node) in finished or id(node) in in_progress:
                continue
            if id(tensor) in input_ids and node.input_tensors:
                continue  # an intermediate tensor given as a model input: the graph starts here
            if not node.input_tensors and id(tensor) not in input_ids:
                raise ValueError(
                    f"Graph disconnected: cannot find parent for tensor {tensor.name} (shape "
                    f"{format_shape(tensor.shape)}) of input layer \"{node.layer.name}\", "
                    f"needed by layer \"{consumer}\". It is not one of the model's inputs "
                    f"{[t.name for t in inputs]}: add it to `inputs`, or build the outputs "
                    "from the given inputs only.")
            first_seen.setdefault(id(node.layer), len(first_seen))
            in_progress.add(id(node))
            stack.append((tensor, consumer, True))
            for parent in reversed(node.input_tensors):
                stack.append((parent, node.layer.name, False))

    in_graph = {id(node) for node in post_order}
    node_depth, layer_depth, layers = {}, {}, {}
    for node in reversed(post_order):
        depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(id(node.layer), 0))
        node_depth[id(node)] = layer_depth[id(node.layer)] = depth
        layers[id(node.layer)] = node.layer
        for parent in node.parent_nodes:
            if id(parent) in in_graph:
                node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))
    for tensor in inputs:  # an input no output depends on still belongs to the model
        layer = tensor._keras_history[0] if tensor._keras_history else None
        if isinstance(layer, InputLayer) and id(layer) not in layers:
            layers[id(layer)] = layer
            layer_depth[id(layer)] = 0
            first_seen[id(layer)] = len(first_seen) + len(inputs)
            node = layer._inbound_nodes[0]
            post_order.append(node)
            node_depth[id(node)] = 0

    position = {id(node): index for index, node in enumerate(post_order)}
    nodes = sorted(post_order, key=lambda n: (-node_depth[id(n)], position[id(n)]))
    ordered_layers = sorted(layers.values(),
                            key=lambda l: (-layer_depth[id(l)], first_seen[id(l)]))
    names = [layer.name for layer in ordered_layers]
    for name in names:
        if names.count(name) > 1:
            raise ValueError(f'The name "{name}" is used {names.count(name)} times in the '
                             "model. All layer names should be unique.")
    nodes_by_depth: dict = {}
    for node in nodes:
        nodes_by_depth.setdefault(node_depth[id(node)], []).append(node)
    return nodes, ordered_layers, nodes_by_depth
