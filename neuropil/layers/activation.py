"""Activation functions as layers, with their own arguments: ReLU, LeakyReLU, Softmax, ELU,
and PReLU (a leaky ReLU whose slopes are learned)."""
from __future__ import annotations

import warnings

from neuropil import constraints, initializers, ops, regularizers
from neuropil.layers.input_spec import InputSpec, format_shape
from neuropil.layers.layer import Layer

__all__ = ["ReLU", "LeakyReLU", "Softmax", "ELU", "PReLU"]


class _Elementwise(Layer):
    def compute_output_shape(self, input_shape):
        return input_shape


class ReLU(_Elementwise):
    """max(x, 0), with optional cap ``max_value`` and slope ``negative_slope`` below
    ``threshold``.

    Args:
        max_value: the largest output (None = no cap).
        negative_slope: the slope for x < threshold (default 0).
        threshold: where the function switches from the slope to the identity (default 0).
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        for name, value in (("max_value", max_value), ("negative_slope", negative_slope),
                            ("threshold", threshold)):
            if value is not None and value < 0:
                raise ValueError(f"ReLU: `{name}` must be a non-negative float. Received: "
                                 f"{name}={value}")
        self.max_value, self.negative_slope, self.threshold = max_value, negative_slope, threshold

    def call(self, inputs):
        return ops.relu(inputs, self.negative_slope, self.max_value, self.threshold)

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value,
                "negative_slope": self.negative_slope, "threshold": self.threshold}


class LeakyReLU(_Elementwise):
    """x for x >= 0, ``negative_slope`` · x below: a small slope keeps negative units learning.

    Args:
        negative_slope: the slope below zero (Keras's default 0.3; the lecture uses ~0.01).
    """

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:  # Keras 2's name for the same argument
            negative_slope = kwargs.pop("alpha")
            warnings.warn("LeakyReLU: argument `alpha` is deprecated. Use `negative_slope` "
                          "instead.", UserWarning, stacklevel=2)
        super().__init__(**kwargs)
        if negative_slope is None or negative_slope < 0:
            raise ValueError("LeakyReLU: `negative_slope` must be a non-negative float. "
                             f"Received: negative_slope={negative_slope}")
        self.negative_slope = float(negative_slope)

    def call(self, inputs):
        return ops.leaky_relu(inputs, self.negative_slope)

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


class Softmax(_Elementwise):
    """Softmax along ``axis``: the outputs are positive and sum to 1."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, inputs, mask=None):
        if mask is not None:  # masked positions get a large negative score, so ~0 probability
            inputs = ops.add(inputs, (1.0 - mask.astype(inputs.dtype)) * -1e9)
        return ops.softmax(inputs, self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class ELU(_Elementwise):
    """x for x > 0, alpha · (e^x - 1) below."""

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = alpha

    def call(self, inputs):
        return ops.elu(inputs, self.alpha)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class PReLU(_Elementwise):
    """A leaky ReLU whose negative slope ``alpha`` is a weight, learned like any other:
    x for x >= 0, alpha · x below, with one alpha per input unit.

    By default every unit of a sample (every pixel of every channel, say) has its own
    slope. ``shared_axes`` lists the axes whose units share one: after a Conv2D with output
    (batch, height, width, channels), ``shared_axes=[1, 2]`` gives one slope per channel,
    as PyTorch's ``nn.PReLU(num_parameters=channels)`` does.

    Args:
        alpha_initializer: how alpha starts (default ``"Zeros"``: the layer starts as ReLU).
        alpha_regularizer: optional penalty on alpha.
        alpha_constraint: optional ``keras.constraints`` applied to alpha after each
            optimizer step.
        shared_axes: an int or a list of ints, axes (1 = the first after the batch) along
            which alpha is shared (default None: nothing shared).

    Input shape: any, with the non-shared axes known. Output shape: the same.
    Weights: ``alpha``, shaped like one sample with a 1 on each shared axis.

    Example:
    >>> import neuropil as keras
    >>> layer = keras.layers.PReLU(alpha_initializer=keras.initializers.Constant(0.25))
    >>> layer(np.array([[-4.0, 2.0]], "float32")).numpy()  # -4 · 0.25, 2
    array([[-1.,  2.]], dtype=float32)
    >>> layer.alpha.shape
    (2,)
    """

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None,
                 alpha_constraint=None, shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is not None and not isinstance(shared_axes, (list, tuple)):
            shared_axes = [shared_axes]
        if shared_axes is not None and not all(
                isinstance(a, int) and not isinstance(a, bool) for a in shared_axes):
            raise TypeError("PReLU: `shared_axes` must be None, an int or a list of ints. "
                            f"Received: shared_axes={shared_axes!r}")
        self.shared_axes = None if shared_axes is None else list(shared_axes)
        self.alpha = None

    def build(self, input_shape):
        rank = len(input_shape)
        shared = self.shared_axes or []
        bad = [a for a in shared if not 1 <= a < rank]
        if bad:
            # NOTE: stricter than Keras, which would silently share the wrong axis for a
            # negative entry: axes count from 1, the first axis after the batch.
            raise ValueError(f'Layer "{self.name}" (PReLU): shared axis {bad[0]} is not an '
                             f"axis of a sample; use 1..{rank - 1} for input shape "
                             f"{format_shape(input_shape)}. Received: shared_axes={shared}")
        shape = [1 if axis in shared else input_shape[axis] for axis in range(1, rank)]
        if None in shape:
            raise ValueError(f'Layer "{self.name}" (PReLU): axis {shape.index(None) + 1} of '
                             f"the input is unknown, so alpha cannot have a slope per unit "
                             f"along it. Received input shape {format_shape(input_shape)}; "
                             f"fix the size or add the axis to shared_axes.")
        self.alpha = self.add_weight(shape, self.alpha_initializer, name="alpha",
                                     regularizer=self.alpha_regularizer,
                                     constraint=self.alpha_constraint)
        self.input_spec = InputSpec(ndim=rank, axes={axis: input_shape[axis]
                                                     for axis in range(1, rank)
                                                     if axis not in shared})

    def call(self, inputs):
        # relu(x) keeps the positive part; relu(-x) is the size of the negative part.
        return ops.relu(inputs) - self.alpha * ops.relu(-inputs)

    def get_config(self):
        return {**super().get_config(),
                "alpha_initializer": initializers.serialize(self.alpha_initializer),
                "alpha_regularizer": None if self.alpha_regularizer is None
                else regularizers.serialize(self.alpha_regularizer),
                "alpha_constraint": constraints.serialize(self.alpha_constraint),
                "shared_axes": self.shared_axes}
