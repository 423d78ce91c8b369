"""VGG-16 (Simonyan & Zisserman, 2014): thirteen 3x3 convolutions in five blocks, each block
ending in 2x2 max pooling, then three dense layers. Keras's ``keras.applications.VGG16``
layer by layer (names ``block1_conv1`` ... ``fc1``, ``fc2``, ``predictions``).

Weights: 14,714,688 in the convolutions; with the top for 224x224x3 and 1000 classes,
138,357,544 (the first dense layer alone has 7x7x512x4096 + 4096 = 102,764,544).
"""
from __future__ import annotations

from neuropil import layers
from neuropil.applications._common import (check_weights, classifier_or_pooling, image_input,
                                           load_weights, obtain_input_shape)
from neuropil.models import Functional

__all__ = ["VGG16"]

# filters of each block's convolutions
_BLOCKS = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))


def VGG16(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None,
          classes=1000, classifier_activation="softmax", name="vgg16"):
    """VGG-16 as Keras builds it.

    Args:
        include_top: end with Flatten, Dense(4096, relu) x 2 and ``predictions``; the input
            must then have a fixed size (default 224x224x3).
        weights: None (random initialization) or the path of a weights file for this
            architecture. ``"imagenet"`` raises: neuropil downloads no pretrained weights.
        input_tensor: optional ``keras.Input`` to build the model on.
        input_shape: (height, width, channels), at least 32x32; default (224, 224, 3) with
            the top, (None, None, 3) without.
        pooling: without the top: None (the last block's 4-D output), "avg" or "max".
        classes: number of classes of the top.
        classifier_activation: of the top; None returns logits.
        name: the model's name.

    Example:
    >>> keras.applications.VGG16(include_top=False, input_shape=(32, 32, 3)).count_params()
    14714688
    """
    check_weights("VGG16", weights, include_top, classes)
    if input_tensor is not None and input_shape is None:
        input_shape = input_tensor.shape[1:]
    input_shape = obtain_input_shape("VGG16", input_shape, default_size=224, min_size=32,
                                     require_flatten=include_top)
    inputs = x = image_input(input_tensor, input_shape)
    for block, widths in enumerate(_BLOCKS, start=1):
        for index, filters in enumerate(widths, start=1):
            x = layers.Conv2D(filters, 3, activation="relu", padding="same",
                              name=f"block{block}_conv{index}")(x)
        x = layers.MaxPooling2D(2, strides=2, name=f"block{block}_pool")(x)
    if include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(4096, activation="relu", name="fc1")(x)
        x = layers.Dense(4096, activation="relu", name="fc2")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = classifier_or_pooling(x, False, pooling, classes, classifier_activation,
                                  pool_name=None)
    return load_weights(Functional(inputs, x, name=name), weights)
