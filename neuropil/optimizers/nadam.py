"""Nadam: Adam with Nesterov momentum, and Keras's warming momentum schedule."""
from __future__ import annotations

import numpy as np

from neuropil.autodiff import Variable
from neuropil.optimizers.optimizer import Optimizer

__all__ = ["Nadam"]


class Nadam(Optimizer):
    """Adam that looks one step ahead with its momentum (Dozat, 2015), in Keras's form.

    The momentum coefficient warms up with the step t = 1, 2, ...:
    μ_t = β1 · (1 − ½ · 0.96^t), and Π_t = μ_1 · … · μ_t (one product for the whole
    optimizer, advanced once per step). Then
        m ← β1·m + (1−β1)·g;   v ← β2·v + (1−β2)·g²
        m̂ = μ_{t+1} · m / (1 − Π_t · μ_{t+1}) + (1 − μ_t) · g / (1 − Π_t)
        v̂ = v / (1 − β2^t);    w ← w − lr · m̂ / (sqrt(v̂) + epsilon)

    (PyTorch's NAdam computes the same with ``momentum_decay=1.0``; its default 0.004 makes
    μ warm up 250 times slower.)

    Args:
        learning_rate: step size or schedule (default 0.001).
        beta_1, beta_2: decay of the first and second moments (0.9, 0.999).
        epsilon: small constant for stability (default 1e-7).
        **kwargs: the base arguments (weight_decay, clipnorm, clipvalue, name, ...).
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self._u_product = None

    def _mu(self, step: int) -> float:
        return self.beta_1 * (1.0 - 0.5 * 0.96 ** step)

    def update_steps(self, grads, variables, learning_rate):
        if self._u_product is None:  # float32 like the weights, as Keras keeps it
            self._u_product = Variable(np.ones((), np.float32), trainable=False,
                                       name="u_product")
            self._variables.append(self._u_product)
        self._u_product.data *= self._mu(int(self.iterations.data) + 1)
        super().update_steps(grads, variables, learning_rate)

    def update_step(self, gradient, variable, learning_rate):
        step = int(self.iterations.data) + 1
        mu, mu_next = self._mu(step), self._mu(step + 1)
        u_product = float(self._u_product.data)
        m = self._slot(variable, "momentum")
        v = self._slot(variable, "velocity")
        m += (gradient - m) * (1 - self.beta_1)
        v += (gradient * gradient - v) * (1 - self.beta_2)
        m_hat = (mu_next * m / (1 - u_product * mu_next)
                 + (1 - mu) * gradient / (1 - u_product))
        v_hat = v / (1 - self.beta_2 ** step)
        variable.data -= learning_rate * m_hat / (np.sqrt(v_hat) + self.epsilon)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}
