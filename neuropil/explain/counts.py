"""The arithmetic behind ``model.summary()``: where each parameter count and shape comes from.

``count_weights(model)`` writes each layer's count as a formula, "(7 inputs + 1 bias) × 4
neurons = 32"; ``output_shapes(model)`` writes each output size, "(28 + 2·0 − 5)/1 + 1 = 24".
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from neuropil.explain._format import plural, shape_text
from neuropil.explain._graph import graph_of, leaf_layers
from neuropil.layers.activation import ELU, LeakyReLU, ReLU, Softmax
from neuropil.layers.conv import (BaseConv2D, Conv2D, Conv2DTranspose, DepthwiseConv2D,
                                  SeparableConv2D)
from neuropil.layers.core import Activation, Dense, InputLayer
from neuropil.layers.normalization import BatchNormalization, LayerNormalization
from neuropil.layers.pooling import BaseGlobalPooling2D, BasePooling2D
from neuropil.layers.regularization import Dropout, GaussianDropout, GaussianNoise
from neuropil.layers.reshaping import Flatten, Reshape, ZeroPadding2D

__all__ = ["count_weights", "output_shapes", "WeightCount", "WeightRow", "ShapeReport",
           "ShapeRow"]


# ---- parameter counts ------------------------------------------------------------------------
class _Rows:
    """A report's rows, one per layer: by index, or by layer name (the last part of a
    nested model's "outer/inner" name is enough), iterable."""

    rows: list

    def __getitem__(self, key):
        if isinstance(key, int):
            return self.rows[key]
        for row in self.rows:
            if row.name == key or row.name.rsplit("/", 1)[-1] == key:
                return row
        raise KeyError(f"No layer {key!r}. Layers: {[row.name for row in self.rows]}")

    def __iter__(self):
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


@dataclass
class WeightRow:
    """One layer: its path, class, parameter counts and the formula that gives them."""

    name: str
    kind: str
    params: int
    trainable: int
    formula: str


@dataclass
class WeightCount(_Rows):
    """What ``count_weights`` returns: ``rows`` (one per layer) and the totals."""

    model_name: str
    rows: list

    @property
    def total(self) -> int:
        return sum(row.params for row in self.rows)

    @property
    def trainable(self) -> int:
        return sum(row.trainable for row in self.rows)

    @property
    def non_trainable(self) -> int:
        return self.total - self.trainable

    def __str__(self) -> str:
        width = max([len(f"{r.name} ({r.kind})") for r in self.rows] + [5])
        lines = [f'Weights of "{self.model_name}", layer by layer']
        for row in self.rows:
            lines.append(f"  {f'{row.name} ({row.kind})':<{width}}  {row.formula}")
        counted = [row for row in self.rows if row.params]
        total = f"{self.total:,}"
        if 1 < len(counted) <= 8:
            total = " + ".join(f"{row.params:,}" for row in counted) + f" = {total}"
        lines.append(f"  {'total':<{width}}  {total} "
                     f"({self.trainable:,} trainable, {self.non_trainable:,} non-trainable)")
        return "\n".join(lines)


def count_weights(model) -> WeightCount:
    """Each layer's parameter count with the formula behind it, and the total.

    Args:
        model: a built model (a layer works too). Nested models are opened up.

    Returns:
        A ``WeightCount``: ``rows`` of ``WeightRow(name, kind, params, trainable, formula)``,
        ``total``, ``trainable``, ``non_trainable``; ``print`` it for the table.

    Example (the lecture's 7-4-3-1 network):
    >>> print(count_weights(model))            # doctest: +SKIP
    Weights of "sequential", layer by layer
      dense (Dense)    (7 inputs + 1 bias) × 4 neurons = 32
      dense_1 (Dense)  (4 inputs + 1 bias) × 3 neurons = 15
      dense_2 (Dense)  (3 inputs + 1 bias) × 1 neuron = 4
      total            32 + 15 + 4 = 51 (51 trainable, 0 non-trainable)
    """
    layers = leaf_layers(model) if hasattr(model, "layers") else [(model.name, model)]
    rows = []
    for path, layer in layers:
        params = sum(v.size for v in layer.weights) if layer.built else 0
        trainable = sum(v.size for v in layer.trainable_weights) if layer.built else 0
        rows.append(WeightRow(path, type(layer).__name__, int(params), int(trainable),
                              _weight_formula(layer, params)))
    return WeightCount(model.name, rows)


def _weight_formula(layer, params: int) -> str:
    if not layer.built:
        return "not built yet: 0 so far (give the model keras.Input, or call it on data)"
    for kind, formula in _WEIGHT_FORMULAS:
        # NOTE: the 1-D convolutions (rank 1) are 2-D subclasses with 3-D kernels: they get
        # the generic "kernel k·in·out + bias" line below.
        if isinstance(layer, kind) and getattr(layer, "rank", 2) == 2:
            text = formula(layer)
            if isinstance(text, tuple):  # (formula, a note after the result)
                return f"{text[0]} = {params:,}{text[1]}"
            if text is not None:
                return f"{text} = {params:,}"
    if not layer.weights:
        return f"0 ({_why_no_weights(layer)})"
    parts = [f"{v.name} {'·'.join(str(d) for d in v.shape) or '1'}" for v in layer.weights]
    return " + ".join(parts) + f" = {params:,}"


def _bias_part(inputs_text: str, use_bias: bool, what: str = "bias") -> str:
    return f"({inputs_text} + 1 {what})" if use_bias else inputs_text


def _dense_formula(layer):
    inputs = layer.kernel.shape[0]
    text = _bias_part(plural(inputs, "input"), layer.bias is not None)
    return f"{text} × {plural(layer.units, 'neuron')}"


def _conv_formula(layer):
    kh, kw, cin, filters = layer.kernel.shape
    if isinstance(layer, Conv2DTranspose):
        kh, kw, filters, cin = layer.kernel.shape
    product = f"{kh}·{kw}·{cin}"
    text = f"({product} + 1)" if layer.bias is not None else product
    groups = getattr(layer, "groups", 1)
    note = f" (groups={groups}: each filter sees {cin} channels)" if groups > 1 else ""
    return f"{text} × {plural(filters, 'filter')}{note}"


def _depthwise_formula(layer):
    kh, kw, cin, multiplier = layer.kernel.shape
    text = f"({kh}·{kw} + 1)" if layer.bias is not None else f"{kh}·{kw}"
    extra = f" × {multiplier} (depth multiplier)" if multiplier > 1 else ""
    return f"{text} × {plural(cin, 'channel')}{extra}"


def _separable_formula(layer):
    kh, kw, cin, multiplier = layer.depthwise_kernel.shape
    depth = f"{kh}·{kw}·{cin}" + (f"·{multiplier}" if multiplier > 1 else "")
    text = f"{depth} depthwise + {cin * multiplier}·{layer.filters} pointwise"
    return text + (f" + {layer.filters} biases" if layer.bias is not None else "")


def _batch_norm_formula(layer):
    if not layer.weights:
        return None
    channels = layer.weights[0].size
    learned = [v.name for v in layer.weights if v.intrinsic_trainable]
    averaged = [v.name.replace("_", " ") for v in layer.weights if not v.intrinsic_trainable]
    frozen = ", frozen now" if not layer.trainable and learned else ""
    note = f": {', '.join(learned)} learned" if learned else ""
    note += f"{'; ' if note else ': '}{', '.join(averaged)} averaged, not learned" \
        if averaged else ""
    return (f"{len(layer.weights)} × {plural(channels, 'channel')} ({len(learned)} trainable"
            f"{frozen})", note)


def _layer_norm_formula(layer):
    if not layer.weights:
        return None
    features = layer.weights[0].size
    names = ", ".join(v.name for v in layer.weights)
    return f"{len(layer.weights)} × {plural(features, 'feature')} ({names})"


def _why_no_weights(layer) -> str:
    if isinstance(layer, (BasePooling2D, BaseGlobalPooling2D)):
        return "no weights: pooling has nothing to learn"
    if isinstance(layer, (Flatten, Reshape, ZeroPadding2D)):
        return "no weights: it only rearranges the numbers"
    if isinstance(layer, (Dropout, GaussianNoise, GaussianDropout)):
        return "no weights: random noise in training, nothing to learn"
    if isinstance(layer, (Activation, ReLU, LeakyReLU, Softmax, ELU)):
        return "no weights: a fixed function"
    return "no weights"


_WEIGHT_FORMULAS = [(Dense, _dense_formula), (SeparableConv2D, _separable_formula),
                    (DepthwiseConv2D, _depthwise_formula), ((Conv2D, Conv2DTranspose),
                                                           _conv_formula),
                    (BatchNormalization, _batch_norm_formula),
                    (LayerNormalization, _layer_norm_formula)]


# ---- output shapes ---------------------------------------------------------------------------
@dataclass
class ShapeRow:
    """One layer call: input and output shapes (batch axis included) and how they follow."""

    name: str
    kind: str
    input_shape: object
    output_shape: object
    formula: str


@dataclass
class ShapeReport(_Rows):
    """What ``output_shapes`` returns: ``rows``, one per layer call; ``print`` it."""

    model_name: str
    rows: list

    def __str__(self) -> str:
        lines = [f'Output shapes of "{self.model_name}", layer by layer']
        for row in self.rows:
            lines.append(f"  {row.name} ({row.kind}): {_shapes(row.input_shape)} → "
                         f"{_shapes(row.output_shape)}")
            if row.formula:
                lines.append(f"      {row.formula}")
        return "\n".join(lines)


def output_shapes(model) -> ShapeReport:
    """Each layer's input and output shape, with the arithmetic that gives it.

    Convolution and pooling windows of size k with stride s over n pixels give, per axis:
    padding ``"valid"`` (p = 0): floor((n + 2p − k)/s) + 1; padding ``"same"``: ceil(n/s),
    with just enough zeros added around the image. A dilated kernel spans d·(k − 1) + 1.

    Args:
        model: a built Sequential or functional model (nested models are opened up).

    Returns:
        A ``ShapeReport`` of ``ShapeRow(name, kind, input_shape, output_shape, formula)``.

    Example:
    >>> print(output_shapes(keras.applications.LeNet5()))   # doctest: +SKIP
      conv1 (Conv2D): (None, 28, 28, 1) → (None, 28, 28, 6)
          padding 'same': ceil(28/1) = 28 (4 zeros added: 2 before, 2 after); 6 filters …
    """
    if graph_of(model) is None:
        raise ValueError(f'output_shapes: model "{model.name}" has no graph of layer calls '
                         "to read shapes from. Build it first: start a Sequential with "
                         "keras.Input(shape=...), or call the model on data once.")
    rows = []
    _collect_shapes(model, "", rows)
    return ShapeReport(model.name, rows)


def _collect_shapes(model, prefix: str, rows: list) -> None:
    for node in graph_of(model)._nodes:
        layer = node.layer
        if isinstance(layer, InputLayer):
            continue
        if graph_of(layer) is not None:
            _collect_shapes(layer, f"{prefix}{layer.name}/", rows)
            continue
        ins = [t.shape for t in node.input_tensors]
        outs = [t.shape for t in node.output_tensors]
        shape_in = ins[0] if len(ins) == 1 else ins
        shape_out = outs[0] if len(outs) == 1 else outs
        formula = ""
        if len(ins) == 1 and len(outs) == 1:
            formula = _shape_formula(layer, shape_in, shape_out)
        rows.append(ShapeRow(prefix + layer.name, type(layer).__name__, shape_in, shape_out,
                             formula))


def _shapes(shape) -> str:
    if isinstance(shape, list):
        return "[" + ", ".join(shape_text(s) for s in shape) + "]"
    return shape_text(shape)


def window_arithmetic(n, k, s, padding: str, d: int = 1) -> str:
    """One axis of a convolution or pooling: "(28 + 2·0 − 5)/1 + 1 = 24"."""
    if n is None:
        return "unknown (the input size is not fixed)"
    span = d * (k - 1) + 1
    dilated = f" (k = {d}·({k} − 1) + 1 = {span}, dilated)" if d > 1 else ""
    if padding == "same":
        out = -(-n // s)
        total = max((out - 1) * s + span - n, 0)
        zeros = f" ({total} zeros added: {total // 2} before, {total - total // 2} after)" \
            if total else " (no zeros needed)"
        return f"padding 'same': ceil({n}/{s}) = {out}{zeros}{dilated}"
    if padding == "causal":  # Conv1D: every zero before the sequence
        return (f"padding 'causal': ceil({n}/{s}) = {-(-n // s)} ({span - 1} zeros added "
                f"before){dilated}")
    numerator = n - span
    out = numerator // s + 1
    if numerator % s == 0:
        return f"({n} + 2·0 − {span})/{s} + 1 = {out}{dilated}"
    return (f"floor(({n} + 2·0 − {span})/{s}) + 1 = floor({numerator / s:g}) + 1 = "
            f"{out}{dilated}")


def _spatial(layer, shape):
    """((spatial sizes), channels): (height, width) of an image, (steps,) of a sequence."""
    first = getattr(layer, "data_format", "channels_last") == "channels_first"
    return (tuple(shape[2:]), shape[1]) if first else (tuple(shape[1:-1]), shape[-1])


def _window_formula(layer, shape_in, shape_out) -> str:
    spatial, channels = _spatial(layer, shape_in)
    windows = layer.pool_size if isinstance(layer, BasePooling2D) else layer.kernel_size
    dilation = getattr(layer, "dilation_rate", (1,) * len(windows))
    axes = [window_arithmetic(n, k, s, layer.padding, d)
            for n, k, s, d in zip(spatial, windows, layer.strides, dilation)]
    if len(axes) == 1:
        text = f"steps {axes[0]}"
    else:
        text = f"height {axes[0]}; width " + ("the same" if axes[0] == axes[1] else axes[1])
    out_channels = _spatial(layer, shape_out)[1]
    if isinstance(layer, BasePooling2D):
        return text + f"; channels unchanged ({out_channels})"
    if isinstance(layer, DepthwiseConv2D):
        return text + f"; {channels} channels × {layer.depth_multiplier} = {out_channels}"
    return text + f"; {plural(out_channels, 'filter')} → {out_channels} channels"


def _transpose_formula(layer, shape_in, shape_out) -> str:
    h, oh = _spatial(layer, shape_in)[0][0], _spatial(layer, shape_out)[0][0]
    k, s = layer.kernel_size[0], layer.strides[0]
    axis = "steps" if len(layer.kernel_size) == 1 else "height"
    if layer.padding == "same":
        return f"{axis} {h}·{s} = {oh} (transposed, padding 'same': n·s)"
    return (f"{axis} {h}·{s} + max({k} − {s}, 0) = {oh} (transposed, 'valid': "
            "n·s + max(k − s, 0))")


def _shape_formula(layer, shape_in, shape_out) -> str:
    if isinstance(layer, Conv2DTranspose):
        return _transpose_formula(layer, shape_in, shape_out) if layer.output_padding is None \
            else ""
    if isinstance(layer, (BaseConv2D, BasePooling2D)):
        return _window_formula(layer, shape_in, shape_out)
    if isinstance(layer, Dense):
        return f"{plural(layer.units, 'neuron')} → last axis {layer.units}"
    if isinstance(layer, Flatten):
        sizes = [d for d in shape_in[1:]]
        if None in sizes:
            return ""
        return "·".join(str(d) for d in sizes) + f" = {math.prod(sizes)} numbers in a row"
    if isinstance(layer, ZeroPadding2D):
        (top, bottom), (left, right) = layer.padding
        (h, w), _ = _spatial(layer, shape_in)
        if h is None or w is None:
            return ""
        return f"height {top} + {h} + {bottom} = {h + top + bottom}; width {left} + {w} + " \
            f"{right} = {w + left + right}"
    if isinstance(layer, BaseGlobalPooling2D):
        return f"each of the {_spatial(layer, shape_in)[1]} maps → one number"
    if tuple(shape_in) == tuple(shape_out):
        return "same shape"
    return ""
