"""Adamax: Adam with the infinity norm in place of the second moment."""
from __future__ import annotations

import numpy as np

from neuropil.optimizers.optimizer import Optimizer

__all__ = ["Adamax"]


class Adamax(Optimizer):
    """m ← β1·m + (1−β1)·g;  u ← max(β2·u, |g|);
    w ← w − lr · m / ((1 − β1^t) · (u + epsilon))   (Kingma & Ba, 2014, §7.1; Keras's form).

    Args:
        learning_rate: step size or schedule (default 0.001).
        beta_1: decay of the first moment (default 0.9).
        beta_2: decay of the infinity norm ``u`` (default 0.999).
        epsilon: small constant for stability (default 1e-7).
        **kwargs: the base arguments (weight_decay, clipnorm, clipvalue, name, ...).
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def update_step(self, gradient, variable, learning_rate):
        step = int(self.iterations.data) + 1
        m = self._slot(variable, "momentum")
        u = self._slot(variable, "norm")
        m += (gradient - m) * (1 - self.beta_1)
        np.maximum(self.beta_2 * u, np.abs(gradient), out=u)
        variable.data -= learning_rate * m / ((1 - self.beta_1 ** step) * (u + self.epsilon))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}
