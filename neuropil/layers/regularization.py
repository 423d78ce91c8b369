"""Layers that fight overfitting by adding noise in training: Dropout."""
from __future__ import annotations

from neuropil import ops
from neuropil.backend import random
from neuropil.layers.layer import Layer

__all__ = ["Dropout"]


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
