"""RMSprop: divide each step by a running root-mean-square of recent gradients."""
from __future__ import annotations

import numpy as np

from neuropil.optimizers.optimizer import Optimizer

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """v ← rho · v + (1 − rho) · g²;  w ← w − lr · g / sqrt(v + epsilon)  (Keras's form).

    Args:
        learning_rate: step size (default 0.001).
        rho: decay of the running average of g² (default 0.9).
        momentum: optional momentum on the scaled step (default 0).
        epsilon: small constant for stability (default 1e-7).
        centered: divide by an estimate of the variance instead of the second moment.
    """

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name=None, **kwargs):
        super().__init__(learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name,
                         **kwargs)
        self.rho, self.momentum, self.epsilon, self.centered = rho, momentum, epsilon, centered

    def build(self, variables):
        # Slots made up front in Keras's order (all velocities, then all momentums, then all
        # average gradients), so optimizer state in .keras files lines up with Keras's.
        super().build(variables)
        for name, wanted in (("velocity", True), ("momentum", self.momentum > 0),
                             ("average_gradient", self.centered)):
            for variable in self._trainable_variables if wanted else ():
                self._slot(variable, name)

    def update_step(self, gradient, variable, learning_rate):
        v = self._slot(variable, "velocity")
        compiled = None if self.centered else self._compiled(gradient, variable.data)
        if compiled is not None:  # one pass, the same numbers as the NumPy lines below
            m = self._slot(variable, "momentum") if self.momentum > 0 else v  # v: unused
            compiled.rmsprop(variable.data, gradient, v, m, *self._scalars_as(
                variable.data.dtype, (self.rho, 1 - self.rho, learning_rate, self.epsilon,
                                      self.momentum)))
            return
        v *= self.rho
        v += (1 - self.rho) * gradient * gradient
        denominator = v + self.epsilon
        if self.centered:
            mean_grad = self._slot(variable, "average_gradient")
            mean_grad *= self.rho
            mean_grad += (1 - self.rho) * gradient
            denominator -= mean_grad * mean_grad
        increment = learning_rate * gradient / np.sqrt(denominator)
        if self.momentum > 0:
            m = self._slot(variable, "momentum")
            m *= self.momentum
            m += increment
            variable.data -= m
        else:
            variable.data -= increment

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}
