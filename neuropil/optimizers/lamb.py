"""Lamb: Adam's step, rescaled per weight tensor by the ratio of the weight's norm to the
step's norm (layer-wise adaptation for large batches)."""
from __future__ import annotations

import numpy as np

from neuropil.optimizers.optimizer import Optimizer

__all__ = ["Lamb"]


class Lamb(Optimizer):
    """m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;
    u = (m / (1−β1^t)) / (sqrt(v / (1−β2^t)) + epsilon)   (Adam's bias-corrected step);
    w ← w − lr · (‖w‖ / ‖u‖) · u, the trust ratio ‖w‖ / ‖u‖ taken as 1 when either norm is 0
    (You et al., 2019, "Large Batch Optimization for Deep Learning"; Keras's form).

    The norms are over each weight tensor as a whole (a whole kernel, a whole bias), so every
    tensor moves by about ``lr`` times its own size per step, whatever its gradient's scale.
    Keras's Lamb has no weight-decay term of its own: ``weight_decay`` is the base class's
    decoupled decay, applied before the step (so the trust ratio sees the decayed weight).

    Args:
        learning_rate: step size or schedule (default 0.001).
        beta_1, beta_2: decay of the first and second moment estimates (0.9, 0.999).
        epsilon: small constant for stability (default 1e-7).
        **kwargs: the base arguments (weight_decay, clipnorm, clipvalue, global_clipnorm,
            name, ...).

    Example (first step: m and v hold g and g², so u ≈ sign(g) = [1, -1] and ‖u‖ ≈ √2,
    while ‖w‖ = 5; each entry moves by 0.1 · 5 / √2 ≈ 0.354):
    >>> import neuropil as keras
    >>> w = keras.Variable(np.array([3.0, 4.0], "float32"))
    >>> keras.optimizers.Lamb(learning_rate=0.1).apply([np.array([1.0, -2.0], "float32")], [w])
    >>> np.round(w.numpy(), 3)
    array([2.646, 4.354], dtype=float32)
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 name=None, **kwargs):
        super().__init__(learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name,
                         **kwargs)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def build(self, variables):
        # Slots made up front in Keras's order (momentum then velocity, weight by weight),
        # so optimizer state in .keras files lines up with Keras's.
        super().build(variables)
        for variable in self._trainable_variables:
            self._slot(variable, "momentum")
            self._slot(variable, "velocity")

    def update_step(self, gradient, variable, learning_rate):
        step = int(self.iterations.data) + 1
        m = self._slot(variable, "momentum")
        v = self._slot(variable, "velocity")
        m += (gradient - m) * (1 - self.beta_1)
        v += (gradient * gradient - v) * (1 - self.beta_2)
        update = (m / (1 - self.beta_1 ** step)) / (
            np.sqrt(v / (1 - self.beta_2 ** step)) + self.epsilon)
        weight_norm = float(np.sqrt(np.sum(np.square(variable.data, dtype=np.float64))))
        update_norm = float(np.sqrt(np.sum(np.square(update, dtype=np.float64))))
        ratio = weight_norm / update_norm if weight_norm > 0 and update_norm > 0 else 1.0
        variable.data -= ratio * learning_rate * update

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}
