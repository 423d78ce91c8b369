"""LayerNormalization: per sample, over its features."""
from __future__ import annotations

import warnings

from neuropil import ops
from neuropil.layers.input_spec import format_shape
from neuropil.layers.layer import Layer
from neuropil.layers.normalization_utils import _affine_config, _set_affine

__all__ = ["LayerNormalization"]


class LayerNormalization(Layer):
    """Normalizes each sample over ``axis`` with its own mean and variance, then scales by
    gamma and shifts by beta (both shaped like the input over ``axis``).

    It behaves the same in training and inference: no batch statistics, no state.

    Args:
        axis: an int or a list of ints, the axes to normalize over (default -1, the
            features). After ``build`` it is stored as a sorted list of non-negative axes,
            as Keras does.
        epsilon: added to the variance before the square root (default 1e-3).
        center: whether to add the learned offset beta.
        scale: whether to multiply by the learned gamma.
        beta_initializer, gamma_initializer: how beta and gamma start (zeros, ones).
        beta_regularizer, gamma_regularizer: optional penalties.
        beta_constraint, gamma_constraint: optional ``keras.constraints`` applied after
            each optimizer step.
        rms_scaling: deprecated in Keras (it warns there too): multiplies x by
            1 / sqrt(var(x) + epsilon) and gamma, without centering or beta.

    Input shape: any. Output shape: the same.

    Example:
    >>> import neuropil as keras
    >>> layer = keras.layers.LayerNormalization(epsilon=0.0)
    >>> layer(np.array([[1.0, 3.0], [0.0, 10.0]], "float32")).numpy().tolist()
    [[-1.0, 1.0], [-1.0, 1.0]]
    """

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 **kwargs):
        rms_scaling = kwargs.pop("rms_scaling", False)
        if rms_scaling:
            warnings.warn("LayerNormalization: rms_scaling=True is deprecated in Keras: it "
                          "divides by the standard deviation, not the root mean square.",
                          stacklevel=2)
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            axis = list(axis)
        if not all(isinstance(a, int) and not isinstance(a, bool)
                   for a in (axis if isinstance(axis, list) else [axis])):
            raise TypeError("LayerNormalization: `axis` must be an int or a list/tuple of "
                            f"ints. Received: axis={axis!r}")
        self.axis, self.epsilon = axis, float(epsilon)
        _set_affine(self, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                    gamma_regularizer, beta_constraint, gamma_constraint)
        self.rms_scaling = bool(rms_scaling)
        self.supports_masking = True
        self.gamma = self.beta = None

    def build(self, input_shape):
        rank = len(input_shape)
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        bad = [a for a in axes if not -rank <= a < rank]
        if bad:
            raise ValueError(f'Layer "{self.name}": axis {bad[0]} is out of bounds for input '
                             f"shape {format_shape(input_shape)}. Received: axis={self.axis}")
        axes = sorted(a % rank for a in axes)
        if len(set(axes)) != len(axes):
            raise ValueError(f'Layer "{self.name}": duplicate axes are not allowed. '
                             f"Received: axis={self.axis}")
        shape = tuple(input_shape[a] for a in axes)
        if None in shape:
            raise ValueError(f'Layer "{self.name}": the normalized axes {axes} of the input '
                             f"must be known. Received input shape {format_shape(input_shape)}")
        self.axis = axes
        if self.scale or self.rms_scaling:
            self.gamma = self.add_weight(shape, self.gamma_initializer, name="gamma",
                                         regularizer=self.gamma_regularizer,
                                         constraint=self.gamma_constraint)
        if self.center and not self.rms_scaling:
            self.beta = self.add_weight(shape, self.beta_initializer, name="beta",
                                        regularizer=self.beta_regularizer,
                                        constraint=self.beta_constraint)

    def call(self, inputs):
        if self.rms_scaling:  # Keras's deprecated variant, composed from small ops
            mean = ops.mean(inputs, self.axis, keepdims=True)
            variance = ops.mean(ops.square(inputs - mean), self.axis, keepdims=True)
            outputs = inputs / ops.sqrt(variance + self.epsilon)
            if self.gamma is None:
                return outputs
            spread = [inputs.shape[a] if a in self.axis else 1 for a in range(inputs.ndim)]
            return outputs * ops.reshape(self.gamma, spread)
        return ops.layer_norm(inputs, self.gamma, self.beta, self.axis, self.epsilon)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale, "rms_scaling": self.rms_scaling,
                **_affine_config(self)}
