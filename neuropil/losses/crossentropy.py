"""Cross-entropy losses: categorical (one-hot labels), sparse categorical (integer labels),
binary, and their focal variants that down-weight easy samples.

Cross-entropy on probabilities from a softmax (or sigmoid) output is computed from that
layer's logits with the fused op: the same value, but exact where a probability would round
to 0 in float32, and with the short gradient softmax(z) - y.
"""
from __future__ import annotations

import numpy as np

from neuropil import backend, ops
from neuropil.autodiff import Tensor
from neuropil.losses.loss import _align_ranks, _tensor, _wrapper_class
from neuropil.ops.activations import Sigmoid, Softmax

__all__ = ["CategoricalCrossentropy", "SparseCategoricalCrossentropy", "BinaryCrossentropy",
           "BinaryFocalCrossentropy", "CategoricalFocalCrossentropy",
           "categorical_crossentropy", "sparse_categorical_crossentropy",
           "binary_crossentropy", "binary_focal_crossentropy",
           "categorical_focal_crossentropy"]


def _logits_of(y_pred: Tensor, op_type, axis=None):
    """The input of the softmax/sigmoid op that produced ``y_pred``, if it was recorded."""
    producer = y_pred._producer
    if not isinstance(producer, op_type):
        return None
    if axis is not None and producer.axis % y_pred.ndim != axis % y_pred.ndim:
        return None  # a softmax over another axis: the probabilities are not its logits'
    return producer.inputs[0]


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """-Σ_k y_k log p_k per sample; ``y_true`` is one-hot (use the sparse version for ints).

    Example:
    >>> loss = categorical_crossentropy([[0., 1., 0.]], [[0.05, 0.9, 0.05]])
    >>> round(float(loss[0]), 4)  # -log(0.9)
    0.1054
    """
    y_pred = _tensor(y_pred)
    y_true = _tensor(y_true, y_pred.dtype)
    if y_true.shape != y_pred.shape:
        hint = ""
        if y_true.ndim == y_pred.ndim - 1 or (y_true.ndim == y_pred.ndim and
                                               y_true.shape[-1] == 1):
            hint = (" The labels look like integer class indices: use loss="
                    "'sparse_categorical_crossentropy', or one-hot encode them with "
                    "keras.utils.to_categorical(y, num_classes).")
        raise ValueError("categorical_crossentropy expects one-hot labels shaped like the "
                         f"predictions. Received: y_true.shape={y_true.shape}, "
                         f"y_pred.shape={y_pred.shape}.{hint}")
    if label_smoothing:
        classes = y_pred.shape[axis]
        y_true = _tensor(y_true.data * (1.0 - label_smoothing) + label_smoothing / classes)
    logits = y_pred if from_logits else _logits_of(y_pred, Softmax, axis)
    if logits is not None:
        return ops.softmax_cross_entropy(logits, y_true, axis=axis)
    eps = backend.epsilon()
    probs = ops.divide(y_pred, ops.sum(y_pred, axis=axis, keepdims=True))
    return ops.negative(ops.sum(ops.multiply(y_true, ops.log(ops.clip(probs, eps, 1 - eps))),
                                axis=axis))


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None,
                                    axis=-1):
    """-log p_label per sample; ``y_true`` holds integer class indices 0..classes-1."""
    y_pred = _tensor(y_pred)
    labels = np.asarray(y_true.data if isinstance(y_true, Tensor) else y_true)
    if labels.ndim == y_pred.ndim and labels.shape[-1] == 1:
        labels = labels[..., 0]
    if labels.shape != y_pred.shape[:-1]:
        raise ValueError("sparse_categorical_crossentropy expects one integer label per "
                         f"sample. Received: y_true.shape={labels.shape}, "
                         f"y_pred.shape={y_pred.shape}. For one-hot labels use "
                         "loss='categorical_crossentropy'.")
    classes = y_pred.shape[-1]
    # Without ignore_class every label is checked as is (no mask to build: every step asks).
    valid = None if ignore_class is None else labels != ignore_class
    checked = labels if valid is None else labels[valid]
    if checked.size and (checked.min() < 0 or checked.max() >= classes or
                         (labels.dtype.kind == "f" and np.any(checked != np.round(checked)))):
        bad = checked[(checked < 0) | (checked >= classes) | (checked != np.round(checked))][0]
        raise ValueError(f"sparse_categorical_crossentropy received a label value of {bad}, "
                         f"outside the valid range [0, {classes}) for {classes} output "
                         "classes. Labels must be integer class indices.")
    labels = labels.astype(np.int64) if valid is None else \
        np.where(valid, labels, 0).astype(np.int64)
    logits = y_pred if from_logits else _logits_of(y_pred, Softmax, -1)
    if logits is not None:
        loss = ops.sparse_softmax_cross_entropy(logits, labels)
    else:
        eps = backend.epsilon()
        probs = ops.clip(ops.divide(y_pred, ops.sum(y_pred, axis=-1, keepdims=True)), eps, 1 - eps)
        one_hot = np.eye(classes, dtype=y_pred.dtype)[labels]
        loss = ops.negative(ops.sum(ops.multiply(one_hot, ops.log(probs)), axis=-1))
    return loss if ignore_class is None else ops.multiply(loss, valid.astype(y_pred.dtype))


def _binary_terms(y_true, y_pred, from_logits, label_smoothing) -> tuple:
    """(labels, predictions, logits or None, the elementwise binary cross-entropy): from the
    logits with the fused log-sigmoid op when there are logits (``from_logits``, or
    probabilities straight from a sigmoid), else from the probabilities clipped to
    [eps, 1 - eps]. ``label_smoothing`` squeezes the labels towards 0.5 first."""
    y_pred = _tensor(y_pred)
    y_true = _align_ranks(_tensor(y_true, y_pred.dtype), y_pred)
    if label_smoothing:
        y_true = _tensor(y_true.data * (1.0 - label_smoothing) + 0.5 * label_smoothing)
    logits = y_pred if from_logits else _logits_of(y_pred, Sigmoid)
    if logits is not None:
        return y_true, y_pred, logits, ops.sigmoid_binary_cross_entropy(logits, y_true)
    eps = backend.epsilon()
    p = ops.clip(y_pred, eps, 1 - eps)
    terms = ops.add(ops.multiply(y_true, ops.log(p)),
                    ops.multiply(ops.subtract(1.0, y_true), ops.log(ops.subtract(1.0, p))))
    return y_true, y_pred, None, ops.negative(terms)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """-[y log p + (1 - y) log(1 - p)], averaged over the last axis."""
    return ops.mean(_binary_terms(y_true, y_pred, from_logits, label_smoothing)[3], axis=axis)


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False, alpha=0.25,
                              gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1):
    """Binary cross-entropy scaled by (1 - p_t)^gamma, p_t the probability given to the true
    label, so confident right answers count less (Lin et al., 2017); averaged over ``axis``.

    With ``apply_class_balancing``, label 1 is weighted by ``alpha`` and label 0 by
    ``1 - alpha``. ``label_smoothing`` squeezes the labels towards 0.5 first. NOTE: with
    logits (``from_logits=True``, or probabilities straight from a sigmoid) the cross-entropy
    comes from the fused log-sigmoid op; Keras instead clips the probability to
    [eps, 1 - eps], which only differs for |logit| beyond about 16.
    """
    y_true, y_pred, logits, bce = _binary_terms(y_true, y_pred, from_logits, label_smoothing)
    probs = ops.sigmoid(logits) if from_logits else y_pred
    y = y_true.data
    p_t = ops.add(ops.multiply(y, probs), ops.multiply(1.0 - y, ops.subtract(1.0, probs)))
    focal = ops.multiply(ops.power(ops.subtract(1.0, p_t), gamma), bce)
    if apply_class_balancing:
        focal = ops.multiply(focal, (y * alpha + (1.0 - y) * (1.0 - alpha)).astype(y.dtype))
    return ops.mean(focal, axis=axis)


def categorical_focal_crossentropy(y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False,
                                   label_smoothing=0.0, axis=-1):
    """Σ_k alpha_k (1 - p_k)^gamma (-y_k log p_k) over ``axis``: categorical cross-entropy
    with easy (confident, right) samples down-weighted. ``alpha`` is a float or one weight
    per class; probabilities are renormalized and clipped to [eps, 1 - eps] as in
    ``categorical_crossentropy``. ``y_true`` is one-hot.

    Example (Keras's docstring values):
    >>> loss = categorical_focal_crossentropy([[0., 1., 0.]], [[0.05, 0.9, 0.05]])
    >>> round(float(loss[0]), 7)
    0.0002634
    """
    y_pred = _tensor(y_pred)
    y_true = _tensor(y_true, y_pred.dtype)
    if y_true.shape != y_pred.shape:
        raise ValueError("categorical_focal_crossentropy expects one-hot labels shaped like "
                         f"the predictions. Received: y_true.shape={y_true.shape}, "
                         f"y_pred.shape={y_pred.shape}.")
    if label_smoothing:
        classes = y_pred.shape[axis]
        y_true = _tensor(y_true.data * (1.0 - label_smoothing) + label_smoothing / classes)
    eps = backend.epsilon()
    if from_logits:
        y_pred = ops.softmax(y_pred, axis=axis)
    probs = ops.divide(y_pred, ops.sum(y_pred, axis=axis, keepdims=True))
    probs = ops.clip(probs, eps, 1 - eps)
    cross_entropy = ops.negative(ops.multiply(y_true, ops.log(probs)))
    weight = ops.multiply(ops.power(ops.subtract(1.0, probs), gamma),
                          np.asarray(alpha, dtype=y_pred.dtype))
    return ops.sum(ops.multiply(weight, cross_entropy), axis=axis)


CategoricalCrossentropy = _wrapper_class(
    "CategoricalCrossentropy", categorical_crossentropy, "categorical_crossentropy",
    "Cross-entropy between one-hot labels and predicted probabilities (or logits).",
    from_logits=False, label_smoothing=0.0, axis=-1)
SparseCategoricalCrossentropy = _wrapper_class(
    "SparseCategoricalCrossentropy", sparse_categorical_crossentropy,
    "sparse_categorical_crossentropy",
    "Cross-entropy between integer labels and predicted probabilities (or logits).",
    from_logits=False, ignore_class=None)
BinaryCrossentropy = _wrapper_class(
    "BinaryCrossentropy", binary_crossentropy, "binary_crossentropy",
    "Cross-entropy for 0/1 labels and a predicted probability (or logit) per output.",
    from_logits=False, label_smoothing=0.0, axis=-1)
BinaryFocalCrossentropy = _wrapper_class(
    "BinaryFocalCrossentropy", binary_focal_crossentropy, "binary_focal_crossentropy",
    "Binary cross-entropy down-weighting easy samples by (1 - p_t)^gamma.",
    apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False,
    label_smoothing=0.0, axis=-1)
CategoricalFocalCrossentropy = _wrapper_class(
    "CategoricalFocalCrossentropy", categorical_focal_crossentropy,
    "categorical_focal_crossentropy",
    "Categorical cross-entropy down-weighting easy samples by alpha (1 - p)^gamma.",
    alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1)
