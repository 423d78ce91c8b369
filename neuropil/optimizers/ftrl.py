"""FTRL-Proximal: "Follow The Regularized Leader", for wide sparse linear models."""
from __future__ import annotations

import numpy as np

from neuropil.optimizers.optimizer import Optimizer

__all__ = ["Ftrl"]


class Ftrl(Optimizer):
    """McMahan et al., 2013, in Keras's form. With p = −learning_rate_power (½ by default),
    λ1 = l1, λ2 = l2 + beta / (2·lr), g' = g + 2·l2_shrinkage·w:
        n' = n + g²;   z ← z + g' − (n'^p − n^p) / lr · w;   n ← n'
        w ← (clip(z, −λ1, λ1) − z) / (n'^p / lr + 2·λ2)
    so ``w`` is exactly 0 wherever |z| ≤ λ1 (L1 gives sparse weights).

    Args:
        learning_rate: step size or schedule (default 0.001).
        learning_rate_power: <= 0; how the per-weight rate falls with n (default −0.5).
        initial_accumulator_value: starting value of n, >= 0 (default 0.1).
        l1_regularization_strength, l2_regularization_strength: >= 0 (default 0).
        l2_shrinkage_regularization_strength: >= 0; an L2 penalty on the loss (default 0).
        beta: adds beta / (2·lr) to the L2 strength (default 0).
        **kwargs: the base arguments (weight_decay, clipnorm, clipvalue, name, ...).
    """

    def __init__(self, learning_rate=0.001, learning_rate_power=-0.5,
                 initial_accumulator_value=0.1, l1_regularization_strength=0.0,
                 l2_regularization_strength=0.0, l2_shrinkage_regularization_strength=0.0,
                 beta=0.0, **kwargs):
        super().__init__(learning_rate, **kwargs)
        for name, value in (("initial_accumulator_value", initial_accumulator_value),
                            ("l1_regularization_strength", l1_regularization_strength),
                            ("l2_regularization_strength", l2_regularization_strength),
                            ("l2_shrinkage_regularization_strength",
                             l2_shrinkage_regularization_strength)):
            if value < 0:
                raise ValueError(f"Ftrl: `{name}` must be >= 0. Received: {name}={value}")
        if learning_rate_power > 0:
            raise ValueError("Ftrl: `learning_rate_power` must be <= 0. Received: "
                             f"learning_rate_power={learning_rate_power}")
        self.learning_rate_power = learning_rate_power
        self.initial_accumulator_value = initial_accumulator_value
        self.l1_regularization_strength = l1_regularization_strength
        self.l2_regularization_strength = l2_regularization_strength
        self.l2_shrinkage_regularization_strength = l2_shrinkage_regularization_strength
        self.beta = beta

    def update_step(self, gradient, variable, learning_rate):
        accumulator = self._slot(variable, "accumulator", self.initial_accumulator_value)
        linear = self._slot(variable, "linear")
        power = -self.learning_rate_power
        l1 = self.l1_regularization_strength
        l2 = self.l2_regularization_strength + self.beta / (2.0 * learning_rate)
        w = variable.data
        shrunk_gradient = gradient + 2 * self.l2_shrinkage_regularization_strength * w
        new_accumulator = accumulator + gradient * gradient
        linear += shrunk_gradient - (new_accumulator ** power - accumulator ** power) \
            / learning_rate * w
        quadratic = new_accumulator ** power / learning_rate + 2 * l2
        w[...] = (np.clip(linear, -l1, l1) - linear) / quadratic
        accumulator[...] = new_accumulator

    def get_config(self):
        return {**super().get_config(),
                "learning_rate_power": self.learning_rate_power,
                "initial_accumulator_value": self.initial_accumulator_value,
                "l1_regularization_strength": self.l1_regularization_strength,
                "l2_regularization_strength": self.l2_regularization_strength,
                "l2_shrinkage_regularization_strength":
                    self.l2_shrinkage_regularization_strength,
                "beta": self.beta}
