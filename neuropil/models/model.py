"""Model: a Layer that can train (Layer + Trainer).

``keras.Model(inputs, outputs)`` returns a functional model (a graph of layers); subclass
``keras.Model`` and write ``call()`` for a model in plain Python.
"""
from __future__ import annotations

from neuropil.layers.layer import Layer
from neuropil.training.trainer import Trainer

__all__ = ["Model"]


class Model(Trainer, Layer):
    """Groups layers into an object with training and inference features.

    Two ways to build one:

    1. Functional: ``inputs = keras.Input(shape=(784,))``, ``x = layers.Dense(64)(inputs)``,
       ``outputs = layers.Dense(10)(x)``, ``model = keras.Model(inputs, outputs)``.
    2. Subclassing: define layers in ``__init__`` and the forward pass in ``call()``.
    """

    def __new__(cls, *args, **kwargs):
        if cls is Model and (len(args) >= 2 or "inputs" in kwargs or "outputs" in kwargs):
            from neuropil.models.functional import Functional
            return Functional.__new__(Functional)
        return super().__new__(cls)

    def __init__(self, *args, **kwargs):
        if args or "inputs" in kwargs:
            from neuropil.models.functional import Functional
            if not isinstance(self, Functional):
                # A subclass called with inputs and outputs (``CustomModel(inputs,
                # outputs)`` with its own train_step): it becomes a functional model, as in
                # Keras, which puts Functional in place of Model among its bases.
                _inject_functional_model_class(type(self))
            Functional.__init__(self, *args, **kwargs)
            return
        Layer.__init__(self, trainable=kwargs.pop("trainable", True),
                       name=kwargs.pop("name", None), dtype=kwargs.pop("dtype", None), **kwargs)

    @property
    def layers(self) -> list:
        """The layers, in order (a functional model includes its InputLayer, like Keras)."""
        return self._sublayers()

    def get_layer(self, name: str | None = None, index: int | None = None):
        """A layer by ``name`` or by ``index`` in ``layers``."""
        if index is not None and name is not None:
            raise ValueError("Provide only a layer name or a layer index, not both. "
                             f"Received: index={index}, name={name!r}.")
        if index is not None:
            if not -len(self.layers) <= index < len(self.layers):
                raise ValueError(f"Was asked to retrieve layer at index {index} but model "
                                 f"only has {len(self.layers)} layers.")
            return self.layers[index]
        if name is not None:
            for layer in self.layers:
                if layer.name == name:
                    return layer
            raise ValueError(f"No such layer: {name}. Existing layers are: "
                             f"{[layer.name for layer in self.layers]}.")
        raise ValueError("Provide either a layer name or layer index at `get_layer`.")

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None):
        """Prints a table of the layers: name (type), output shape, parameter count, totals."""
        from neuropil.models.summary import print_summary
        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn,
                      show_trainable=show_trainable)

    def get_config(self) -> dict:
        return {"name": self.name, "trainable": self.trainable}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """A functional config rebuilds the graph; any other goes to the constructor."""
        from neuropil.models.functional import Functional
        if all(key in config for key in ("name", "layers", "input_layers", "output_layers")) \
                and cls in (Model, Functional):
            return Functional.from_config(config, custom_objects=custom_objects)
        try:
            return cls(**config)
        except TypeError as error:
            raise TypeError(f"Unable to revive model {cls.__name__} from config {config}: "
                            f"{error}. A subclassed model needs get_config() returning its "
                            "constructor's arguments, or its own from_config().") from error

    # ---- saving: the code lives in neuropil.saving (level 8), imported when used ----------
    def save(self, filepath, overwrite=True, **kwargs):
        """Saves the model (architecture, weights, optimizer state) as a ``.keras`` file.

        Args:
            filepath: path ending in ``.keras``.
            overwrite: replace an existing file (otherwise ask, as Keras does).
        """
        from neuropil.saving import save_model
        return save_model(self, filepath, overwrite=overwrite, **kwargs)

    def save_weights(self, filepath, overwrite=True):
        """Saves all weights (and the optimizer's state) to a ``.weights.h5`` file."""
        from neuropil.saving import save_weights
        return save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath, skip_mismatch=False, **kwargs):
        """Loads weights from a ``.weights.h5`` or ``.keras`` file into this (built) model.

        Args:
            skip_mismatch: skip (with a warning) layers whose weight count or shapes differ,
                instead of raising.
        """
        from neuropil.saving import load_weights
        return load_weights(self, filepath, skip_mismatch=skip_mismatch, **kwargs)

    def to_json(self, **kwargs) -> str:
        """The model's config as a JSON string (``keras.models.model_from_json`` reads it).
        ``kwargs`` go to ``json.dumps``."""
        import json

        from neuropil.saving import serialize_keras_object
        return json.dumps(serialize_keras_object(self), **kwargs)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _inject_functional_model_class(cls):
    """``cls`` with ``Functional`` in place of ``Model`` among its (indirect) bases."""
    from neuropil.models.functional import Functional
    if cls is Model:
        return Functional
    if cls is object or issubclass(cls, Functional):
        return cls
    cls.__bases__ = tuple(_inject_functional_model_class(base) for base in cls.__bases__)
    return cls
