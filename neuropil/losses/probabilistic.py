"""Losses between distributions or counts: the Kullback-Leibler divergence and the Poisson
negative log-likelihood."""
from __future__ import annotations

from neuropil import backend, ops
from neuropil.losses.loss import _align_ranks, _tensor, _wrapper_class

__all__ = ["KLDivergence", "Poisson", "kl_divergence", "poisson"]


def kl_divergence(y_true, y_pred):
    """Σ y log(y / p) over the last axis, both clipped to [epsilon, 1] first (Keras's rule,
    so a zero in either gives a finite value)."""
    y_pred = _tensor(y_pred)
    y_true = _align_ranks(_tensor(y_true, y_pred.dtype), y_pred)
    eps = backend.epsilon()
    y_true, y_pred = ops.clip(y_true, eps, 1.0), ops.clip(y_pred, eps, 1.0)
    return ops.sum(ops.multiply(y_true, ops.log(ops.divide(y_true, y_pred))), axis=-1)


def poisson(y_true, y_pred):
    """mean(p - y log(p + epsilon)) over the last axis: the Poisson negative log-likelihood
    of counts ``y_true`` at rate ``y_pred``, without the log(y!) term."""
    y_pred = _tensor(y_pred)
    y_true = _align_ranks(_tensor(y_true, y_pred.dtype), y_pred)
    log_rate = ops.log(ops.add(y_pred, backend.epsilon()))
    return ops.mean(ops.subtract(y_pred, ops.multiply(y_true, log_rate)), axis=-1)


KLDivergence = _wrapper_class("KLDivergence", kl_divergence, "kl_divergence",
                              "Kullback-Leibler divergence Σ y log(y / p) of two distributions.")
Poisson = _wrapper_class("Poisson", poisson, "poisson",
                         "Poisson negative log-likelihood, p - y log(p), for count targets.")
