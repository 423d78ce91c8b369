"""Fused loss ops: their backward is the short closed form, not the chain of small ops.

softmax + cross-entropy: d/dz = softmax(z) - y. Sigmoid + binary cross-entropy: sigmoid(z) - y.
Both take logits, so they never take the log of a probability that rounded to 0.
"""
from __future__ import annotations

import numpy as np

from neuropil.autodiff import Op
from neuropil.ops.elementwise import unbroadcast

__all__ = ["softmax_cross_entropy", "sparse_softmax_cross_entropy",
           "sigmoid_binary_cross_entropy"]


def _log_softmax(z, axis):
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


class SoftmaxCrossEntropy(Op):
    """-Σ_k y_k log softmax(z)_k over ``axis``, one value per sample; y is a distribution."""

    def __init__(self, axis=-1):
        self.axis = axis

    def forward(self, logits, target):
        log_probs = _log_softmax(logits, self.axis)
        if self.recording:
            self.log_probs, self.target = log_probs, target
        return -(target * log_probs).sum(axis=self.axis)

    def backward(self, grad):
        grad = np.expand_dims(grad, self.axis)
        target_sum = self.target.sum(axis=self.axis, keepdims=True)
        g_logits = grad * (np.exp(self.log_probs) * target_sum - self.target)
        g_target = unbroadcast(-grad * self.log_probs, self.target.shape) \
            if self.needs_grad[1] else None
        g_logits = unbroadcast(g_logits, self.log_probs.shape)
        return g_logits.astype(self.log_probs.dtype, copy=False), g_target


class SparseSoftmaxCrossEntropy(Op):
    """Like SoftmaxCrossEntropy with integer class indices instead of one-hot rows."""

    def forward(self, logits, labels):
        log_probs = _log_softmax(logits, -1)
        flat = log_probs.reshape(-1, log_probs.shape[-1])
        self.rows = np.arange(flat.shape[0])
        self.labels = labels.reshape(-1).astype(np.intp)
        if self.recording:
            self.log_probs = log_probs
        return -flat[self.rows, self.labels].reshape(labels.shape)

    def backward(self, grad):
        probs = np.exp(self.log_probs)
        flat = probs.reshape(-1, probs.shape[-1])
        flat[self.rows, self.labels] -= 1
        # grad has the labels' shape, which may be (N, 1) as well as (N,)
        return probs * grad.reshape(probs.shape[:-1] + (1,)), None


class SigmoidBinaryCrossEntropy(Op):
    """Elementwise -[y log σ(z) + (1-y) log(1-σ(z))] = max(z,0) - z·y + log(1 + e^-|z|)."""

    def forward(self, logits, target):
        if self.recording:
            self.logits, self.target = logits, target
        return np.maximum(logits, 0) - logits * target + np.log1p(np.exp(-np.abs(logits)))

    def backward(self, grad):
        sig = 0.5 * (1.0 + np.tanh(0.5 * self.logits))
        g_target = unbroadcast(-grad * self.logits, self.target.shape) \
            if self.needs_grad[1] else None
        return unbroadcast(grad * (sig - self.target), self.logits.shape), g_target


def softmax_cross_entropy(logits, target, axis=-1):
    return SoftmaxCrossEntropy(axis)(logits, target)


def sparse_softmax_cross_entropy(logits, labels):
    return SparseSoftmaxCrossEntropy()(logits, labels)


def sigmoid_binary_cross_entropy(logits, target):
    return SigmoidBinaryCrossEntropy()(logits, target)
