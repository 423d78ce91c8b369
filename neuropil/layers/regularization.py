"""Layers that fight overfitting by adding noise in training: Dropout, SpatialDropout1D/2D/3D,
GaussianNoise, GaussianDropout, AlphaDropout. Each is the identity outside training.
ActivityRegularization is the identity too; it adds a penalty on its input to the loss."""
from __future__ import annotations

import numbers

from neuropil import ops, regularizers
from neuropil.backend import random
from neuropil.layers.conv_utils import normalize_data_format
from neuropil.layers.input_spec import InputSpec
from neuropil.layers.layer import Layer

__all__ = ["Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise",
           "GaussianDropout", "AlphaDropout", "ActivityRegularization"]


class Dropout(Layer):
    """Randomly sets a fraction ``rate`` of the inputs to 0 during training (inverted dropout).

    Kept values are scaled by 1 / (1 - rate) so the expected sum is unchanged; outside
    training (evaluate, predict, or ``training=False``) the layer passes inputs through.

    Args:
        rate: fraction of the inputs to drop, in [0, 1).
        noise_shape: shape of the keep/drop mask, broadcast over the input (None entries
            take the input's size), e.g. ``(batch, 1, features)`` drops whole features.
        seed: seed of this layer's own random stream.
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
            raise ValueError("Invalid value received for argument `rate`. Expected a float "
                             f"value in [0, 1) for Dropout. Received: rate={rate!r}")
        self.rate, self.noise_shape, self.seed = float(rate), noise_shape, seed
        self.generator = random.make_generator(seed)
        self.supports_masking = True

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        shape = None
        if self.noise_shape is not None:
            shape = tuple(n if d is None else d for d, n in zip(self.noise_shape, inputs.shape))
        return ops.dropout(inputs, self.rate, self.generator, shape)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed,
                "noise_shape": self.noise_shape}


def _rate(layer: str, name: str, value, high_inclusive: bool = False) -> float:
    """A float in [0, 1) (or [0, 1]), else a ValueError that names the layer."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and (
        0 <= value <= 1 if high_inclusive else 0 <= value < 1)
    if not ok:
        interval = "[0, 1]" if high_inclusive else "[0, 1)"
        raise ValueError(f"Invalid value received for argument `{name}`. Expected a float "
                         f"value in {interval} for {layer}. Received: {name}={value!r}")
    return float(value)


class _SpatialDropout(Dropout):
    """Dropout of whole feature maps: one keep/drop draw per (sample, channel), shared by
    every position, so neighbouring (correlated) pixels cannot stand in for a dropped one.
    Variants differ only in rank."""

    rank = 0

    def __init__(self, rate, data_format=None, seed=None, **kwargs):
        super().__init__(_rate(type(self).__name__, "rate", rate), seed=seed, **kwargs)
        self.data_format = normalize_data_format(data_format, type(self).__name__)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        batch, spatial = inputs.shape[0], (1,) * self.rank
        if self.data_format == "channels_first":
            shape = (batch, inputs.shape[1]) + spatial
        else:
            shape = (batch,) + spatial + (inputs.shape[-1],)
        return ops.dropout(inputs, self.rate, self.generator, shape)

    def get_config(self):
        config = {**super().get_config(), "data_format": self.data_format}
        # Keras's spatial-dropout constructors take no noise_shape and no trainable (their
        # get_config leaves both out), so a file that had them would not load in Keras.
        del config["noise_shape"], config["trainable"]
        return config


class SpatialDropout1D(_SpatialDropout):
    """Drops whole channels of a sequence: inputs (batch, steps, channels), one draw per
    (sample, channel). Keras's SpatialDropout1D has no ``data_format``; channels-last only.

    Args:
        rate: fraction of the channels to drop, in [0, 1); kept ones are scaled by
            1 / (1 - rate).
        seed: seed of this layer's own random stream.
    """

    rank = 1

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(rate, data_format=None, seed=seed, **kwargs)

    def get_config(self):
        config = super().get_config()
        del config["data_format"]
        return config


class SpatialDropout2D(_SpatialDropout):
    """Drops whole feature maps of images: the mask has shape (batch, 1, 1, channels)
    (channels-last), so a dropped channel is 0 at every pixel and the kept ones are scaled
    by 1 / (1 - rate). Use it after convolutions, where neighbouring pixels are correlated
    and element-wise Dropout barely regularizes.

    Args:
        rate: fraction of the channels to drop, in [0, 1).
        data_format: "channels_last" (default, (batch, rows, cols, channels)) or
            "channels_first" ((batch, channels, rows, cols)).
        seed: seed of this layer's own random stream.

    Input shape: 4-D. Output shape: the same.

    Example:
    >>> import neuropil as keras
    >>> out = keras.layers.SpatialDropout2D(0.5, seed=1)(np.ones((2, 3, 3, 4)), training=True)
    >>> sorted(set(np.asarray(out).ravel().tolist()))  # whole channels: 0, or 1 / (1 - 0.5)
    [0.0, 2.0]
    """

    rank = 2


class SpatialDropout3D(_SpatialDropout):
    """Drops whole channels of volumes: inputs (batch, d1, d2, d3, channels) channels-last,
    one draw per (sample, channel). Arguments as SpatialDropout2D."""

    rank = 3


class GaussianNoise(Layer):
    """Adds zero-mean Gaussian noise of standard deviation ``stddev`` in training (a form of
    data augmentation for real-valued inputs); the identity in inference.

    Args:
        stddev: the noise's standard deviation, in [0, 1] (Keras's range).
        seed: seed of this layer's own random stream.
    """

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.stddev = _rate("GaussianNoise", "stddev", stddev, high_inclusive=True)
        self.seed = seed
        self.generator = random.make_generator(seed)
        self.supports_masking = True

    def call(self, inputs, training=None):
        if not training or self.stddev == 0:
            return inputs
        return ops.gaussian_noise(inputs, self.stddev, self.generator)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class GaussianDropout(Layer):
    """Multiplies the inputs by Gaussian noise of mean 1 and standard deviation
    sqrt(rate / (1 - rate)) in training: the mean and variance of inverted dropout at
    ``rate``, without zeros. The identity in inference.

    Args:
        rate: as in Dropout, in [0, 1).
        seed: seed of this layer's own random stream.
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate, self.seed = _rate("GaussianDropout", "rate", rate), seed
        self.generator = random.make_generator(seed)
        self.supports_masking = True

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        return ops.gaussian_dropout(inputs, self.rate, self.generator)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class AlphaDropout(Dropout):
    """Dropout for SELU networks: dropped values are set to SELU's negative saturation
    value, then an affine map restores the inputs' mean 0 and variance 1, keeping the
    network self-normalizing. The identity in inference. Arguments as Dropout.
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(_rate("AlphaDropout", "rate", rate), noise_shape, seed, **kwargs)

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        shape = None
        if self.noise_shape is not None:
            shape = tuple(n if d is None else d for d, n in zip(self.noise_shape, inputs.shape))
        return ops.alpha_dropout(inputs, self.rate, self.generator, shape)


class ActivityRegularization(Layer):
    """Passes its input through unchanged and adds a penalty on it to the loss:
    ``(l1 · Σ|x| + l2 · Σx²) / batch_size`` for each call, in ``layer.losses`` (and so in
    ``model.losses`` and the loss ``fit`` minimizes). Penalizing activations, not weights,
    pushes the network towards small or sparse (l1) representations.

    It is the activity regularizer every layer accepts (``Dense(...,
    activity_regularizer=L1L2(l1, l2))``), as a layer of its own.

    Args:
        l1: the L1 factor (default 0.0), a non-negative float.
        l2: the L2 factor (default 0.0), a non-negative float.

    Input shape: any. Output shape: the same.

    Example:
    >>> import neuropil as keras
    >>> layer = keras.layers.ActivityRegularization(l1=0.1)
    >>> y = layer(np.array([[1.0, -3.0], [2.0, 0.0]], "float32"))  # y equals the input
    >>> round(float(layer.losses[0]), 6)  # 0.1 · (1 + 3 + 2 + 0) / 2 samples
    0.3
    """

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        for name, value in (("l1", l1), ("l2", l2)):
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or value < 0:
                raise ValueError(f"ActivityRegularization: `{name}` must be a non-negative "
                                 f"float. Received: {name}={value!r}")
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.l1, self.l2 = l1, l2
        self.supports_masking = True
        self.built = True  # no weights: built from the start, as in Keras

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "l1": self.l1, "l2": self.l2}
