"""The Layer base class: ``__call__`` -> ``build`` once -> ``call``.

A layer owns its weights (``add_weight`` in ``build``), computes with ops in ``call``, and
describes itself in ``get_config``. Called on real data it computes; called on a symbolic
``KerasTensor`` it only infers the output shape and records a graph ``Node``.
"""
from __future__ import annotations

import functools
import inspect
import weakref

import numpy as np

from neuropil import backend, constraints, initializers, regularizers
from neuropil._naming import to_snake_case, unique_name
from neuropil.backend import threads
from neuropil.autodiff import Tensor, Variable, no_grad
from neuropil.layers.input_spec import assert_input_compatibility, format_shape
from neuropil.layers.node import (KerasTensor, Node, flatten_structure, is_symbolic,
                                  map_structure)

__all__ = ["Layer"]

# The training flag of the outermost call, inherited by layers called inside it (Keras's
# call context): ``model(x, training=True)`` reaches the Dropout inside without each
# call() having to forward it. Ops never read it; layers pass it to them explicitly.
_training_context: list = []
# The layer whose eager call is under way at the outermost level (empty between calls).
_call_entry: list = []
# Layers holding losses (add_loss, activity regularizers) from an earlier call. As in Keras,
# an outermost call first clears the losses of the layers in its tree, so that `losses`
# holds the current call's only; listing the holders keeps that free when there are none.
_loss_holders = weakref.WeakSet()


class Layer:
    _in_call = False  # True while this layer's own call() runs (no weights may be made then)
    """Base class of all layers.

    Args:
        trainable: whether the layer's weights are updated by training.
        name: unique name; made from the class name when omitted (``dense``, ``dense_1``).
        dtype: the layer's compute and weight dtype (default ``floatx()``, float32).
        activity_regularizer: optional penalty on the layer's output, added to the loss.
        input_shape / input_dim / batch_size: only for the first layer of a ``Sequential``.

    Subclasses implement ``build(input_shape)`` (create weights with ``add_weight``),
    ``call(inputs, training=None)`` (compute with ops), ``compute_output_shape`` (optional:
    by default it is found by running ``call`` on a zero batch) and ``get_config``.
    """

    def __init_subclass__(cls, **kwargs):
        # Like Keras: a subclass's own build() marks the layer built when it returns, so
        # `layer.build(shape)` called by hand is never repeated (which would re-draw weights).
        super().__init_subclass__(**kwargs)
        build = cls.__dict__.get("build")
        if build is not None and not getattr(build, "_marks_built", False):
            @functools.wraps(build)
            def build_then_mark(self, *args, **kw):
                result = build(self, *args, **kw)
                self.built = True
                self._build_shapes = args[0] if args else kw.get("input_shape")
                return result
            build_then_mark._marks_built = True
            cls.build = build_then_mark

    def __init__(self, *, activity_regularizer=None, trainable: bool = True, dtype=None,
                 autocast: bool = True, name: str | None = None, **kwargs):
        input_shape = kwargs.pop("input_shape", None)
        input_dim = kwargs.pop("input_dim", None)
        batch_input_shape = kwargs.pop("batch_input_shape", kwargs.pop("batch_shape", None))
        batch_size = kwargs.pop("batch_size", None)
        if kwargs:
            raise TypeError(f"Unrecognized keyword arguments passed to {type(self).__name__}: "
                            f"{kwargs}")
        if input_dim is not None and input_shape is None:
            input_shape = (input_dim,)
        if batch_input_shape is not None:
            self._batch_input_shape = tuple(batch_input_shape)
        elif input_shape is not None:
            shape = (input_shape,) if isinstance(input_shape, int) else tuple(input_shape)
            self._batch_input_shape = (batch_size,) + shape
        else:
            self._batch_input_shape = None
        if isinstance(dtype, dict):  # Keras's serialized DTypePolicy
            dtype = dtype.get("config", {}).get("name")
        self._dtype = backend.standardize_dtype(dtype)
        self.name = name or unique_name(to_snake_case(type(self).__name__))
        self._trainable = bool(trainable)
        self.autocast = autocast
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.built = False
        self.input_spec = None
        self.supports_masking = False
        self._own_weights: list = []
        self._inbound_nodes: list = []
        self._activity_losses: list = []
        self._added_losses: list = []

    # ---- the four methods subclasses write ---------------------------------------
    def build(self, input_shape) -> None:
        """Creates the weights, knowing the input shape. The base version creates none."""
        self.built = True

    def call(self, inputs, *args, **kwargs):
        """The computation, written with ops. The base layer is the identity."""
        return inputs

    def compute_output_shape(self, input_shape):
        """The output shape for an input shape; by default found by a zero-batch trial run."""
        def concrete(shape):
            return np.zeros(tuple(1 if d is None else d for d in shape), self.compute_dtype)
        with no_grad():
            out = self.call(map_structure(concrete, input_shape, is_leaf=_is_shape),
                            **self._call_kwargs(False, {}))
        batch = _batch_of(input_shape)
        return map_structure(lambda t: (batch,) + tuple(t.shape[1:]), out)

    def get_config(self) -> dict:
        """The constructor arguments, so that ``type(layer).from_config(config)`` rebuilds it."""
        config = {"name": self.name, "trainable": self.trainable,
                  "dtype": {"module": "keras", "class_name": "DTypePolicy",
                            "config": {"name": self._dtype}, "registered_name": None}}
        if self._batch_input_shape is not None:
            config["batch_input_shape"] = list(self._batch_input_shape)
        return config

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def get_build_config(self) -> dict | None:
        """``{"input_shape": ...}``: what ``build`` was given, so a loaded layer can create
        its weights before they are read (Keras's ``build_config``)."""
        shapes = getattr(self, "_build_shapes", None)
        if shapes is None:
            return None
        return {"input_shape": map_structure(list, shapes, is_leaf=_is_shape)}

    def build_from_config(self, config: dict) -> None:
        shape = config.get("input_shape")
        if shape is None:
            return
        shape = _as_shape(shape)
        if type(self).build is not Layer.build or not self._sublayers():
            self.build(shape)
        else:
            # Made of layers, without a build() of its own (a subclassed model): the
            # sublayers are built by calling it once, on zeros.
            def zeros(s):
                return np.zeros(tuple(1 if d is None else d for d in s), self.compute_dtype)
            with no_grad():
                self(map_structure(zeros, shape, is_leaf=_is_shape), training=False)
        self._build_shapes = shape

    # ---- calling -------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        if is_symbolic(args) or kwargs and is_symbolic(kwargs):
            return self._symbolic_call(*args, **kwargs)
        inputs = self._convert_inputs(args[0])
        # One tensor (the common case): its shape, without walking a structure.
        shapes = inputs.shape if isinstance(inputs, Tensor) else \
            map_structure(_shape_of, inputs)
        self._prepare(shapes)
        training = kwargs.pop("training", None)
        outermost = not _training_context
        if outermost:
            if _loss_holders:
                _clear_stale_losses(self)
            _call_entry.append(self)
        elif training is None:
            training = _training_context[-1]
        _training_context.append(training)
        try:
            # NOTE: object.__setattr__ skips Layer.__setattr__'s Variable tracking (a flag is
            # not a weight), which would otherwise run twice per layer call.
            object.__setattr__(self, "_in_call", True)
            kwargs = self._call_kwargs(training, kwargs)
            if outermost:  # a whole forward pass: see backend/threads.py, who owns the cores
                with threads.region():
                    outputs = self.call(inputs, *args[1:], **kwargs)
            else:
                outputs = self.call(inputs, *args[1:], **kwargs)
        finally:
            object.__setattr__(self, "_in_call", False)
            _training_context.pop()
            if outermost:
                _call_entry.pop()
        if self.activity_regularizer is not None:
            # Appended, not replaced: a layer called twice in one pass is penalized twice.
            self._activity_losses += [self.activity_regularizer(o) / o.shape[0]
                                      for o in flatten_structure(outputs)]
            _hold_losses(self)
        return outputs

    def _symbolic_call(self, *args, **kwargs):
        inputs, extra = args[0], args[1:]
        shapes = map_structure(lambda t: t.shape, inputs)
        try:
            self._prepare(shapes)
            if extra or is_symbolic(kwargs):
                # Several tensor arguments (``layer(targets, logits)``): built from the first
                # one's shape, as Keras does, and the output found by a trial run.
                out_shapes = self._trial_output_shapes(inputs, extra, kwargs)
            else:
                out_shapes = self.compute_output_shape(shapes)
        except ValueError as error:
            # At graph construction, say which layers made the offending inputs.
            raise ValueError(f"{error}\n{_describe_call(self, inputs)}") from error
        outputs = map_structure(lambda s: KerasTensor(s, dtype=self.compute_dtype), out_shapes,
                                is_leaf=_is_shape)
        node = Node(self, inputs, dict(kwargs), outputs, extra_args=extra)
        self._inbound_nodes.append(node)
        for index, tensor in enumerate(node.output_tensors):
            tensor._keras_history = (self, len(self._inbound_nodes) - 1, index)
        return outputs

    def _trial_output_shapes(self, inputs, extra, kwargs):
        """Output shapes of a call with several tensor arguments, from a run on zeros."""
        def concrete(x):
            if not isinstance(x, KerasTensor):
                return x
            return Tensor(np.zeros(tuple(1 if d is None else d for d in x.shape), x.dtype))
        batch = _batch_of(map_structure(lambda t: t.shape, inputs))
        with no_grad():
            out = self.call(map_structure(concrete, inputs),
                            *map_structure(concrete, tuple(extra)),
                            **self._call_kwargs(False, map_structure(concrete, dict(kwargs))))
        return map_structure(lambda t: (batch,) + tuple(t.shape[1:]), out)

    def _prepare(self, shapes) -> None:
        """Checks the input against the spec, building the layer on its first call."""
        if self.input_spec is not None:  # (no spec, nothing to check: skip the shape list)
            assert_input_compatibility(self.input_spec, _as_shape_list(shapes), self.name)
        if not self.built:
            self._build_shapes = shapes
            self.build(shapes)
            self.built = True
            assert_input_compatibility(self.input_spec, _as_shape_list(shapes), self.name)

    def _convert_inputs(self, inputs):
        if isinstance(inputs, Tensor):  # one tensor (the common case): no structure to walk
            return self._convert_input(inputs)
        return map_structure(self._convert_input, inputs)

    def _convert_input(self, x):
        if isinstance(x, Tensor):
            if self.autocast and x.dtype.kind == "f" and x.dtype != self._dtype:
                return Tensor(x.data.astype(self._dtype)) if not x.requires_grad else x
            return x
        if x is None:
            return x
        array = np.asarray(x)
        if array.dtype.kind in "fiub" and self.autocast and array.dtype != self._dtype:
            array = array.astype(self._dtype)
        return Tensor(array)

    def _call_kwargs(self, training, kwargs: dict) -> dict:
        """``kwargs`` (the caller's own dict, changed in place: no copy per layer call) with
        ``training`` added when ``call()`` takes it."""
        if _accepts(type(self), "training"):
            kwargs["training"] = training
        return kwargs

    # ---- weights -------------------------------------------------------------------
    def __setattr__(self, name, value):
        # A Variable held in an attribute (``self.v = keras.Variable(...)``) is one of the
        # layer's weights, as in Keras: trained, counted and saved like an add_weight one.
        if isinstance(value, Variable) and "_own_weights" in self.__dict__ and \
                not any(value is weight for weight in self._own_weights):
            self._own_weights.append(value)
        super().__setattr__(name, value)

    def save_own_variables(self, store) -> None:
        """Puts this layer's variables into ``store`` (a dict), under "0", "1", ...: the
        trainable ones first, as Keras. Override it (with ``load_own_variables``) to take
        control of what ``model.save()`` and ``save_weights()`` write for the layer."""
        for index, variable in enumerate(self._ordered_own_variables()):
            store[str(index)] = variable.numpy()

    def load_own_variables(self, store) -> None:
        """Assigns the variables from ``store`` (what ``save_own_variables`` wrote)."""
        variables = self._ordered_own_variables()
        if len(store.keys()) != len(variables):
            raise ValueError(f"Layer '{self.name}' expected {len(variables)} variables, but "
                             f"received {len(store.keys())} variables during loading. "
                             f"Expected: {[v.name for v in variables]}")
        for index, variable in enumerate(variables):
            variable.assign(np.asarray(store[str(index)]))

    def _ordered_own_variables(self) -> list:
        own = self._own_weights
        return [v for v in own if v.intrinsic_trainable] + \
            [v for v in own if not v.intrinsic_trainable]

    def add_weight(self, shape=None, initializer=None, dtype=None, trainable: bool = True,
                   autocast: bool = True, regularizer=None, constraint=None,
                   aggregation: str = "none", name: str | None = None) -> Variable:
        """Creates a weight owned by this layer (call it in ``build``).

        Args:
            shape: the weight's shape (default ``()``).
            initializer: name or object (default ``"glorot_uniform"``, ``"zeros"`` for ints).
            trainable: whether gradients update it.
            regularizer: optional penalty added to ``layer.losses``.
            constraint: optional projection the optimizer applies after each update
                (a ``keras.constraints`` object, name or callable; ``variable.constraint``).
            name: its name; the path is ``layer_name/name``.
        """
        if self._in_call:
            raise ValueError(
                f'Layer "{self.name}" ({type(self).__name__}) tried to create a weight '
                f"{name or ''!s} in call(): a new weight would be made at every call. As in "
                "Keras, create weights in build(self, input_shape) (or __init__) with "
                "self.add_weight(...), and only use them in call().")
        dtype = backend.standardize_dtype(dtype or self._dtype)
        if initializer is None:
            initializer = "glorot_uniform" if np.dtype(dtype).kind == "f" else "zeros"
        name = name or f"variable_{len(self._own_weights)}"
        variable = Variable(initializers.get(initializer), shape=tuple(shape or ()), dtype=dtype,
                            trainable=trainable and self._trainable, name=name,
                            regularizer=regularizers.get(regularizer),
                            constraint=constraints.get(constraint))
        variable.intrinsic_trainable = bool(trainable)
        variable.path = f"{self.name}/{name}"
        self._own_weights.append(variable)
        return variable

    @property
    def weights(self) -> list:
        """All weights, trainable first (Keras's order), then non-trainable."""
        return self.trainable_weights + self.non_trainable_weights

    @property
    def trainable_weights(self) -> list:
        if not self.trainable:
            return []
        own = [v for v in self._own_weights if v.intrinsic_trainable]
        return _unique(own + [w for layer in self._sublayers() for w in layer.trainable_weights])

    @property
    def non_trainable_weights(self) -> list:
        every = _unique(self._own_weights + [w for layer in self._sublayers()
                                             for w in layer.weights])
        trainable = {id(v) for v in self.trainable_weights}
        return [v for v in every if id(v) not in trainable]

    @property
    def trainable_variables(self) -> list:
        return self.trainable_weights

    @property
    def non_trainable_variables(self) -> list:
        return self.non_trainable_weights

    @property
    def variables(self) -> list:
        return self.weights

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        value = bool(value)
        self._trainable = value
        for variable in self._own_weights:
            variable.requires_grad = value and variable.intrinsic_trainable
        for layer in self._sublayers():
            layer.trainable = value

    def get_weights(self) -> list:
        """The weights' values as a list of NumPy arrays (copies), in ``weights`` order."""
        return [np.array(v.data) for v in self.weights]

    def set_weights(self, weights) -> None:
        """Sets the weights from a list of arrays shaped like ``get_weights()``'s."""
        own = self.weights
        if len(weights) != len(own):
            raise ValueError(f'Layer "{self.name}" expects {len(own)} weight arrays, but '
                             f"received {len(weights)}. Provided weights: "
                             f"{[np.shape(w) for w in weights]}")
        for variable, value in zip(own, weights):
            if np.shape(value) != variable.shape:
                raise ValueError(f'Layer "{self.name}" weight "{variable.name}" has shape '
                                 f"{format_shape(variable.shape)}; received a value of shape "
                                 f"{format_shape(np.shape(value))}.")
        for variable, value in zip(own, weights):
            variable.assign(value)

    def count_params(self) -> int:
        """The number of scalars in the layer's weights."""
        if not self.built:
            raise ValueError(f"You tried to call `count_params` on layer '{self.name}', but "
                             "the layer isn't built. You can build it manually via: "
                             "`layer.build(input_shape)`.")
        return int(sum(v.size for v in self.weights))

    # ---- losses from regularization --------------------------------------------------
    @property
    def losses(self) -> list:
        """Penalties to add to the loss: weight regularizers, activity regularizers, add_loss."""
        own = [v.regularizer(v) for v in self._own_weights if v.regularizer is not None]
        own += self._activity_losses + self._added_losses
        return own + [loss for layer in self._sublayers() for loss in layer.losses]

    def add_loss(self, loss) -> None:
        """Adds a loss (a scalar tensor) to ``layer.losses``; call it inside ``call()``.
        Losses are kept until the next outermost call of a layer above this one."""
        self._added_losses.append(loss)
        _hold_losses(self)

    # ---- graph ---------------------------------------------------------------------
    @property
    def input(self):
        return self._node_attribute("call_args", "input")

    @property
    def output(self):
        return self._node_attribute("outputs", "output")

    @property
    def input_shape(self):
        return map_structure(lambda t: t.shape, self.input)

    @property
    def output_shape(self):
        return map_structure(lambda t: t.shape, self.output)

    def _node_attribute(self, attribute: str, what: str):
        if not self._inbound_nodes:
            raise AttributeError(f'The layer "{self.name}" has never been called on a symbolic '
                                 f"tensor and thus has no defined {what}. Build the model "
                                 "with keras.Input (or call it once) first.")
        return getattr(self._inbound_nodes[0], attribute)

    # ---- housekeeping ----------------------------------------------------------------
    @property
    def dtype(self) -> str:
        return self._dtype

    @property
    def compute_dtype(self) -> str:
        return self._dtype

    @property
    def variable_dtype(self) -> str:
        return self._dtype

    def _sublayers(self) -> list:
        """Layers held in attributes (directly or in lists, tuples, dicts), in order."""
        found = []
        for key, value in vars(self).items():
            if key.startswith("_inbound") or key == "_training_layers":
                continue
            for item in flatten_structure(value) if isinstance(value, (list, tuple, dict)) \
                    else [value]:
                if isinstance(item, Layer) and item is not self and item not in found:
                    found.append(item)
        return found

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _hold_losses(layer) -> None:
    layer._loss_entry = id(_call_entry[0]) if _call_entry else id(layer)
    _loss_holders.add(layer)


def _clear_stale_losses(entry) -> None:
    """Clears the losses of the holders in ``entry``'s tree (Keras's ``_clear_losses``).
    Holders recorded during ``entry``'s own calls are cleared without walking the tree."""
    holders = list(_loss_holders)
    tree = None
    if any(holder._loss_entry != id(entry) for holder in holders):
        tree, stack = set(), [entry]
        while stack:
            layer = stack.pop()
            if id(layer) not in tree:
                tree.add(id(layer))
                stack.extend(layer._sublayers())
    for holder in holders:
        if holder._loss_entry == id(entry) or id(holder) in tree:
            holder._added_losses, holder._activity_losses = [], []
            _loss_holders.discard(holder)


def _describe_call(layer, inputs) -> str:
    parts = []
    for tensor in flatten_structure(inputs):
        if not isinstance(tensor, KerasTensor):
            continue
        history = tensor._keras_history
        source = f' from layer "{history[0].name}"' if history is not None else ""
        parts.append(f"a tensor of shape {format_shape(tensor.shape)}{source}")
    return (f'Layer "{layer.name}" ({type(layer).__name__}) was called on '
            f"{', '.join(parts) or 'no symbolic tensor'}.")


def _accepts(cls, argument: str) -> bool:
    cache = cls.__dict__.get("_accepts_cache")
    if cache is None:
        cache = {}
        setattr(cls, "_accepts_cache", cache)
    if argument not in cache:
        # Only a parameter of that name counts, as in Keras: a call(self, inputs, *args,
        # **kwargs) forwarding to a parent's call() must not receive an unexpected
        # `training` (the layers inside still see it, from the enclosing call).
        cache[argument] = argument in inspect.signature(cls.call).parameters
    return cache[argument]


def _shape_of(tensor) -> tuple:
    return tensor.shape


def _is_shape(x) -> bool:
    if not isinstance(x, tuple):
        return False
    for d in x:  # (a loop, not all(...): every layer call asks, and a generator costs more)
        if d is not None and not isinstance(d, (int, np.integer)):
            return False
    return True


def _as_shape(shape):
    """JSON's nested lists -> a shape tuple (or a list of shape tuples)."""
    if all(d is None or isinstance(d, int) for d in shape):
        return tuple(shape)
    return [_as_shape(s) for s in shape]


def _as_shape_list(shapes) -> list:
    return [shapes] if _is_shape(shapes) else [s for s in flatten_structure_shapes(shapes)]


def flatten_structure_shapes(shapes) -> list:
    if _is_shape(shapes):
        return [shapes]
    if isinstance(shapes, dict):
        shapes = list(shapes.values())
    return [s for item in shapes for s in flatten_structure_shapes(item)]


def _batch_of(shapes):
    return flatten_structure_shapes(shapes)[0][0]


def _unique(items: list) -> list:
    seen, out = set(), []
    for item in items:
        if id(item) not in seen:
            seen.add(id(item))
            out.append(item)
    return out
