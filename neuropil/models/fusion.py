"""Inference shortcut for Conv2D -> BatchNormalization (-> Add) (-> relu) chains in a graph.

In inference, batch norm is a fixed affine map per channel, y = x·s + (beta - mean·s) with
s = gamma / sqrt(moving_variance + epsilon). After a convolution it folds into the kernel
and bias (a classic deployment trick; PyTorch's ``fuse_conv_bn_eval`` does the same):

    bn(conv(x, W) + b) = conv(x, W·s) + (b·s + beta - mean·s),

and what follows in a ResNet block rides in the convolution op too: the skip connection
(``layers.Add()([y, shortcut])``, added as ``conv2d(..., residual=shortcut)``) and a relu
(``relu=True``), both applied while the block's output is in the cache. The chain then
makes one pass over its activations instead of three or four. ResNet-20's predict (batch
128) spent ~18% of its time in the separate batch norm, add and relu passes.

``Functional.call`` asks for the chains when it runs in inference without recording
gradients (``predict``, ``evaluate``, ``model(x)`` under ``no_grad``) and runs each chain
where its last layer would run (the shortcut is computed by then); the folded kernel is
computed from the current weights at every call, so training in between changes nothing.
A chain is fused only when the result is certain to be the same: a plain channels-last
Conv2D (no groups, no activation, no activity regularizer), a BatchNormalization over the
last axis, an Add of two same-shaped inputs, a relu without cap, slope or threshold, each
intermediate result read by the next layer only (not a model output, not shared) and no
explicit arguments in the calls.
"""
from __future__ import annotations

import numpy as np

from neuropil import activations, ops

__all__ = ["Chain", "inference_chains"]


class Chain:
    """A Conv2D node, the BatchNormalization node reading it, maybe an Add node of its
    result and a shortcut, and maybe a relu node last."""

    def __init__(self, conv_node, bn_node, add_node=None, relu_node=None):
        self.conv, self.bn = conv_node.layer, bn_node.layer
        self.nodes = [n for n in (conv_node, bn_node, add_node, relu_node) if n is not None]
        self.input = conv_node.input_tensors[0]
        bn_output = bn_node.output_tensors[0]
        self.shortcut = None if add_node is None else next(
            t for t in add_node.input_tensors if t is not bn_output)
        self.output = self.nodes[-1].output_tensors[0]
        self.relu = relu_node is not None
        self.inputs = [t for t in (self.input, self.shortcut) if t is not None]

    def run(self, value):
        """The chain's output, one convolution; ``value(tensor)`` gives an input's value."""
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
        residual = None if self.shortcut is None else value(self.shortcut)
        return ops.conv2d(value(self.input), (kernel * scale).astype(dtype),
                          **conv._op_arguments(), bias=shift.astype(dtype), relu=self.relu,
                          residual=residual)


def inference_chains(nodes, outputs) -> dict:
    """{id(last node): Chain} for the fusable chains among ``nodes`` (execution order),
    whose results ``outputs`` (KerasTensors) the model returns."""
    from neuropil.layers import Activation, Add, BatchNormalization, Conv2D, ReLU

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
        return found[0] if len(found) == 1 else None

    def plain_call(node) -> bool:
        return not node.call_kwargs and not node.extra_args and \
            node.layer.activity_regularizer is None

    def is_plain_relu(node) -> bool:
        layer = node.layer
        if len(node.input_tensors) != 1 or not plain_call(node):
            return False
        if type(layer) is Activation:
            return layer.activation is activations.relu
        return (type(layer) is ReLU and layer.max_value is None
                and not layer.negative_slope and not layer.threshold)

    chains, claimed = {}, set()  # (an Add of two chains' results joins the first one)
    for node in nodes:
        conv = node.layer
        if not (type(conv) is Conv2D and conv.groups == 1 and conv.data_format ==
                "channels_last" and conv.activation is activations.linear and plain_call(node)
                and len(node.input_tensors) == 1):
            continue
        bn_node = only_reader(node)
        if bn_node is None or type(bn_node.layer) is not BatchNormalization or \
                len(bn_node.input_tensors) != 1:
            continue
        bn = bn_node.layer
        if not plain_call(bn_node) or bn.axis not in (-1, 3) or getattr(bn, "renorm", False):
            continue
        add_node, last = only_reader(bn_node), bn_node
        if add_node is not None and id(add_node) not in claimed and \
                type(add_node.layer) is Add and plain_call(add_node) and \
                len(add_node.input_tensors) == 2 and \
                add_node.input_tensors[0].shape == add_node.input_tensors[1].shape and \
                add_node.input_tensors[0] is not add_node.input_tensors[1]:
            last = add_node
        else:
            add_node = None
        relu_node = only_reader(last)
        if relu_node is None or not is_plain_relu(relu_node) or id(relu_node) in claimed:
            relu_node = None
        chain = Chain(node, bn_node, add_node, relu_node)
        claimed.update(id(n) for n in chain.nodes)
        chains[id(chain.nodes[-1])] = chain
    return chains
