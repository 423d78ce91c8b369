"""AdamW: Adam with decoupled weight decay switched on."""
from __future__ import annotations

from neuropil.optimizers.adam import Adam

__all__ = ["AdamW"]


class AdamW(Adam):
    """Adam whose weights also shrink each step, before the Adam update:
    w ← w − lr · weight_decay · w  (Loshchilov & Hutter, "Decoupled Weight Decay
    Regularization"). The decay lives in the base class and works for every optimizer; AdamW
    only makes it the default and requires it.

    Args:
        learning_rate: step size or schedule (default 0.001).
        weight_decay: the decay rate (Keras's default 0.004; must not be None).
        beta_1, beta_2, epsilon, amsgrad: as in Adam (0.9, 0.999, 1e-7, False).
        **kwargs: the base arguments (clipnorm, clipvalue, global_clipnorm, name, ...).

    Example:
    >>> import neuropil as keras
    >>> keras.optimizers.AdamW().weight_decay
    0.004
    """

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, **kwargs):
        super().__init__(learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                         amsgrad=amsgrad, weight_decay=weight_decay, **kwargs)
        if self.weight_decay is None:
            raise ValueError("AdamW: `weight_decay` must be a float (Keras's default is "
                             "0.004); for no decay use Adam. Received: weight_decay=None")
