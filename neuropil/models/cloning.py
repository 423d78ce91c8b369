"""``keras.models.clone_model``: the same architecture with new layers (and new weights)."""
from __future__ import annotations

from neuropil.layers.core import InputLayer
from neuropil.models.functional import Functional, functional_from_config
from neuropil.models.sequential import Sequential

__all__ = ["clone_model"]


def _clone_layer(layer):
    return type(layer).from_config(layer.get_config())


def clone_model(model, input_tensors=None, clone_function=None, call_function=None,
                recursive=False, **kwargs):
    """A new model with the same layers' configs, wired the same way; weights are new.

    Args:
        model: a Sequential or functional model (a subclassed model is rebuilt from its
            ``get_config()``).
        clone_function: ``layer -> new layer`` (default: ``from_config(get_config())``);
            e.g. ``lambda layer: layer`` shares a layer instead of copying it.
        input_tensors, call_function, recursive: Keras options neuropil does not support
            yet; passing them raises.

    Example:
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    >>> twin = keras.models.clone_model(model)
    >>> twin.layers[0] is model.layers[0]
    False
    """
    if input_tensors is not None or call_function is not None or recursive or kwargs:
        raise ValueError("clone_model: `input_tensors`, `call_function`, `recursive` and "
                         "other options are not supported by neuropil yet; pass only "
                         "`model` and optionally `clone_function`.")
    clone_function = clone_function or _clone_layer
    if isinstance(model, Sequential):
        stack = [_clone_layer(layer) if isinstance(layer, InputLayer) else clone_function(layer)
                 for layer in model._stack]
        return Sequential(stack, trainable=model.trainable, name=model.name)
    if isinstance(model, Functional):
        def make_layer(layer_data):
            layer = model.get_layer(layer_data["name"])
            return _clone_layer(layer) if isinstance(layer, InputLayer) else clone_function(layer)
        config = model._graph_config(lambda layer: {})
        return functional_from_config(Functional, config, make_layer)
    if clone_function is not _clone_layer:
        raise ValueError("clone_model: `clone_function` needs a Sequential or functional "
                         f"model; received the subclassed model {type(model).__name__}.")
    return type(model).from_config(model.get_config())
