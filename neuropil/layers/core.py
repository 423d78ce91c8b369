"""Core layers: Dense (the artificial neuron, many at once), Activation, InputLayer."""
from __future__ import annotations

from neuropil import activations, constraints, initializers, ops, regularizers
from neuropil.layers.input_spec import InputSpec, format_shape
from neuropil.layers.layer import Layer
from neuropil.layers.node import KerasTensor, Node

__all__ = ["Dense", "Activation", "InputLayer", "Input", "Identity"]


def _positive_int(layer: str, name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{layer}: received an invalid value for `{name}`, expected a "
                         f"positive integer. Received: {name}={value!r}")
    return value


class Dense(Layer):
    """A layer of ``units`` neurons, each connected to every input: ``g(x · W + b)``.

    Each neuron computes the linear part z = w·x + b of its inputs, then the activation g(z).
    The layer has (inputs + 1) × units weights: one per input and one bias per neuron.

    Args:
        units: number of neurons (the output size).
        activation: name or function applied to z (default: none, i.e. linear).
        use_bias: whether each neuron has a bias b.
        kernel_initializer: how W starts (default ``"glorot_uniform"``).
        bias_initializer: how b starts (default ``"zeros"``).
        kernel_regularizer, bias_regularizer, activity_regularizer: optional penalties.
        kernel_constraint, bias_constraint: optional ``keras.constraints`` applied to W and
            b after each optimizer step (e.g. ``MaxNorm(3)``).

    Input shape: (batch, ..., input_dim). Output shape: (batch, ..., units).

    Example:
    >>> import neuropil as keras
    >>> layer = keras.layers.Dense(4, activation="relu")
    >>> layer(np.ones((2, 7))).shape
    (2, 4)
    >>> layer.count_params()  # (7 inputs + 1 bias) x 4 neurons
    32
    """

    def __init__(self, units, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, lora_rank=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.units = _positive_int("Dense", "units", units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.lora_rank = lora_rank
        self.input_spec = InputSpec(min_ndim=2)

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f'Layer "{self.name}": the last axis of the input must be known '
                             f"to build a Dense layer. Received input shape "
                             f"{format_shape(input_shape)}")
        self.kernel = self.add_weight(shape=(input_dim, self.units), name="kernel",
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.bias = self.add_weight(shape=(self.units,), name="bias",
                                    initializer=self.bias_initializer,
                                    regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint) if self.use_bias else None
        self.input_spec = InputSpec(min_ndim=2, axes={-1: input_dim})

    def call(self, inputs):
        if self.activation is activations.relu:  # the common case, fused into one op
            return ops.dense(inputs, self.kernel, self.bias, activation="relu")
        return self.activation(ops.dense(inputs, self.kernel, self.bias))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": _serialize_or_none(self.kernel_regularizer),
                "bias_regularizer": _serialize_or_none(self.bias_regularizer),
                "activity_regularizer": _serialize_or_none(self.activity_regularizer),
                "kernel_constraint": constraints.serialize(self.kernel_constraint),
                "bias_constraint": constraints.serialize(self.bias_constraint)}


def _serialize_or_none(regularizer):
    return None if regularizer is None else regularizers.serialize(regularizer)


class Activation(Layer):
    """Applies an activation function: ``Activation("relu")``.

    Input shape: any. Output shape: the same.
    """

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, inputs):
        return self.activation(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


class Identity(Layer):
    """Returns its input unchanged (a placeholder in architectures)."""

    def compute_output_shape(self, input_shape):
        return input_shape


class InputLayer(Layer):
    """The entry point of a model: holds the symbolic input tensor that ``keras.Input`` returns.

    Args:
        shape: the shape of one sample, without the batch axis, e.g. ``(784,)``.
        batch_size: optional fixed batch size.
        dtype: the input dtype (default ``floatx()``).
        batch_shape: the full shape including the batch axis (instead of ``shape``).
    """

    def __init__(self, shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None,
                 input_tensor=None, optional=False, name=None, **kwargs):
        kwargs.pop("input_shape", None) if shape is not None else None
        if shape is None and "input_shape" in kwargs:
            shape = kwargs.pop("input_shape")
        batch_shape = kwargs.pop("batch_input_shape", batch_shape)
        super().__init__(name=name, dtype=dtype, **kwargs)
        if shape is not None and batch_shape is not None:
            raise ValueError("InputLayer: pass either `shape` or `batch_shape`, not both.")
        if batch_shape is None:
            if shape is None:
                raise ValueError("InputLayer (keras.Input) needs a `shape`, e.g. "
                                 "keras.Input(shape=(784,)).")
            shape = (shape,) if isinstance(shape, int) else tuple(shape)
            batch_shape = (batch_size,) + shape
        for size in batch_shape:
            if size is not None and (not isinstance(size, int) or size <= 0):
                raise ValueError(f"InputLayer: every dimension of the shape must be a positive "
                                 f"integer or None. Received: batch_shape={batch_shape}")
        self.batch_shape = tuple(batch_shape)
        self.sparse, self.optional = bool(sparse), optional
        self.built = True
        tensor = KerasTensor(self.batch_shape, dtype=self._dtype, name=self.name)
        node = Node(self, [], {}, tensor)
        self._inbound_nodes.append(node)
        tensor._keras_history = (self, 0, 0)

    def call(self, inputs):
        return inputs

    @property
    def output(self):
        return self._inbound_nodes[0].outputs

    def get_config(self):
        return {"batch_shape": list(self.batch_shape), "dtype": self._dtype,
                "sparse": self.sparse, "name": self.name}


def Input(shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, name=None,
          tensor=None, optional=False):
    """A symbolic input for building a model: ``x = keras.Input(shape=(784,))``.

    Args:
        shape: the shape of one sample, not counting the batch axis.
        batch_size: optional fixed batch size.
        dtype: the input dtype (default ``floatx()``).
        batch_shape: the full shape with the batch axis, instead of ``shape``.
        name: optional name of the input.

    Returns:
        A ``KerasTensor`` of shape ``(batch_size, *shape)``.
    """
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, sparse=sparse,
                       batch_shape=batch_shape, input_tensor=tensor, optional=optional,
                       name=name)
    return layer.output
