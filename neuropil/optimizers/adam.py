"""Adam: momentum and RMS scaling together, with bias correction."""
from __future__ import annotations

import math

import numpy as np

from neuropil.optimizers.optimizer import Optimizer

__all__ = ["Adam"]


class Adam(Optimizer):
    """m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;
    w ← w − lr · sqrt(1−β2^t)/(1−β1^t) · m / (sqrt(v) + epsilon)   (Keras's form).

    Args:
        learning_rate: step size (default 0.001).
        beta_1, beta_2: decay of the first and second moment estimates (0.9, 0.999).
        epsilon: small constant for stability (default 1e-7).
        amsgrad: use the maximum of past second moments (AMSGrad).
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name=None, **kwargs):
        super().__init__(learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name,
                         **kwargs)
        self.beta_1, self.beta_2, self.epsilon, self.amsgrad = beta_1, beta_2, epsilon, amsgrad

    def build(self, variables):
        # Slots made up front in Keras's order (momentum and velocity per weight, then the
        # amsgrad maxima), so optimizer state in .keras files lines up with Keras's.
        super().build(variables)
        for variable in self._trainable_variables:
            self._slot(variable, "momentum")
            self._slot(variable, "velocity")
        for variable in self._trainable_variables if self.amsgrad else ():
            self._slot(variable, "velocity_hat")

    def update_step(self, gradient, variable, learning_rate):
        step = int(self.iterations.data) + 1
        alpha = learning_rate * math.sqrt(1 - self.beta_2 ** step) / (1 - self.beta_1 ** step)
        w = variable.data
        m = self._slot(variable, "momentum")
        v = self._slot(variable, "velocity")
        compiled = self._compiled(gradient, w)
        if compiled is not None:  # one pass, the same numbers as the NumPy lines below
            constants = self._scalars_as(w.dtype, (1 - self.beta_1, 1 - self.beta_2, alpha,
                                                   self.epsilon))
            if self.amsgrad:
                compiled.adam_amsgrad(w, gradient, m, v, self._slot(variable, "velocity_hat"),
                                      *constants)
            else:
                compiled.adam(w, gradient, m, v, *constants)
            return
        m += (gradient - m) * (1 - self.beta_1)
        v += (gradient * gradient - v) * (1 - self.beta_2)
        if self.amsgrad:
            v_hat = self._slot(variable, "velocity_hat")
            np.maximum(v_hat, v, out=v_hat)
            v = v_hat
        w -= alpha * m / (np.sqrt(v) + self.epsilon)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}
