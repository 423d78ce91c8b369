"""Inference shortcut for Conv2D -> BatchNormalization (-> relu) chains in a graph.

In inference, batch norm is a fixed affine map per channel, y = x·s + (beta - mean·s) with
s = gamma / sqrt(moving_variance + epsilon). After a convolution it folds into the kernel
and bias (a classic deployment trick; PyTorch's ``fuse_conv_bn_eval`` does the same):

    bn(conv(x, W) + b) = conv(x, W·s) + (b·s + beta - mean·s),

and a relu right after rides in the convolution op (``ops.conv2d(..., relu=True)``).
The chain then makes one pass over its activations instead of three. ResNets are built of
such chains; ResNet-20's predict (batch 128) spent ~18% of its time in the separate batch
norm and relu passes.

``Functional.call`` asks for the chains when it runs in inference without recording
gradients (``predict``, ``evaluate``, ``model(x)`` under ``no_grad``); the folded kernel is
computed from the current weights at every call, so training in between changes nothing.
A chain is fused only when the result is certain to be the same: a plain channels-last
Conv2D (no groups, no activation, no activity regularizer), a BatchNormalization over the
last axis, a relu without cap, slope or threshold, each intermediate result read by the
next layer only (not a model output, not shared) and no explicit arguments in the calls.
"""
from __future__ import annotations

import numpy as np

from neuropil import activations, ops

__all__ = ["Chain", "inference_chains"]


class Chain:
    """A Conv2D node, the BatchNormalization node reading it, and maybe a relu node."""

    def __init__(self, conv_node, bn_node, relu_node=None):
        self.conv, self.bn = conv_node.layer, bn_node.layer
        self.nodes = [conv_node, bn_node] + ([relu_node] if relu_node is not None else [])
        self.output = self.nodes[-1].output_tensors[0]
        self.relu = relu_node is not None

    def run(self, x):
        """The chain's output for the conv's input ``x``: one convolution."""
        conv, bn = self.conv, self.bn
        kernel = np.asarray(conv.kernel.numpy())
        dtype = kernel.dtype
        scale = 1.0 / np.sqrt(np.asarray(bn.moving_variance.numpy(), dtype) + bn.epsilon)
        if bn.scale:
            scale = scale * np.asarray(bn.gamma.numpy(), dtype)
        shift = -np.asarray(bn.moving_mean.numpy(), dtype) * scale
        if bn.center:
            shift = shift + np.asarray(bn.beta.numpy(), dtype)
        if conv.bias is not None:
            shift = shift + np.asarray(conv.bias.numpy(), dtype) * scale
        return ops.conv2d(x, (kernel * scale).astype(dtype), **conv._op_arguments(),
                          bias=shift.astype(dtype), relu=self.relu)


def inference_chains(nodes, outputs) -> dict:
    """{id(first node): Chain} for the fusable chains among ``nodes`` (execution order),
    whose results ``outputs`` (KerasTensors) the model returns."""
    from neuropil.layers import Activation, BatchNormalization, Conv2D, ReLU

    readers: dict = {}
    for node in nodes:
        for tensor in node.input_tensors:
            readers.setdefault(id(tensor), []).append(node)
    returned = {id(t) for t in outputs}

    def only_reader(node):
        """The node that alone reads ``node``'s single output, if any."""
        if len(node.output_tensors) != 1 or id(node.output_tensors[0]) in returned:
            return None
        found = readers.get(id(node.output_tensors[0]), [])
        return found[0] if len(found) == 1 and len(found[0].input_tensors) == 1 else None

    def plain_call(node) -> bool:
        return not node.call_kwargs and not node.extra_args and \
            node.layer.activity_regularizer is None

    chains = {}
    for node in nodes:
        conv = node.layer
        if not (type(conv) is Conv2D and conv.groups == 1 and conv.data_format ==
                "channels_last" and conv.activation is activations.linear and plain_call(node)
                and len(node.input_tensors) == 1):
            continue
        bn_node = only_reader(node)
        if bn_node is None or type(bn_node.layer) is not BatchNormalization:
            continue
        bn = bn_node.layer
        if not plain_call(bn_node) or bn.axis not in (-1, 3) or getattr(bn, "renorm", False):
            continue
        relu_node = only_reader(bn_node)
        if relu_node is not None and not (plain_call(relu_node) and _is_plain_relu(
                relu_node.layer, Activation, ReLU)):
            relu_node = None
        chains[id(node)] = Chain(node, bn_node, relu_node)
    return chains


def _is_plain_relu(layer, activation_class, relu_class) -> bool:
    if type(layer) is activation_class:
        return layer.activation is activations.relu
    return (type(layer) is relu_class and layer.max_value is None
            and not layer.negative_slope and not layer.threshold)
