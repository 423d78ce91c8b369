"""Stochastic gradient descent, with optional (Nesterov) momentum."""
from __future__ import annotations

from neuropil.optimizers.optimizer import Optimizer

__all__ = ["SGD"]


class SGD(Optimizer):
    """w ← w − lr · g; with momentum m ← momentum · m − lr · g, w ← w + m.

    Nesterov momentum looks one step ahead: w ← w + momentum · m − lr · g.

    Args:
        learning_rate: step size (Keras's default 0.01).
        momentum: in [0, 1); 0 is plain gradient descent.
        nesterov: use Nesterov momentum.

    Example:
    >>> import neuropil as keras
    >>> opt = keras.optimizers.SGD(learning_rate=0.1, momentum=0.9)
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, name=None, **kwargs):
        super().__init__(learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name,
                         **kwargs)
        if not isinstance(momentum, (int, float)) or not 0 <= momentum <= 1:
            raise ValueError(f"SGD: `momentum` must be a float between [0, 1]. "
                             f"Received: momentum={momentum!r}")
        self.momentum, self.nesterov = float(momentum), bool(nesterov)

    def update_step(self, gradient, variable, learning_rate):
        w = variable.data
        compiled = self._compiled(gradient, w)
        if compiled is not None:  # one pass, the same numbers as the NumPy lines below
            lr, momentum = self._scalars_as(w.dtype, (learning_rate, self.momentum))
            if self.momentum:
                compiled.sgd_momentum(w, gradient, self._slot(variable, "momentum"), lr,
                                      momentum, self.nesterov)
            else:
                compiled.sgd(w, gradient, lr)
            return
        if not self.momentum:
            w -= learning_rate * gradient
            return
        m = self._slot(variable, "momentum")
        m *= self.momentum
        m -= learning_rate * gradient
        if self.nesterov:
            w += self.momentum * m - learning_rate * gradient
        else:
            w += m

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}
