"""Normalization layers: BatchNormalization (per channel, over the batch),
LayerNormalization (per sample, over its features), GroupNormalization (per sample, over
groups of channels) and UnitNormalization (each sample scaled to L2 norm 1)."""
from __future__ import annotations

import warnings

from neuropil import backend, constraints, initializers, ops, regularizers
from neuropil.layers.input_spec import InputSpec, format_shape
from neuropil.layers.layer import Layer

__all__ = ["BatchNormalization", "LayerNormalization", "GroupNormalization",
           "UnitNormalization"]


def _serialize_or_none(regularizer):
    return None if regularizer is None else regularizers.serialize(regularizer)


def _set_affine(layer, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                gamma_regularizer, beta_constraint, gamma_constraint) -> None:
    """Checks and keeps a normalization layer's arguments for its learned shift (beta) and
    scale (gamma); ``_affine_config`` writes them back."""
    kind = type(layer).__name__
    layer.center, layer.scale = _flag(kind, "center", center), _flag(kind, "scale", scale)
    layer.beta_initializer = initializers.get(beta_initializer)
    layer.gamma_initializer = initializers.get(gamma_initializer)
    layer.beta_regularizer = regularizers.get(beta_regularizer)
    layer.gamma_regularizer = regularizers.get(gamma_regularizer)
    layer.beta_constraint = constraints.get(beta_constraint)
    layer.gamma_constraint = constraints.get(gamma_constraint)


def _affine_config(layer) -> dict:
    """The config of a normalization layer's learned shift (beta) and scale (gamma): their
    initializers, regularizers and constraints, as Keras writes them."""
    return {"beta_initializer": initializers.serialize(layer.beta_initializer),
            "gamma_initializer": initializers.serialize(layer.gamma_initializer),
            "beta_regularizer": _serialize_or_none(layer.beta_regularizer),
            "gamma_regularizer": _serialize_or_none(layer.gamma_regularizer),
            "beta_constraint": constraints.serialize(layer.beta_constraint),
            "gamma_constraint": constraints.serialize(layer.gamma_constraint)}


def _flag(layer: str, name: str, value) -> bool:
    if not isinstance(value, (bool, int)):
        raise TypeError(f"{layer}: `{name}` must be True or False. Received: {name}={value!r}")
    return bool(value)


class BatchNormalization(Layer):
    """Normalizes each channel to mean 0 and variance 1, then scales by gamma and shifts by beta.

    In training (``fit``, or ``training=True``) the layer uses the mean and the (biased)
    variance of the current batch over every axis but ``axis``, and moves its running
    statistics towards them::

        moving_mean     = moving_mean     * momentum + batch_mean     * (1 - momentum)
        moving_variance = moving_variance * momentum + batch_variance * (1 - momentum)

    In inference (``predict``, ``evaluate``, ``training=False`` or no flag) it uses the moving
    statistics: ``gamma * (x - moving_mean) / sqrt(moving_variance + epsilon) + beta``.
    As in Keras, a layer with ``trainable = False`` runs in inference mode even inside
    ``fit``, so fine-tuning with a frozen BatchNormalization leaves its statistics alone.
    The moving statistics are non-trainable weights: they never receive gradients.

    Under data parallelism (``neuropil.distribution.DataParallel``), each rank trains on its
    slice of every global batch, and by default (``synchronized=False``) this layer uses that
    slice's own (local) statistics, as Keras does on each device: the result then differs
    from one process with the whole batch, more so for small slices. With
    ``synchronized=True`` the mean and variance are those of the global batch (every rank's
    slice), and so are the per-channel sums of the backward pass, so n ranks with global
    batch B train like one process with batch B, moving statistics included. It costs one
    small collective (a few per-channel vectors) in forward and one in backward per step.
    Without a distribution, or in inference, ``synchronized=True`` changes nothing.

    Args:
        axis: the channel axis, normalized per entry (default -1, channels-last;
            use 1 after a ``data_format="channels_first"`` convolution).
        momentum: the moving averages' momentum (default 0.99). PyTorch's ``momentum`` is
            ``1 - momentum``.
        epsilon: added to the variance before the square root (default 1e-3).
        center: whether to add the learned offset beta.
        scale: whether to multiply by the learned gamma.
        beta_initializer, gamma_initializer, moving_mean_initializer,
            moving_variance_initializer: how the four weights start
            (zeros, ones, zeros, ones).
        beta_regularizer, gamma_regularizer: optional penalties.
        beta_constraint, gamma_constraint: optional ``keras.constraints`` applied after
            each optimizer step.
        synchronized: in training under a ``DataParallel`` distribution, use the statistics
            of the global batch across all ranks rather than this rank's slice (default
            False). Every rank must then run the layer in the same order, as ``fit`` does.
        renorm, renorm_clipping, renorm_momentum: Keras's batch renormalization; accepted
            so Keras configs load, but ``renorm=True`` is not supported.

    Input shape: any; ``input_shape[axis]`` must be known. Output shape: the same.
    Weights: gamma, beta (trainable), moving_mean, moving_variance (non-trainable), each of
    shape ``(channels,)``: 4 x channels parameters, half of them trainable.

    Example:
    >>> import neuropil as keras
    >>> layer = keras.layers.BatchNormalization()
    >>> y = layer(np.array([[1.0], [3.0]], "float32"), training=True)
    >>> np.round(y.numpy().ravel(), 3).tolist()  # (x - 2) / sqrt(1 + 0.001)
    [-1.0, 1.0]
    >>> layer.moving_mean.numpy()  # 0.99 * 0 + 0.01 * 2
    array([0.02], dtype=float32)
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, renorm=False, renorm_clipping=None,
                 renorm_momentum=0.99, synchronized=False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise TypeError("BatchNormalization: `axis` must be an integer (the channel axis). "
                            f"Received: axis={axis!r}")
        if not 0.0 <= momentum <= 1.0:
            raise ValueError("BatchNormalization: `momentum` must be in [0, 1]. "
                             f"Received: momentum={momentum!r}")
        if not epsilon >= 0:
            raise ValueError("BatchNormalization: `epsilon` must be >= 0 (typically 1e-3). "
                             f"Received: epsilon={epsilon!r}")
        if renorm:
            raise NotImplementedError("BatchNormalization: renorm=True (batch "
                                      "renormalization) is not supported by neuropil yet.")
        self.axis, self.momentum, self.epsilon = axis, float(momentum), float(epsilon)
        _set_affine(self, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                    gamma_regularizer, beta_constraint, gamma_constraint)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.renorm, self.renorm_clipping = False, renorm_clipping
        self.renorm_momentum = renorm_momentum
        self.synchronized = _flag("BatchNormalization", "synchronized", synchronized)
        self.supports_masking = True
        self.gamma = self.beta = self.moving_mean = self.moving_variance = None

    def build(self, input_shape):
        rank = len(input_shape)
        if not -rank <= self.axis < rank:
            raise ValueError(f'Layer "{self.name}": axis {self.axis} is out of bounds for input '
                             f"shape {format_shape(input_shape)}. Received: axis={self.axis}")
        channels = input_shape[self.axis]
        if channels is None:
            raise ValueError(f'Layer "{self.name}": the channel axis ({self.axis}) of the input '
                             f"must be known to build BatchNormalization. Received input shape "
                             f"{format_shape(input_shape)}")
        shape = (channels,)
        if self.scale:
            self.gamma = self.add_weight(shape, self.gamma_initializer, name="gamma",
                                         regularizer=self.gamma_regularizer,
                                         constraint=self.gamma_constraint)
        if self.center:
            self.beta = self.add_weight(shape, self.beta_initializer, name="beta",
                                        regularizer=self.beta_regularizer,
                                        constraint=self.beta_constraint)
        self.moving_mean = self.add_weight(shape, self.moving_mean_initializer,
                                           trainable=False, name="moving_mean")
        self.moving_variance = self.add_weight(shape, self.moving_variance_initializer,
                                               trainable=False, name="moving_variance")
        self.input_spec = InputSpec(ndim=rank, axes={self.axis: channels})

    def call(self, inputs, training=None):
        if training and self.trainable:
            # NOTE: backend.distribution() is None unless neuropil.distribution set one, so
            # without it nothing MPI-related is touched.
            distribution = backend.distribution()
            outputs, mean, variance = ops.batch_norm(
                inputs, self.gamma, self.beta, self.axis, self.epsilon, return_moments=True,
                distribution=distribution if self.synchronized else None)
            if distribution is not None and distribution.share == 0 and not self.synchronized:
                return outputs  # a stand-in for an empty slice: no local statistics to learn
            # Plain array updates: the moving statistics are state, not part of the graph.
            m = self.momentum
            self.moving_mean.assign(self.moving_mean.data * m + mean.data * (1.0 - m))
            self.moving_variance.assign(self.moving_variance.data * m +
                                        variance.data * (1.0 - m))
            return outputs
        return ops.batch_norm_inference(inputs, self.moving_mean, self.moving_variance,
                                        self.gamma, self.beta, self.axis, self.epsilon)

    def compute_output_shape(self, input_shape):
        rank = len(input_shape)
        if not -rank <= self.axis < rank:
            raise ValueError(f'Layer "{self.name}": axis {self.axis} is out of bounds for input '
                             f"shape {format_shape(input_shape)}. Received: axis={self.axis}")
        return input_shape

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum,
                "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
                **_affine_config(self),
                "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
                "moving_variance_initializer":
                    initializers.serialize(self.moving_variance_initializer),
                "synchronized": self.synchronized, "renorm": self.renorm,
                "renorm_clipping": self.renorm_clipping,
                "renorm_momentum": self.renorm_momentum}


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


def _axis_in_bounds(layer, axis, input_shape) -> None:
    rank = len(input_shape)
    for a in axis if isinstance(axis, list) else [axis]:
        if not -rank <= a < rank:
            raise ValueError(f'Layer "{layer.name}": axis {a} is out of bounds for input '
                             f"shape {format_shape(input_shape)}. Received: axis={axis}")


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


class UnitNormalization(Layer):
    """Scales each sample to Euclidean (L2) norm 1 over ``axis``: x / ||x||.

    The norm is floored at 1e-12, as in Keras, so an all-zero sample stays zero instead of
    dividing by zero. The layer has no weights and behaves the same in training and
    inference.

    Args:
        axis: an int or a list of ints, the axes the norm is taken over (default -1).

    Input shape: any. Output shape: the same.

    Example:
    >>> import neuropil as keras
    >>> keras.layers.UnitNormalization()(np.array([[3.0, 4.0]], "float32")).numpy()
    array([[0.6, 0.8]], dtype=float32)
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            axis = list(axis)
        if not all(isinstance(a, int) and not isinstance(a, bool)
                   for a in (axis if isinstance(axis, list) else [axis])):
            raise TypeError("UnitNormalization: `axis` must be an int or a list/tuple of "
                            f"ints. Received: axis={axis!r}")
        self.axis = axis
        self.supports_masking = True
        self.built = True  # no weights: built from the start, as in Keras

    def call(self, inputs):
        axis = tuple(self.axis) if isinstance(self.axis, list) else self.axis
        return ops.normalize(inputs, axis=axis, order=2, epsilon=1e-12)

    def compute_output_shape(self, input_shape):
        _axis_in_bounds(self, self.axis, input_shape)
        return input_shape

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
