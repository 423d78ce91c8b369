"""Sequential: a plain stack of layers, each feeding the next."""
from __future__ import annotations

from neuropil.layers.core import InputLayer
from neuropil.layers.layer import Layer
from neuropil.layers.node import KerasTensor
from neuropil.models.functional import Functional
from neuropil.models.model import Model

__all__ = ["Sequential"]


class Sequential(Model):
    """A model that is a linear stack of layers.

    Give the input shape with ``keras.Input`` as the first entry (or ``input_shape=`` on the
    first layer) and the model is built at once; otherwise it is built on its first call.

    Example:
    >>> import neuropil as keras
    >>> model = keras.Sequential([
    ...     keras.Input(shape=(7,)),
    ...     keras.layers.Dense(4, activation="relu"),
    ...     keras.layers.Dense(3, activation="relu"),
    ...     keras.layers.Dense(1, activation="sigmoid"),
    ... ])
    >>> model.count_params()  # 32 + 15 + 4, the lecture's 7-4-3-1 network
    51
    """

    def __init__(self, layers=None, trainable=True, name=None):
        super().__init__(trainable=trainable, name=name)
        self._stack: list = []
        self._functional = None
        for layer in layers or []:
            self.add(layer, rebuild=False)
        self._maybe_rebuild()

    def add(self, layer, rebuild: bool = True) -> None:
        """Appends a layer (or a ``keras.Input`` tensor as the first entry)."""
        if isinstance(layer, KerasTensor):
            layer = layer._keras_history[0]
        if not isinstance(layer, Layer):
            raise ValueError("Only instances of `keras.Layer` can be added to a Sequential "
                             f"model. Received: {layer!r} (of type {type(layer).__name__})")
        if isinstance(layer, InputLayer) and self._stack:
            raise ValueError(f"Sequential model '{self.name}': an InputLayer can only be the "
                             "first layer.")
        if not self._stack and not isinstance(layer, InputLayer) and \
                layer._batch_input_shape is not None:
            self._stack.append(InputLayer(batch_shape=layer._batch_input_shape,
                                          dtype=layer.dtype))
        names = {existing.name for existing in self._stack}
        if layer.name in names:
            raise ValueError(f"All layers added to a Sequential model should have unique "
                             f"names. Name '{layer.name}' is already the name of a layer in "
                             "this model. Update the `name` argument to pass a unique name.")
        self._stack.append(layer)
        if rebuild:
            self._maybe_rebuild()

    def pop(self, rebuild: bool = True):
        """Removes and returns the last layer."""
        if not self.layers:
            raise TypeError("There are no layers in the model.")
        layer = self._stack.pop()
        self._functional, self.built = None, False
        if rebuild:
            self._maybe_rebuild()
        return layer

    def _maybe_rebuild(self) -> None:
        if self._stack and isinstance(self._stack[0], InputLayer) and len(self._stack) > 1:
            self.build(self._stack[0].batch_shape)

    def build(self, input_shape=None) -> None:
        """Builds every layer by running the stack on a symbolic input of ``input_shape``."""
        if not self.layers:
            raise ValueError(f"Sequential model {self.name} cannot be built because it has no "
                             "layers. Call `model.add(layer)`.")
        input_shape = tuple(input_shape)
        if isinstance(self._stack[0], InputLayer):
            if tuple(self._stack[0].batch_shape[1:]) != input_shape[1:]:
                raise ValueError(f"Sequential model '{self.name}' has already been configured "
                                 f"to use input shape {self._stack[0].batch_shape}. You cannot "
                                 f"build it with input_shape {input_shape}")
        else:
            self._stack.insert(0, InputLayer(batch_shape=(None,) + input_shape[1:],
                                             dtype=self._stack[0].dtype))
        x = inputs = self._stack[0].output
        for layer in self._stack[1:]:
            x = layer(x)
        self._functional = Functional(inputs, x, name=f"{self.name}_graph")
        self.input_spec = self._functional.input_spec
        self.built = True

    @property
    def layers(self) -> list:
        return [layer for layer in self._stack if not isinstance(layer, InputLayer)]

    def _sublayers(self) -> list:
        return self.layers

    def _expected_input_shapes(self):
        return self._functional._expected_input_shapes() if self._functional else None

    def call(self, inputs, training=None):
        if self._functional is not None:
            return self._functional.call(inputs, training=training)
        for layer in self.layers:
            inputs = layer(inputs)
        return inputs

    def compute_output_shape(self, input_shape):
        if self._functional is None:
            self.build(input_shape)
        return self._functional.compute_output_shape(input_shape)

    @property
    def input(self):
        return self._functional.input if self._functional else super().input

    @property
    def output(self):
        return self._functional.output if self._functional else super().output

    @property
    def inputs(self):
        return self._functional.inputs if self._functional else None

    @property
    def outputs(self):
        return self._functional.outputs if self._functional else None

    def get_config(self) -> dict:
        """``name``, ``trainable``, ``dtype``, ``layers`` (the InputLayer first, when there is
        one) and ``build_input_shape``, as Keras 3 writes them."""
        # NOTE: the registry (level 8) names each layer's class; imported here so that
        # importing models never loads saving.
        from neuropil.saving.registry import serialize_keras_object
        config = {**Layer.get_config(self),
                  "layers": [serialize_keras_object(layer) for layer in self._stack]}
        config.pop("batch_input_shape", None)
        if self._functional is not None:
            config["build_input_shape"] = list(self._stack[0].batch_shape)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Rebuilds the stack layer by layer (built at once when the input shape is known)."""
        from neuropil.saving.registry import deserialize_keras_object  # NOTE: as above
        if "layers" not in config:
            raise ValueError("A Sequential model configuration must be a dictionary "
                             f"containing the 'name' and 'layers' keys. Received: {config}")
        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        for layer_config in config["layers"]:
            model.add(deserialize_keras_object(layer_config, custom_objects), rebuild=False)
        model._maybe_rebuild()
        shape = config.get("build_input_shape")
        if model._functional is None and isinstance(shape, (list, tuple)):
            model.build(tuple(shape))
        return model

    def get_build_config(self):
        if self._functional is None:
            return None
        return {"input_shape": list(self._stack[0].batch_shape)}
