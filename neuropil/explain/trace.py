"""``trace(model, x)``: a forward pass with the numbers written out, layer by layer.

For a Dense layer each neuron's z = w·x + b is written with its weights, then g(z); for a
convolution, one output position's sum over its patch; for pooling, one window and the value
it keeps; any other layer shows its input and output, summarized when large.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from neuropil import activations, ops
from neuropil.autodiff import Tensor, no_grad
from neuropil.explain._format import describe, grid, num, plural, shape_text, signed, vector
from neuropil.explain._graph import as_batch, preserved, run, to_numpy
from neuropil.layers.conv import Conv2D
from neuropil.layers.core import Dense
from neuropil.layers.pooling import (AveragePooling2D, BaseGlobalPooling2D, GlobalMaxPooling2D,
                                     MaxPooling2D)

__all__ = ["trace", "Trace", "LayerTrace"]

# Activations applied across a whole vector (not neuron by neuron).
_VECTOR_ACTIVATIONS = ("softmax", "log_softmax")


@dataclass
class Limits:
    """How much of a large layer the report shows."""

    neurons: int = 4    # neurons (or filters, channels) written out per layer
    terms: int = 9      # products written out in one sum, then "+ … (n more terms)"
    values: int = 8     # values of a vector shown before "… +n more"
    map_side: int = 8   # rows and columns of a feature map shown
    digits: int = 3     # decimals


@dataclass
class LayerTrace:
    """One layer's numbers, for the whole batch.

    Attributes:
        name: the layer's path in the model ("dense", or "lenet5/conv1" inside a nested model).
        layer: the layer object.
        inputs: what the layer received (an array, or a list of arrays).
        z: the linear part before the activation (Dense, Conv2D), else None.
        outputs: what the layer returned (an array, or a list of arrays).
    """

    name: str
    layer: object
    inputs: object
    z: np.ndarray | None
    outputs: object

    @property
    def kind(self) -> str:
        return type(self.layer).__name__

    def report(self, sample: int = 0, limits: Limits | None = None, position=None) -> list:
        """The lines describing this layer on one sample."""
        limits = limits or Limits()
        for kind, explain in _EXPLAINERS:
            if isinstance(self.layer, kind) and _image_layer(self.layer):
                lines = explain(self, sample, limits, position)
                if lines is not None:
                    return lines
        return _explain_other(self, sample, limits)


@dataclass
class Trace:
    """What ``trace`` returns: one ``LayerTrace`` per layer call, in the order they ran.

    ``trace[0]``, ``trace["dense_1"]`` and iteration give the layers; ``print(trace)`` the
    report. ``trace.outputs`` is the model's output.
    """

    model_name: str
    inputs: object
    layers: list
    outputs: object
    sample: int = 0
    limits: Limits = field(default_factory=Limits)
    position: tuple | None = None

    def __getitem__(self, key) -> LayerTrace:
        if isinstance(key, int):
            return self.layers[key]
        for entry in self.layers:
            if entry.name == key or entry.name.rsplit("/", 1)[-1] == key or entry.layer is key:
                return entry
        raise KeyError(f"No layer {key!r} in this trace. Layers: "
                       f"{[entry.name for entry in self.layers]}")

    def __iter__(self):
        return iter(self.layers)

    def __len__(self) -> int:
        return len(self.layers)

    def __str__(self) -> str:
        s, lim = self.sample, self.limits
        batch = len(_first(self.inputs))
        out = [f'Forward pass of "{self.model_name}" on sample {s} '
               f"(of {plural(batch, 'sample')}), layer by layer",
               "x = " + " → ".join([_brief(self.inputs, s, lim)] +
                                   [_brief(entry.outputs, s, lim) for entry in self.layers])]
        for index, entry in enumerate(self.layers, 1):
            out.append("")
            out.append(f"{index}. {entry.name} ({_title(entry.layer)}): "
                       f"{_shapes(entry.inputs, s)} → {_shapes(entry.outputs, s)}")
            out += ["   " + line for line in entry.report(s, lim, self.position)]
        return "\n".join(out)


def trace(model, x, sample: int = 0, training: bool = False, position=None,
          max_neurons: int = 4, max_terms: int = 9, max_values: int = 8,
          digits: int = 3) -> Trace:
    """Runs ``model`` on ``x`` and keeps every layer's numbers, to print or inspect.

    Args:
        model: a Sequential or functional model (a model nested inside is opened up; a
            subclassed model is shown as one step).
        x: one sample (without the batch axis) or a batch.
        sample: which sample of the batch the report writes out (default 0).
        training: the training flag the layers receive (default False, as in ``predict``).
        position: (row, col) of the output position written out for convolution and pooling
            layers; default: where the first filter (channel) responds most strongly.
        max_neurons, max_terms, max_values, digits: how much of a large layer is written out
            (neurons or filters, products per sum, values per vector, decimals).

    Returns:
        A ``Trace``: per layer ``inputs``, ``z`` (Dense, Conv2D) and ``outputs`` as NumPy
        arrays for the whole batch; ``print`` it for the report.

    Example (the lecture's 4-input network, 4 → 3 relu → 2 relu → 1 sigmoid):
    >>> print(trace(model, [0, 1, 2, 3]))       # doctest: +SKIP
    Forward pass of "sequential" on sample 0 (of 1 sample), layer by layer
    x = (0, 1, 2, 3) → (2, 10, 6) → (0, 0) → (0.269)
    ...
       neuron 2: z = 0·0 + 0·1 + 2·2 + 2·3 + 0 = 10    relu(10) = 10
    ...
       neuron 1: z = 3·0 + 5·0 + (-1) = -1    sigmoid(-1) = 0.269
    """
    x, _ = as_batch(model, x)
    batch = len(_first(x))
    if not 0 <= sample < batch:
        raise ValueError(f"trace: sample={sample} is not in the batch of {batch} samples.")
    steps = []
    with no_grad(), preserved(model):  # training=True must not move BatchNorm's statistics
        outputs = run(model, x, training=training, steps=steps)
    layers = [LayerTrace(step.path, step.layer, to_numpy(step.inputs),
                         _linear_part(step.layer, to_numpy(step.inputs)), to_numpy(step.outputs))
              for step in steps]
    limits = Limits(max_neurons, max_terms, max_values, digits=digits)
    return Trace(model.name, to_numpy(x), layers, to_numpy(outputs), sample, limits,
                 None if position is None else tuple(position))


# ---- running ---------------------------------------------------------------------------------
def _linear_part(layer, inputs):
    """z before the activation, for the layers whose report writes it out (in float64)."""
    if isinstance(layer, Dense) and isinstance(inputs, np.ndarray):
        z = inputs.astype(np.float64) @ np.asarray(layer.kernel.data, np.float64)
        return z + np.asarray(layer.bias.data, np.float64) if layer.bias is not None else z
    if (isinstance(layer, Conv2D) and _image_layer(layer) and layer.groups == 1
            and isinstance(inputs, np.ndarray)):
        x = _channels_last(inputs, layer)
        with no_grad():
            z = ops.conv2d(Tensor(x.astype(np.float64)),
                           Tensor(np.asarray(layer.kernel.data, np.float64)),
                           strides=layer.strides, padding=layer.padding,
                           dilation_rate=layer.dilation_rate).data
        return z + np.asarray(layer.bias.data, np.float64) if layer.bias is not None else z
    return None


def _image_layer(layer) -> bool:
    """Whether a convolution / pooling layer works on images; the 1-D ones (Conv1D, ...),
    2-D layers on a height-1 axis underneath, get the plain report."""
    return getattr(layer, "rank", 2) == 2


def _channels_last(array, layer):
    if getattr(layer, "data_format", "channels_last") == "channels_first":
        return np.moveaxis(array, 1, -1)
    return array


# ---- report helpers --------------------------------------------------------------------------
def _first(value):
    return value[0] if isinstance(value, (list, tuple)) else value


def _brief(value, sample, limits) -> str:
    """A stage of the one-line chain: a short vector in full, else its shape."""
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_brief(v, sample, limits) for v in value) + "]"
    one = np.asarray(value)[sample]
    if one.ndim <= 1 and one.size <= limits.values:
        return vector(one, limits.values, limits.digits)
    return "[" + "×".join(str(d) for d in one.shape) + "]"


def _shapes(value, sample) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_shapes(v, sample) for v in value) + "]"
    return shape_text(np.asarray(value).shape[1:])


def _activation_name(layer) -> str:
    return activations.serialize(getattr(layer, "activation", None) or activations.linear)


def _title(layer) -> str:
    kind = type(layer).__name__
    act = _activation_name(layer)
    act = "" if act == "linear" else f", activation {act}"
    if isinstance(layer, Dense):
        return f"{kind}: {plural(layer.units, 'neuron')}{act}"
    if not _image_layer(layer):
        return kind
    if isinstance(layer, Conv2D):
        kh, kw = layer.kernel_size
        return (f"{kind}: {plural(layer.filters, 'filter')} {kh}×{kw}, strides "
                f"{_pair(layer.strides)}, padding {layer.padding}{act}")
    if isinstance(layer, (MaxPooling2D, AveragePooling2D)):
        ph, pw = layer.pool_size
        return (f"{kind}: {ph}×{pw} windows, strides {_pair(layer.strides)}, "
                f"padding {layer.padding}")
    return kind


def _pair(values) -> str:
    return str(values[0]) if values[0] == values[1] else f"{values[0]}×{values[1]}"


def _sum_text(weights, inputs, bias, limits) -> str:
    """ "w1·x1 + w2·x2 + … + b" with at most ``limits.terms`` products."""
    terms = [f"{signed(w, limits.digits)}·{signed(v, limits.digits)}"
             for w, v in zip(weights[:limits.terms], inputs[:limits.terms])]
    if len(weights) > limits.terms:
        terms.append(f"… ({len(weights) - limits.terms} more terms)")
    if bias is not None:
        terms.append(signed(bias, limits.digits))
    return " + ".join(terms)


def _activation_text(layer, z, out, limits) -> str:
    name = _activation_name(layer)
    if name == "linear" or name in _VECTOR_ACTIVATIONS:
        return ""
    return f"    {name}({num(z, limits.digits)}) = {num(out, limits.digits)}"


# ---- one explainer per kind of layer ----------------------------------------------------------
def _explain_dense(entry: LayerTrace, sample, limits, position):
    if entry.z is None:
        return None
    x = np.asarray(entry.inputs)[sample]
    z, out = entry.z[sample], np.asarray(entry.outputs)[sample]
    where = ""
    if x.ndim > 1:  # Dense on (…, features): the same neurons at every position
        where = f" (at the first of {int(np.prod(x.shape[:-1]))} positions)"
        x, z, out = x.reshape(-1, x.shape[-1])[0], z.reshape(-1, z.shape[-1])[0], \
            out.reshape(-1, out.shape[-1])[0]
    kernel = np.asarray(entry.layer.kernel.data)
    bias = None if entry.layer.bias is None else np.asarray(entry.layer.bias.data)
    lines = [f"inputs x = {vector(x, limits.values, limits.digits)}{where}"]
    width = len(str(min(entry.layer.units, limits.neurons)))
    for j in range(min(entry.layer.units, limits.neurons)):
        text = _sum_text(kernel[:, j], x, None if bias is None else bias[j], limits)
        lines.append(f"neuron {j + 1:>{width}}: z = {text} = {num(z[j], limits.digits)}"
                     + _activation_text(entry.layer, z[j], out[j], limits))
    if entry.layer.units > limits.neurons:
        lines.append(f"… {plural(entry.layer.units - limits.neurons, 'more neuron')}, computed "
                     "the same way")
    name = _activation_name(entry.layer)
    if name in _VECTOR_ACTIVATIONS:
        lines.append(f"z = {vector(z, limits.values, limits.digits)}")
        lines.append(f"{name}(z) = {vector(out, limits.values, limits.digits)}"
                     + ("  (e^z_i / Σ_j e^z_j: sums to 1)" if name == "softmax" else ""))
    else:
        lines.append(f"outputs {vector(out, limits.values, limits.digits)}")
    return lines


def _strongest(maps, position):
    """The (row, col) to write out: the given one, or the largest value of ``maps``."""
    if position is not None:
        row, col = position
        if not (0 <= row < maps.shape[0] and 0 <= col < maps.shape[1]):
            raise ValueError(f"trace: position={position} is outside the output map of size "
                             f"{maps.shape[0]}×{maps.shape[1]}.")
        return int(row), int(col)
    row, col = np.unravel_index(int(np.argmax(maps)), maps.shape)
    return int(row), int(col)


def _same_padding(n, k, s, d) -> int:
    """Rows (or columns) of zeros before the image under padding='same' (the smaller half)."""
    span = (k - 1) * d + 1
    out = -(-n // s)
    return max((out - 1) * s + span - n, 0) // 2


def _map_lines(title, values, limits, around=None) -> list:
    """A feature map in full when small, else the ``map_side`` square around ``around``."""
    h, w = values.shape
    side = limits.map_side
    if h <= side and w <= side:
        return [f"{title} ({h}×{w}):"] + grid(values, side, side, 2)
    row, col = around or (0, 0)
    r0, c0 = max(0, min(row - side // 2, h - side)), max(0, min(col - side // 2, w - side))
    crop = values[r0:r0 + side, c0:c0 + side]
    return [f"{title} ({h}×{w}; rows {r0}..{r0 + crop.shape[0] - 1}, "
            f"cols {c0}..{c0 + crop.shape[1] - 1} shown):"] + \
        [line.rstrip(" …") for line in grid(crop, side, side, 2)]


def _other_maps(what, maps, limits) -> list:
    """One line for the maps not written out: each one's largest value."""
    if maps.shape[-1] <= 1:
        return []
    peaks = maps.reshape(-1, maps.shape[-1]).max(axis=0)
    return [f"largest value of each {what}'s map: {vector(peaks, limits.values, limits.digits)}"]


def _explain_conv(entry: LayerTrace, sample, limits, position):
    if entry.z is None:
        return None
    layer = entry.layer
    x = _channels_last(np.asarray(entry.inputs), layer)[sample]
    z = entry.z[sample]
    out = _channels_last(np.asarray(entry.outputs), layer)[sample]
    (kh, kw), (sh, sw), (dh, dw) = layer.kernel_size, layer.strides, layer.dilation_rate
    kernel = np.asarray(layer.kernel.data)[..., 0]
    bias = None if layer.bias is None else float(layer.bias.data[0])
    row, col = _strongest(out[..., 0], position)
    top = -_same_padding(x.shape[0], kh, sh, dh) if layer.padding == "same" else 0
    left = -_same_padding(x.shape[1], kw, sw, dw) if layer.padding == "same" else 0
    rows = [top + row * sh + a * dh for a in range(kh)]
    cols = [left + col * sw + b * dw for b in range(kw)]
    patch = np.zeros((kh, kw, x.shape[-1]))
    for a, r in enumerate(rows):
        for b, c in enumerate(cols):
            if 0 <= r < x.shape[0] and 0 <= c < x.shape[1]:
                patch[a, b] = x[r, c]
    padded = any(not 0 <= r < x.shape[0] for r in rows) or \
        any(not 0 <= c < x.shape[1] for c in cols)
    channels = x.shape[-1]
    lines = [f"filter 1 at output position (row {row}, col {col}): z = Σ kernel × patch + b"]
    for c in range(min(channels, 3)):
        where = f"rows {rows[0]}..{rows[-1]}, cols {cols[0]}..{cols[-1]}"
        extra = ", zeros outside the image" if padded else ""
        lines.append(f"  patch (input {where}, channel {c + 1}{extra}):")
        lines += grid(patch[..., c], kh, kw, limits.digits, "      ")
        lines.append(f"  kernel (channel {c + 1}):")
        lines += grid(kernel[..., c], kh, kw, limits.digits, "      ")
    if channels > 3:
        lines.append(f"  … and {channels - 3} more channels")
    text = _sum_text(kernel.reshape(-1), patch.reshape(-1), bias, limits)
    lines.append(f"  z = {text} = {num(z[row, col, 0], limits.digits)}"
                 + _activation_text(layer, z[row, col, 0], out[row, col, 0], limits))
    lines += _map_lines("output map of filter 1", out[..., 0], limits, (row, col))
    return lines + _other_maps("filter", out, limits)


def _explain_pool(entry: LayerTrace, sample, limits, position):
    layer = entry.layer
    x = _channels_last(np.asarray(entry.inputs), layer)[sample]
    out = _channels_last(np.asarray(entry.outputs), layer)[sample]
    (ph, pw), (sh, sw) = layer.pool_size, layer.strides
    row, col = _strongest(out[..., 0], position)
    top = -_same_padding(x.shape[0], ph, sh, 1) if layer.padding == "same" else 0
    left = -_same_padding(x.shape[1], pw, sw, 1) if layer.padding == "same" else 0
    r0, c0 = top + row * sh, left + col * sw
    r1, c1 = max(r0, 0), max(c0, 0)
    window = x[r1:r0 + ph, c1:c0 + pw, 0]
    lines = [f"channel 1, output position (row {row}, col {col}): window rows "
             f"{r1}..{min(r0 + ph, x.shape[0]) - 1}, cols {c1}..{min(c0 + pw, x.shape[1]) - 1}:"]
    lines += grid(window, ph, pw, limits.digits, "    ")
    kept = num(out[row, col, 0], limits.digits)
    if isinstance(layer, MaxPooling2D):
        lines.append(f"  max = {kept}")
    else:
        values = " + ".join(num(v, limits.digits) for v in window.reshape(-1))
        lines.append(f"  mean = ({values}) / {window.size} = {kept}")
    lines += _map_lines("output map of channel 1", out[..., 0], limits, (row, col))
    return lines + _other_maps("channel", out, limits)


def _explain_global_pool(entry: LayerTrace, sample, limits, position):
    what = "max" if isinstance(entry.layer, GlobalMaxPooling2D) else "mean"
    out = np.asarray(entry.outputs)[sample].reshape(-1)
    return [f"each channel's whole map → its {what}: "
            f"{vector(out, limits.values, limits.digits)}"]


def _explain_other(entry: LayerTrace, sample, limits) -> list:
    def show(label, value):
        if isinstance(value, (list, tuple)):
            return [f"{label} {i + 1}: "
                    f"{describe(np.asarray(v)[sample], limits.values, limits.digits)}"
                    for i, v in enumerate(value)]
        return [f"{label}: {describe(np.asarray(value)[sample], limits.values, limits.digits)}"]
    return show("inputs", entry.inputs) + show("outputs", entry.outputs)


_EXPLAINERS = [(Dense, _explain_dense), (Conv2D, _explain_conv),
               ((MaxPooling2D, AveragePooling2D), _explain_pool),
               (BaseGlobalPooling2D, _explain_global_pool)]
