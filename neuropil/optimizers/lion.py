"""Lion: the sign of an interpolated momentum sets every step's direction."""
from __future__ import annotations

import numpy as np

from neuropil.optimizers.optimizer import Optimizer

__all__ = ["Lion"]


class Lion(Optimizer):
    """w ← w − lr · sign(β1·m + (1−β1)·g);  then m ← β2·m + (1−β2)·g
    (Chen et al., 2023, "Symbolic Discovery of Optimization Algorithms"; Keras's form).

    Every entry moves by exactly ``lr`` per step, so Lion usually wants a learning rate
    3-10× smaller than AdamW's, and a weight decay 3-10× larger.

    Args:
        learning_rate: step size or schedule (default 0.001).
        beta_1: mix of momentum and gradient in the step, in (0, 1] (default 0.9).
        beta_2: decay of the momentum (default 0.99).
        **kwargs: the base arguments (weight_decay, clipnorm, clipvalue, name, ...).
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, **kwargs):
        super().__init__(learning_rate, **kwargs)
        if beta_1 <= 0 or beta_1 > 1:
            raise ValueError(f"Lion: `beta_1` must be in (0, 1]; at 0 the momentum is ignored "
                             f"and Lion becomes sign SGD. Received: beta_1={beta_1}")
        self.beta_1, self.beta_2 = beta_1, beta_2

    def update_step(self, gradient, variable, learning_rate):
        m = self._slot(variable, "momentum")
        variable.data -= learning_rate * np.sign(self.beta_1 * m + (1 - self.beta_1) * gradient)
        m *= self.beta_2
        m += (1 - self.beta_2) * gradient

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2}
