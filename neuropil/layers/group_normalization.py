"""GroupNormalization: per sample, over groups of channels (``groups=-1``: instance
normalization)."""
from __future__ import annotations

from neuropil import ops
from neuropil.layers.input_spec import InputSpec, format_shape
from neuropil.layers.layer import Layer
from neuropil.layers.normalization_utils import _affine_config, _axis_in_bounds, _set_affine

__all__ = ["GroupNormalization", "group_norm"]


def group_norm(inputs, gamma, beta, groups: int, axis: int, epsilon: float):
    """Group normalization composed from ops (its gradient comes from theirs).

    The channel axis is split into (groups, channels // groups); each sample's groups are
    normalized with their own mean and biased variance over every other non-batch axis,
    then gamma and beta (one per channel, or None) scale and shift.
    """
    shape = tuple(inputs.shape)
    axis = axis % len(shape)
    grouped = shape[:axis] + (groups, shape[axis] // groups) + shape[axis + 1:]
    x = ops.reshape(inputs, grouped)
    axes = tuple(i for i in range(1, len(grouped)) if i != axis)
    mean, variance = ops.moments(x, axes, keepdims=True)
    outputs = ops.reshape((x - mean) * ops.rsqrt(variance + epsilon), shape)
    spread = tuple(n if i == axis else 1 for i, n in enumerate(shape))
    if gamma is not None:
        outputs = outputs * ops.reshape(gamma, spread)
    if beta is not None:
        outputs = outputs + ops.reshape(beta, spread)
    return outputs


class GroupNormalization(Layer):
    """Normalizes each sample over groups of channels: the channels are split into
    ``groups`` groups of consecutive channels, and each group of each sample is brought to
    mean 0 and variance 1 over its channels and all its positions, then scaled by gamma and
    shifted by beta (one of each per channel).

    It uses no batch statistics, so it behaves the same in training and inference and
    works with batches of any size, even 1. ``groups=1`` normalizes each sample over all
    of its values (like LayerNormalization over every axis, but with per-channel gamma and
    beta); ``groups=-1`` (one group per channel) is instance normalization.

    Args:
        groups: the number of groups (default 32); it must divide the number of channels.
            -1 means one group per channel (after ``build`` it holds the channel count).
        axis: the channel axis (default -1, channels-last; 1 for channels-first).
        epsilon: added to the variance before the square root (default 1e-3; PyTorch's
            ``nn.GroupNorm`` uses 1e-5).
        center: whether to add the learned offset beta (default True).
        scale: whether to multiply by the learned gamma (default True).
        beta_initializer, gamma_initializer: how beta and gamma start (zeros, ones).
        beta_regularizer, gamma_regularizer: optional penalties.
        beta_constraint, gamma_constraint: optional ``keras.constraints`` applied after
            each optimizer step.

    Input shape: any, with the channel axis known. Output shape: the same.
    Weights: gamma, beta (trainable, in that order), each of shape ``(channels,)``.

    Example:
    >>> import neuropil as keras
    >>> layer = keras.layers.GroupNormalization(groups=2, epsilon=0.0)
    >>> layer(np.array([[1.0, 3.0, 0.0, 10.0]], "float32")).numpy()  # groups [1, 3], [0, 10]
    array([[-1.,  1., -1.,  1.]], dtype=float32)
    """

    def __init__(self, groups=32, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 **kwargs):
        if isinstance(groups, bool) or not isinstance(groups, int) or (
                groups <= 0 and groups != -1):
            raise ValueError("GroupNormalization: received an invalid value for argument "
                             "`groups`, expected a positive integer (or -1 for instance "
                             f"normalization). Received: groups={groups!r}")
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise TypeError("GroupNormalization: `axis` must be an integer (the channel "
                            f"axis). Received: axis={axis!r}")
        super().__init__(**kwargs)
        self.supports_masking = True
        self.groups, self.axis, self.epsilon = groups, axis, epsilon
        _set_affine(self, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                    gamma_regularizer, beta_constraint, gamma_constraint)
        self.gamma = self.beta = None

    def build(self, input_shape):
        _axis_in_bounds(self, self.axis, input_shape)
        if self.axis % len(input_shape) == 0:
            raise ValueError(f'Layer "{self.name}": axis {self.axis} is the batch axis; '
                             "GroupNormalization needs the channel axis (e.g. -1 or 1).")
        channels = input_shape[self.axis]
        if channels is None:
            raise ValueError(f'Layer "{self.name}": the channel axis ({self.axis}) of the '
                             "input must be known to build GroupNormalization. Received "
                             f"input shape {format_shape(input_shape)}")
        if self.groups == -1:
            self.groups = channels
        if channels < self.groups or channels % self.groups:
            raise ValueError(f'Layer "{self.name}" (GroupNormalization): groups={self.groups} '
                             f"must divide the number of channels, {channels} (axis "
                             f"{self.axis} of input shape {format_shape(input_shape)}). Pick "
                             f"a divisor of {channels}, or groups=-1 for one per channel.")
        self.input_spec = InputSpec(ndim=len(input_shape), axes={self.axis: channels})
        if self.scale:
            self.gamma = self.add_weight((channels,), self.gamma_initializer, name="gamma",
                                         regularizer=self.gamma_regularizer,
                                         constraint=self.gamma_constraint)
        if self.center:
            self.beta = self.add_weight((channels,), self.beta_initializer, name="beta",
                                        regularizer=self.beta_regularizer,
                                        constraint=self.beta_constraint)

    def call(self, inputs):
        return group_norm(inputs, self.gamma, self.beta, self.groups, self.axis, self.epsilon)

    def compute_output_shape(self, input_shape):
        _axis_in_bounds(self, self.axis, input_shape)
        return input_shape

    def get_config(self):
        return {**super().get_config(), "groups": self.groups, "axis": self.axis,
                "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
                **_affine_config(self)}
