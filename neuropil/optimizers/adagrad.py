"""Adagrad: each weight's step shrinks with the sum of its squared gradients so far."""
from __future__ import annotations

import numpy as np

from neuropil.optimizers.optimizer import Optimizer

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """a ← a + g²;  w ← w − lr · g / sqrt(a + epsilon), with ``a`` starting at
    ``initial_accumulator_value`` (Keras's form: epsilon inside the square root).

    Weights that get large or frequent gradients slow down; rarely updated ones keep
    larger steps (Duchi et al., 2011).

    Args:
        learning_rate: step size or schedule (default 0.001; the paper's form uses 1.0).
        initial_accumulator_value: starting value of ``a`` (default 0.1, must be >= 0).
        epsilon: small constant for stability (default 1e-7).
        **kwargs: the base arguments (weight_decay, clipnorm, clipvalue, name, ...).
    """

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 **kwargs):
        super().__init__(learning_rate, **kwargs)
        if initial_accumulator_value < 0:
            raise ValueError("Adagrad: `initial_accumulator_value` must be >= 0. Received: "
                             f"initial_accumulator_value={initial_accumulator_value}")
        self.initial_accumulator_value, self.epsilon = initial_accumulator_value, epsilon

    def update_step(self, gradient, variable, learning_rate):
        accumulator = self._slot(variable, "accumulator", self.initial_accumulator_value)
        accumulator += gradient * gradient
        variable.data -= learning_rate * gradient / np.sqrt(accumulator + self.epsilon)

    def get_config(self):
        return {**super().get_config(),
                "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}
