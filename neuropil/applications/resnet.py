"""Residual networks (He et al., 2015): ResNet-20 for CIFAR-10, ResNet-18, ResNet-50.

A residual block computes ``relu(F(x) + shortcut(x))``: the layers F learn a correction to
their input rather than a whole new mapping, and the identity path carries the gradient
straight through, which is what lets these networks be deep. When a block halves the image
and changes the width, the shortcut is a 1x1 convolution with stride 2 and batch norm (a
"projection shortcut").

- ``ResNet50`` reproduces Keras's ``keras.applications.ResNet50`` layer by layer (names,
  biases, batch-norm epsilon 1.001e-5, bottleneck blocks with the stride on the first 1x1
  convolution): 25,636,712 weights with the top, so that a weights file can map by name.
- ``ResNet18`` follows torchvision's ``resnet18`` (basic blocks, convolutions without bias,
  explicit symmetric padding, batch norm epsilon 1e-5 and momentum 0.9 as in PyTorch):
  11,689,512 trainable weights, torchvision's count (plus 9,600 moving statistics).
- ``ResNet20`` is the CIFAR network of the paper's section 4.2: a 3x3 convolution with 16
  filters, 3 stages of 3 basic blocks with 16, 32 and 64 filters (stages 2 and 3 start with
  stride 2 and a projection shortcut), global average pooling and the classifier.
"""
from __future__ import annotations

from neuropil import layers
from neuropil.applications._common import (check_weights, classifier_or_pooling, image_input,
                                           load_weights, obtain_input_shape)
from neuropil.applications.torchvision_weights import load_torchvision_resnet18
from neuropil.models import Functional

__all__ = ["ResNet20", "ResNet18", "ResNet50"]

_KERAS_EPSILON = 1.001e-5          # Keras's ResNet batch norm
_TORCH_BN = dict(epsilon=1e-5, momentum=0.9)   # PyTorch's BatchNorm2d defaults


# ---- ResNet-50: Keras's keras.applications.ResNet50 --------------------------------------
def bottleneck_block(x, filters, stride=1, conv_shortcut=True, name=None):
    """1x1 (``filters``, stride) -> 3x3 -> 1x1 (4 x ``filters``), added to the shortcut.

    Keras's ``residual_block_v1``: the shortcut is a strided 1x1 convolution + batch norm
    when ``conv_shortcut``, else the input itself.
    """
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(x)
        shortcut = layers.BatchNormalization(epsilon=_KERAS_EPSILON, name=f"{name}_0_bn")(
            shortcut)
    else:
        shortcut = x
    x = layers.Conv2D(filters, 1, strides=stride, name=f"{name}_1_conv")(x)
    x = layers.BatchNormalization(epsilon=_KERAS_EPSILON, name=f"{name}_1_bn")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(x)
    x = layers.Conv2D(filters, 3, padding="same", name=f"{name}_2_conv")(x)
    x = layers.BatchNormalization(epsilon=_KERAS_EPSILON, name=f"{name}_2_bn")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(x)
    x = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    x = layers.BatchNormalization(epsilon=_KERAS_EPSILON, name=f"{name}_3_bn")(x)
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.Activation("relu", name=f"{name}_out")(x)


def _bottleneck_stack(x, filters, blocks, stride1=2, name=None):
    x = bottleneck_block(x, filters, stride=stride1, name=f"{name}_block1")
    for i in range(2, blocks + 1):
        x = bottleneck_block(x, filters, conv_shortcut=False, name=f"{name}_block{i}")
    return x


def ResNet50(include_top=True, weights=None, input_tensor=None, input_shape=None,
             pooling=None, classes=1000, classifier_activation="softmax", name="resnet50"):
    """ResNet-50 as Keras builds it (25,636,712 weights for 224x224x3 and 1000 classes).

    Args:
        include_top: end with global average pooling and the ``predictions`` Dense layer.
        weights: None (random initialization) or the path of a weights file for this
            architecture. ``"imagenet"`` raises: neuropil downloads no pretrained weights.
        input_tensor: optional ``keras.Input`` to build the model on.
        input_shape: (height, width, channels), at least 32x32; default (224, 224, 3) with
            the top, (None, None, 3) without.
        pooling: without the top: None (4-D feature maps), "avg" or "max" (global pooling).
        classes: number of classes of the top.
        classifier_activation: of the top; None returns logits.
        name: the model's name.

    Returns:
        A functional ``keras.Model``.
    """
    def stacks(x):
        x = _bottleneck_stack(x, 64, 3, stride1=1, name="conv2")
        x = _bottleneck_stack(x, 128, 4, name="conv3")
        x = _bottleneck_stack(x, 256, 6, name="conv4")
        return _bottleneck_stack(x, 512, 3, name="conv5")
    return _imagenet_resnet("ResNet50", stacks, use_bias=True, bn=dict(epsilon=_KERAS_EPSILON),
                            **_arguments(locals()))


# ---- ResNet-18: torchvision's layout ---------------------------------------------------------
def basic_block(x, filters, stride=1, conv_shortcut=False, name=None, bn=None,
                torch_padding=True):
    """3x3 (stride) -> 3x3, both ``filters`` wide, added to the shortcut, then relu.

    The shortcut is a strided 1x1 convolution + batch norm when ``conv_shortcut`` (the
    block changes size), else the input. With ``torch_padding`` a strided 3x3 convolution
    pads one pixel on every side as PyTorch does ("same" would pad only after).
    """
    bn = bn or {}
    if conv_shortcut:
        shortcut = layers.Conv2D(filters, 1, strides=stride, use_bias=False,
                                 name=f"{name}_0_conv")(x)
        shortcut = layers.BatchNormalization(name=f"{name}_0_bn", **bn)(shortcut)
    else:
        shortcut = x
    if stride > 1 and torch_padding:
        x = layers.ZeroPadding2D(1, name=f"{name}_1_pad")(x)
        x = layers.Conv2D(filters, 3, strides=stride, use_bias=False, name=f"{name}_1_conv")(x)
    else:
        x = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False,
                          name=f"{name}_1_conv")(x)
    x = layers.BatchNormalization(name=f"{name}_1_bn", **bn)(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(x)
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_2_conv")(x)
    x = layers.BatchNormalization(name=f"{name}_2_bn", **bn)(x)
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.Activation("relu", name=f"{name}_out")(x)


def _basic_stack(x, filters, blocks, stride1=2, name=None, bn=None, torch_padding=True):
    x = basic_block(x, filters, stride=stride1, conv_shortcut=stride1 > 1, name=f"{name}_block1",
                    bn=bn, torch_padding=torch_padding)
    for i in range(2, blocks + 1):
        x = basic_block(x, filters, name=f"{name}_block{i}", bn=bn, torch_padding=torch_padding)
    return x


def ResNet18(include_top=True, weights=None, input_tensor=None, input_shape=None,
             pooling=None, classes=1000, classifier_activation="softmax", name="resnet18"):
    """ResNet-18 in torchvision's layout (11,689,512 trainable weights for 1000 classes).

    Arguments as ``ResNet50``, and ``weights`` may also be a ``.safetensors`` file of
    torchvision's ``resnet18`` state dict (``conv1.weight``, ``bn1.running_mean``,
    ``layer1.0.conv1.weight``, ..., ``fc.weight``), converted layer by layer with a shape
    check (conv kernels OIHW -> HWIO, ``fc`` (out, in) -> (in, out)); it needs
    ``pip install safetensors``. Pickled ``.pth`` / ``.pt`` files are refused.

    The stem is a 7x7 convolution with stride 2 (no bias) and a
    3x3 max pooling with stride 2, then 4 stages of 2 basic blocks (64, 128, 256, 512
    filters; stages 2-4 start with stride 2 and a projection shortcut).
    """
    def stacks(x):
        x = _basic_stack(x, 64, 2, stride1=1, name="conv2", bn=_TORCH_BN)
        x = _basic_stack(x, 128, 2, name="conv3", bn=_TORCH_BN)
        x = _basic_stack(x, 256, 2, name="conv4", bn=_TORCH_BN)
        return _basic_stack(x, 512, 2, name="conv5", bn=_TORCH_BN)
    return _imagenet_resnet("ResNet18", stacks, use_bias=False, bn=_TORCH_BN,
                            safetensors_loader=load_torchvision_resnet18,
                            **_arguments(locals()))


def _arguments(local_vars: dict) -> dict:
    keys = ("include_top", "weights", "input_tensor", "input_shape", "pooling", "classes",
            "classifier_activation", "name")
    return {key: local_vars[key] for key in keys}


def _imagenet_resnet(builder, stacks, use_bias, bn, include_top, weights, input_tensor,
                     input_shape, pooling, classes, classifier_activation, name,
                     safetensors_loader=None):
    """Keras's ``ResNet``: padded 7x7/2 stem, padded 3x3/2 max pooling, the stacks, top."""
    check_weights(builder, weights, include_top, classes,
                  safetensors=safetensors_loader is not None)
    if input_tensor is not None and input_shape is None:
        input_shape = input_tensor.shape[1:]
    input_shape = obtain_input_shape(builder, input_shape, default_size=224, min_size=32,
                                     require_flatten=include_top)
    inputs = image_input(input_tensor, input_shape)
    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)), name="conv1_pad")(inputs)
    x = layers.Conv2D(64, 7, strides=2, use_bias=use_bias, name="conv1_conv")(x)
    x = layers.BatchNormalization(name="conv1_bn", **bn)(x)
    x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    x = stacks(x)
    x = classifier_or_pooling(x, include_top, pooling, classes, classifier_activation)
    return load_weights(Functional(inputs, x, name=name), weights, safetensors_loader)


# ---- ResNet-20: the CIFAR-10 network ------------------------------------------------------
def ResNet20(input_shape=(32, 32, 3), classes=10, include_top=True, pooling=None,
             weights=None, classifier_activation="softmax", input_tensor=None,
             name="resnet20"):
    """ResNet-20 for 32x32 images (He et al., 2015, section 4.2), with projection shortcuts.

    conv 3x3 x16 -> 3 stages x 3 basic blocks (16, 32, 64 filters; the first block of
    stages 2 and 3 has stride 2 and a 1x1 convolution + batch norm shortcut) -> global
    average pooling -> Dense(classes). Convolutions have no bias (batch norm follows each);
    batch norm uses PyTorch's momentum 0.9 and epsilon 1e-5, as the reference trainings do.

    Args:
        input_shape: (height, width, channels), default (32, 32, 3) (CIFAR-10).
        classes: number of classes (default 10).
        include_top: end with the pooling and the ``predictions`` Dense layer.
        pooling: without the top: None (8x8x64 feature maps), "avg" or "max".
        weights: None, or the path of a weights file for this architecture.
        classifier_activation: of the top; None returns logits.
        input_tensor: optional ``keras.Input`` to build the model on.
        name: the model's name.

    Example:
    >>> model = keras.applications.ResNet20()
    >>> model.output_shape
    (None, 10)
    """
    check_weights("ResNet20", weights, include_top, classes)
    if input_tensor is not None:
        input_shape = input_tensor.shape[1:]
    input_shape = obtain_input_shape("ResNet20", input_shape, default_size=32, min_size=8,
                                     require_flatten=False)
    inputs = image_input(input_tensor, input_shape)
    x = layers.Conv2D(16, 3, padding="same", use_bias=False, name="conv1_conv")(inputs)
    x = layers.BatchNormalization(name="conv1_bn", **_TORCH_BN)(x)
    x = layers.Activation("relu", name="conv1_relu")(x)
    x = _basic_stack(x, 16, 3, stride1=1, name="conv2", bn=_TORCH_BN)
    x = _basic_stack(x, 32, 3, name="conv3", bn=_TORCH_BN)
    x = _basic_stack(x, 64, 3, name="conv4", bn=_TORCH_BN)
    x = classifier_or_pooling(x, include_top, pooling, classes, classifier_activation)
    return load_weights(Functional(inputs, x, name=name), weights)
