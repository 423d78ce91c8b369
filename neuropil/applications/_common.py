"""What the ImageNet-style builders share, following Keras's ``imagenet_utils``: checking
``weights`` and ``input_shape``, making the input, the classifier top or pooling."""
from __future__ import annotations

import warnings

from neuropil import activations, layers
from neuropil.applications.pretrained import check_weights_argument, load_into
from neuropil.layers.node import KerasTensor

__all__ = ["check_weights", "obtain_input_shape", "image_input", "classifier_or_pooling",
           "load_weights"]


def check_weights(builder: str, weights, include_top: bool, classes: int,
                  safetensors: bool = False) -> None:
    """``None``, a name of weights shipped for ``builder`` or a local file path (see
    pretrained.py); "imagenet" would need a download neuropil cannot do."""
    check_weights_argument(builder, weights, safetensors=safetensors)
    if isinstance(classes, bool) or not isinstance(classes, int) or classes < 1:
        raise ValueError(f"{builder}: `classes` must be a positive integer. Received: "
                         f"classes={classes!r}")


def obtain_input_shape(builder: str, input_shape, default_size: int, min_size: int,
                       require_flatten: bool) -> tuple:
    """Keras's rule (channels last): None gives (default, default, 3) with the top and
    (None, None, 3) without; a given shape needs 3 axes, each side at least ``min_size``."""
    if input_shape is None:
        shape = (default_size, default_size, 3) if require_flatten else (None, None, 3)
    else:
        shape = tuple(input_shape)
        if len(shape) != 3:
            raise ValueError(f"{builder}: `input_shape` must be a tuple of three integers "
                             f"(height, width, channels). Received: input_shape={input_shape}")
        if shape[-1] not in (1, 3):
            warnings.warn(f"{builder}: this model usually expects 1 or 3 input channels. "
                          f"However, it was passed an input_shape with {shape[-1]} input "
                          "channels.", stacklevel=3)
        if any(side is not None and side < min_size for side in shape[:2]):
            raise ValueError(f"{builder}: input size must be at least {min_size}x{min_size}; "
                             f"Received: input_shape={input_shape}")
    if require_flatten and None in shape:
        raise ValueError(f"{builder}: if `include_top` is True, you should specify a static "
                         f"`input_shape`. Received: input_shape={input_shape}")
    return shape


def image_input(input_tensor, input_shape):
    """``input_tensor`` when given (a KerasTensor from keras.Input), else a new Input."""
    if input_tensor is None:
        return layers.Input(shape=input_shape)
    if not isinstance(input_tensor, KerasTensor):
        raise ValueError("`input_tensor` must be a symbolic tensor from keras.Input(...). "
                         f"Received: {input_tensor!r}")
    return input_tensor


def classifier_or_pooling(x, include_top: bool, pooling, classes: int,
                          classifier_activation, pool_name: str | None = "avg_pool"):
    """Global average pooling + the ``predictions`` Dense, or the chosen pooling."""
    if pooling not in (None, "avg", "max"):
        raise ValueError(f"`pooling` must be None, 'avg' or 'max'. Received: pooling={pooling!r}")
    activations.get(classifier_activation)  # an unknown name fails here, before any weight
    if include_top:
        x = layers.GlobalAveragePooling2D(name=pool_name)(x)
        return layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    if pooling == "avg":
        return layers.GlobalAveragePooling2D(name=pool_name)(x)
    if pooling == "max":
        return layers.GlobalMaxPooling2D(name=pool_name and "max_pool")(x)
    return x


def load_weights(model, weights, safetensors_loader=None):
    return load_into(model, weights, safetensors_loader)
