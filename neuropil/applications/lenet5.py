"""LeNet-5 (LeCun et al., 1998), the convolutional network the course builds.

conv 5×5 ×6 -> pool 2×2 -> conv 5×5 ×16 -> pool 2×2 -> dense 120 -> dense 84 -> classes,
with ReLU and max pooling as the course builds it in Keras (tanh and average pooling, the
1998 choices, are arguments).
The original takes 32×32 images; for MNIST's 28×28 the first convolution pads 'same', which
gives the same 28×28×6 feature maps as the original's 'valid' convolution of a 32×32 image.
"""
from __future__ import annotations

from neuropil import layers
from neuropil.applications.pretrained import (SHIPPED, check_shipped_fits,
                                              check_weights_argument, load_into)
from neuropil.models import Sequential

__all__ = ["LeNet5"]


def LeNet5(input_shape=(28, 28, 1), classes=10, activation="relu", pooling="max",
           classifier_activation="softmax", include_top=True, weights=None, name="lenet5"):
    """Builds LeNet-5 as a Sequential model (61,706 weights for 28×28×1 input, 10 classes).

    Args:
        input_shape: (height, width, channels); at least 28×28 ((32, 32, 1) is the original).
        classes: number of output classes.
        activation: of the convolution and hidden dense layers: ``"relu"`` as the course
            builds it (``"tanh"`` for the 1998 original).
        pooling: ``"max"`` as the course builds it (``"average"`` for the original's
            subsampling).
        classifier_activation: of the output layer; ``None`` returns logits.
        include_top: whether to add the three dense layers (otherwise the model ends with
            the flattened 5×5×16 features).
        weights: ``None`` (random initialization), ``"mnist_0to4"`` (the convolutional
            base shipped with neuropil, trained on MNIST digits 0-4: needs
            ``include_top=False`` and ``input_shape=(28, 28, 1)``), or the path of a
            ``.weights.h5`` / ``.keras`` file saved from this architecture.
        name: the model's name.

    Returns:
        A built ``keras.Sequential`` model (the input shape is known).

    Example:
    >>> model = keras.applications.LeNet5()
    >>> model.count_params()
    61706
    >>> base = keras.applications.LeNet5(include_top=False, weights="mnist_0to4")
    >>> base.output_shape
    (None, 400)
    """
    if pooling not in ("average", "max"):
        raise ValueError(f"LeNet5: `pooling` must be 'average' or 'max'. "
                         f"Received: pooling={pooling!r}")
    input_shape = tuple(input_shape)
    if len(input_shape) != 3:
        raise ValueError(f"LeNet5: `input_shape` must be (height, width, channels). "
                         f"Received: input_shape={input_shape}")
    height, width = input_shape[:2]
    if height is not None and width is not None and min(height, width) < 28:
        raise ValueError(f"LeNet5: the input must be at least 28×28. Received: "
                         f"input_shape={input_shape}")
    check_weights_argument("LeNet5", weights)
    if weights in SHIPPED:
        check_shipped_fits("LeNet5", weights, include_top, input_shape,
                           activation=activation, pooling=pooling)
    pool = layers.AveragePooling2D if pooling == "average" else layers.MaxPooling2D
    first_padding = "same" if (height, width) == (28, 28) else "valid"
    stack = [
        layers.Input(shape=input_shape),
        layers.Conv2D(6, 5, padding=first_padding, activation=activation, name="conv1"),
        pool(2, name="pool1"),
        layers.Conv2D(16, 5, activation=activation, name="conv2"),
        pool(2, name="pool2"),
        layers.Flatten(name="flatten"),
    ]
    if include_top:
        stack += [
            layers.Dense(120, activation=activation, name="fc1"),
            layers.Dense(84, activation=activation, name="fc2"),
            layers.Dense(classes, activation=classifier_activation, name="predictions"),
        ]
    return load_into(Sequential(stack, name=name), weights)
