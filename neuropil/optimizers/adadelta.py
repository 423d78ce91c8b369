"""Adadelta: steps sized by the ratio of recent update and gradient magnitudes."""
from __future__ import annotations

import numpy as np

from neuropil.optimizers.optimizer import Optimizer

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """E[g²] ← rho · E[g²] + (1−rho) · g²;
    Δ = −sqrt(E[Δ²] + epsilon) / sqrt(E[g²] + epsilon) · g;
    E[Δ²] ← rho · E[Δ²] + (1−rho) · Δ²;  w ← w + lr · Δ   (Zeiler, 2012; Keras's form).

    The ratio of the two running RMS values gives each weight its own step size with the
    units of the weight; ``learning_rate`` scales the result (1.0 is the paper's form).

    Args:
        learning_rate: scale of the step, or a schedule (default 0.001).
        rho: decay of both running averages (default 0.95).
        epsilon: small constant for stability (default 1e-7).
        **kwargs: the base arguments (weight_decay, clipnorm, clipvalue, name, ...).
    """

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.rho, self.epsilon = rho, epsilon

    def update_step(self, gradient, variable, learning_rate):
        mean_square_grad = self._slot(variable, "accumulated_grad")
        mean_square_delta = self._slot(variable, "accumulated_delta_var")
        mean_square_grad *= self.rho
        mean_square_grad += (1 - self.rho) * gradient * gradient
        delta = -(np.sqrt(mean_square_delta + self.epsilon) * gradient
                  / np.sqrt(mean_square_grad + self.epsilon))
        mean_square_delta *= self.rho
        mean_square_delta += (1 - self.rho) * delta * delta
        variable.data += learning_rate * delta

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}
