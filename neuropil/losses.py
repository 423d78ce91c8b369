"""``keras.losses``: what training minimizes.

Each loss function takes ``(y_true, y_pred)`` and returns one value per sample; a ``Loss``
object (``keras.losses.CategoricalCrossentropy()``) also applies sample weights and reduces
to a scalar (the mean over the batch, by default).

Cross-entropy on probabilities from a softmax (or sigmoid) output is computed from that
layer's logits with the fused op: the same value, but exact where a probability would round
to 0 in float32, and with the short gradient softmax(z) - y.
"""
from __future__ import annotations

import numpy as np

from neuropil import backend, ops
from neuropil._naming import to_snake_case, unknown_identifier
from neuropil.autodiff import Tensor
from neuropil.ops.activations import Sigmoid, Softmax

__all__ = ["Loss", "LossFunctionWrapper", "CategoricalCrossentropy",
           "SparseCategoricalCrossentropy", "BinaryCrossentropy", "MeanSquaredError",
           "MeanAbsoluteError", "Huber", "Hinge", "SquaredHinge", "CategoricalHinge",
           "KLDivergence", "Poisson", "LogCosh", "MeanAbsolutePercentageError",
           "MeanSquaredLogarithmicError", "CosineSimilarity", "BinaryFocalCrossentropy",
           "CategoricalFocalCrossentropy", "Dice", "Tversky", "categorical_crossentropy",
           "sparse_categorical_crossentropy", "binary_crossentropy", "mean_squared_error",
           "mean_absolute_error", "huber", "hinge", "squared_hinge", "categorical_hinge",
           "kl_divergence", "poisson", "log_cosh", "mean_absolute_percentage_error",
           "mean_squared_logarithmic_error", "cosine_similarity", "binary_focal_crossentropy",
           "categorical_focal_crossentropy", "dice", "tversky", "mse", "mae", "get",
           "serialize", "deserialize"]

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


def _tensor(x, dtype=None) -> Tensor:
    if isinstance(x, Tensor):
        return x if dtype is None or x.dtype == dtype else Tensor(x.data.astype(dtype))
    return Tensor(np.asarray(x, dtype=dtype))


def _align_ranks(y_true: Tensor, y_pred: Tensor) -> Tensor:
    """(n,) labels against (n, 1) predictions: give the labels the trailing axis (Keras's
    rule: ranks are matched only across a trailing axis of size 1)."""
    aligned = y_true
    if y_true.ndim == y_pred.ndim - 1 and y_pred.shape[-1] == 1:
        aligned = ops.expand_dims(y_true, -1)
    elif y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
        aligned = ops.squeeze(y_true, -1)
    try:
        np.broadcast_shapes(aligned.shape, y_pred.shape)
    except ValueError:
        raise ValueError(f"The targets do not fit the predictions: y_true.shape={y_true.shape}, "
                         f"y_pred.shape={y_pred.shape}. The targets need the model's output "
                         "shape (for class indices with a softmax output, use "
                         "loss='sparse_categorical_crossentropy').") from None
    return aligned


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
    valid = np.ones(labels.shape, bool) if ignore_class is None else labels != ignore_class
    checked = labels[valid]
    if checked.size and (checked.min() < 0 or checked.max() >= classes or
                         (labels.dtype.kind == "f" and np.any(checked != np.round(checked)))):
        bad = checked[(checked < 0) | (checked >= classes) | (checked != np.round(checked))][0]
        raise ValueError(f"sparse_categorical_crossentropy received a label value of {bad}, "
                         f"outside the valid range [0, {classes}) for {classes} output "
                         "classes. Labels must be integer class indices.")
    labels = np.where(valid, labels, 0).astype(np.int64)
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


def mean_squared_error(y_true, y_pred):
    """mean((y_true - y_pred)²) over the last axis."""
    y_pred = _tensor(y_pred)
    y_true = _align_ranks(_tensor(y_true, y_pred.dtype), y_pred)
    return ops.mean(ops.square(ops.subtract(y_pred, y_true)), axis=-1)


def mean_absolute_error(y_true, y_pred):
    """mean(|y_true - y_pred|) over the last axis."""
    y_pred = _tensor(y_pred)
    y_true = _align_ranks(_tensor(y_true, y_pred.dtype), y_pred)
    return ops.mean(ops.abs(ops.subtract(y_pred, y_true)), axis=-1)


def huber(y_true, y_pred, delta=1.0):
    """Quadratic for |error| <= delta, linear beyond: robust to outliers."""
    y_pred = _tensor(y_pred)
    y_true = _align_ranks(_tensor(y_true, y_pred.dtype), y_pred)
    error = ops.abs(ops.subtract(y_pred, y_true))
    quadratic = ops.minimum(error, delta)
    linear = ops.subtract(error, quadratic)
    return ops.mean(ops.add(ops.multiply(ops.square(quadratic), 0.5),
                            ops.multiply(linear, delta)), axis=-1)


def _hinge_labels(y_true: Tensor) -> Tensor:
    """Keras's rule: labels that are all 0 or 1 become -1 / 1; others are kept as given."""
    labels = y_true.data
    if np.all((labels == 0) | (labels == 1)):
        return _tensor(2.0 * labels - 1.0)
    return y_true


def _margin(y_true, y_pred) -> Tensor:
    """max(1 - y_true * y_pred, 0), with {0, 1} labels read as {-1, 1}."""
    y_pred = _tensor(y_pred)
    y_true = _hinge_labels(_align_ranks(_tensor(y_true, y_pred.dtype), y_pred))
    return ops.relu(ops.subtract(1.0, ops.multiply(y_true, y_pred)))


def hinge(y_true, y_pred):
    """mean(max(1 - y_true * y_pred, 0)) over the last axis; labels -1 / 1 (or 0 / 1).

    Example:
    >>> round(float(hinge([[1., 0.]], [[0.6, -2.]])[0]), 4)  # (0.4 + 0) / 2
    0.2
    """
    return ops.mean(_margin(y_true, y_pred), axis=-1)


def squared_hinge(y_true, y_pred):
    """mean(max(1 - y_true * y_pred, 0)²) over the last axis; labels -1 / 1 (or 0 / 1)."""
    return ops.mean(ops.square(_margin(y_true, y_pred)), axis=-1)


def categorical_hinge(y_true, y_pred):
    """max(1 + neg - pos, 0) per sample, pos = Σ y·p (the true class's score) and neg =
    max((1 - y)·p) (the best other class's score); ``y_true`` is one-hot."""
    y_pred = _tensor(y_pred)
    y_true = _align_ranks(_tensor(y_true, y_pred.dtype), y_pred)
    pos = ops.sum(ops.multiply(y_true, y_pred), axis=-1)
    neg = ops.max(ops.multiply(ops.subtract(1.0, y_true), y_pred), axis=-1)
    return ops.relu(ops.add(ops.subtract(neg, pos), 1.0))


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


def log_cosh(y_true, y_pred):
    """mean(log(cosh(p - y))) over the last axis: x²/2 for small errors, |x| - log 2 for
    large ones. NOTE: computed as x + softplus(-2x) - log 2, which cannot overflow."""
    y_pred = _tensor(y_pred)
    y_true = _align_ranks(_tensor(y_true, y_pred.dtype), y_pred)
    error = ops.subtract(y_pred, y_true)
    values = ops.add(error, ops.softplus(ops.multiply(error, -2.0)))
    return ops.mean(ops.subtract(values, float(np.log(2.0))), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    """100 · mean(|y - p| / max(|y|, epsilon)) over the last axis."""
    y_pred = _tensor(y_pred)
    y_true = _align_ranks(_tensor(y_true, y_pred.dtype), y_pred)
    scale = np.maximum(np.abs(y_true.data), backend.epsilon())
    return ops.multiply(ops.mean(ops.abs(ops.divide(ops.subtract(y_true, y_pred), scale)),
                                 axis=-1), 100.0)


def mean_squared_logarithmic_error(y_true, y_pred):
    """mean((log(1 + p) - log(1 + y))²) over the last axis, values below epsilon raised to
    epsilon first."""
    y_pred = _tensor(y_pred)
    y_true = _align_ranks(_tensor(y_true, y_pred.dtype), y_pred)
    eps = backend.epsilon()
    first = ops.log(ops.add(ops.maximum(y_pred, eps), 1.0))
    second = ops.log(ops.add(ops.maximum(y_true, eps), 1.0))
    return ops.mean(ops.square(ops.subtract(first, second)), axis=-1)


def cosine_similarity(y_true, y_pred, axis=-1):
    """-Σ (y / ‖y‖)(p / ‖p‖) along ``axis``: -1 for vectors pointing the same way, 0 when
    orthogonal (or when either is zero: norms are floored at epsilon)."""
    y_pred = _tensor(y_pred)
    y_true = _align_ranks(_tensor(y_true, y_pred.dtype), y_pred)
    return ops.negative(ops.sum(ops.multiply(ops.normalize(y_true, axis=axis),
                                             ops.normalize(y_pred, axis=axis)), axis=axis))


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


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def dice(y_true, y_pred, axis=None):
    """1 - 2 Σ y·p / (Σ y + Σ p + epsilon), summed over ``axis`` (None: everything, one
    value for the batch; e.g. (1, 2, 3) for one value per image)."""
    y_pred = _tensor(y_pred)
    y_true = _align_ranks(_tensor(y_true, y_pred.dtype), y_pred)
    axis = _axis(axis)
    overlap = ops.sum(ops.multiply(y_true, y_pred), axis=axis)
    total = ops.add(ops.add(ops.sum(y_true, axis=axis), ops.sum(y_pred, axis=axis)),
                    backend.epsilon())
    return ops.subtract(1.0, ops.divide(ops.multiply(overlap, 2.0), total))


def tversky(y_true, y_pred, alpha=0.5, beta=0.5, axis=None):
    """1 - TP / (TP + alpha·FP + beta·FN + epsilon) with soft counts summed over ``axis``;
    alpha = beta = 0.5 is the Dice loss."""
    y_pred = _tensor(y_pred)
    y_true = _align_ranks(_tensor(y_true, y_pred.dtype), y_pred)
    axis = _axis(axis)
    true_pos = ops.sum(ops.multiply(y_pred, y_true), axis=axis)
    false_pos = ops.sum(ops.multiply(ops.subtract(1.0, y_true), y_pred), axis=axis)
    false_neg = ops.sum(ops.multiply(y_true, ops.subtract(1.0, y_pred)), axis=axis)
    denominator = ops.add(ops.add(ops.add(true_pos, ops.multiply(false_pos, alpha)),
                                  ops.multiply(false_neg, beta)), backend.epsilon())
    return ops.subtract(1.0, ops.divide(true_pos, denominator))


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error


class Loss:
    """Base class: ``__call__(y_true, y_pred, sample_weight=None)`` -> a scalar tensor.

    Args:
        name: name of the loss.
        reduction: ``"sum_over_batch_size"`` (mean, the default), ``"sum"``, ``"mean"``,
            ``"mean_with_sample_weight"`` or ``"none"`` / None (one value per sample).
    """

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        if reduction not in REDUCTIONS:
            raise ValueError(f"Invalid value for argument `reduction`: {reduction!r}. "
                             f"Expected one of {REDUCTIONS}.")
        self.name = name or to_snake_case(type(self).__name__)
        self.reduction = reduction
        self.dtype = dtype

    def call(self, y_true, y_pred):
        raise NotImplementedError

    def __call__(self, y_true, y_pred, sample_weight=None):
        values = self.call(y_true, y_pred)
        values = values if isinstance(values, Tensor) else Tensor(values)
        return reduce_weighted(values, sample_weight, self.reduction, self._mask(y_true))

    def _mask(self, y_true):
        """Which samples count in the reduction (None: all of them)."""
        return None

    def get_config(self) -> dict:
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def reduce_weighted(values: Tensor, sample_weight, reduction, mask=None):
    """Multiplies per-sample losses by their weights, then reduces as ``reduction`` says.

    ``mask`` (True = counts) merges into the weights as in Keras: for the mean reductions
    the kept samples are scaled by total / kept, so the mean is over the kept samples only.
    """
    count = values.size
    weight = None
    if sample_weight is not None:
        weight = np.asarray(sample_weight, dtype=values.dtype)
        while weight.ndim > values.ndim and weight.shape[-1] == 1:
            weight = weight.squeeze(-1)
        while weight.ndim < values.ndim:
            weight = weight[..., None]
        if weight.ndim != values.ndim or any(w not in (1, v) for w, v in
                                             zip(weight.shape, values.shape)):
            raise ValueError(f"`sample_weight` of shape {np.shape(sample_weight)} does not "
                             f"fit the per-sample losses of shape {values.shape}: pass one "
                             f"weight per sample, shape {values.shape[:1]}.")
    if mask is not None:
        mask = np.asarray(mask, bool).reshape(values.shape)
        kept = int(mask.sum())
        scale = count / kept if kept and reduction in ("sum_over_batch_size", "mean") else 1.0
        mask_weight = np.where(mask, scale, 0.0).astype(values.dtype)
        weight = mask_weight if weight is None else weight * mask_weight
    if weight is not None:
        values = ops.multiply(values, weight)
    if reduction in (None, "none"):
        return values
    total = ops.sum(values)
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and weight is not None:
        return ops.divide(total, max(float(np.sum(weight)), backend.epsilon()))
    return ops.divide(total, max(count, 1))


class LossFunctionWrapper(Loss):
    """A ``Loss`` around a function ``fn(y_true, y_pred, **kwargs)``."""

    def __init__(self, fn, name=None, reduction="sum_over_batch_size", dtype=None, **kwargs):
        super().__init__(name=name or fn.__name__, reduction=reduction, dtype=dtype)
        self.fn, self._fn_kwargs = fn, kwargs

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def _mask(self, y_true):
        # Keras masks the samples labelled ``ignore_class`` (sparse cross-entropy) out of
        # the reduction, so the default mean is over the other samples only.
        ignore_class = self._fn_kwargs.get("ignore_class")
        if ignore_class is None:
            return None
        return np.asarray(getattr(y_true, "data", y_true)) != ignore_class

    def get_config(self):
        return {**super().get_config(), **self._fn_kwargs}


def _wrapper_class(class_name, fn, default_name, doc, positional=None, **defaults):
    """A ``LossFunctionWrapper`` subclass with Keras's constructor: ``fn``'s options with
    their defaults, then ``reduction``, ``name``, ``dtype``. ``positional`` is the order of
    the positional arguments where Keras's differs (``Dice(reduction, name, axis)``)."""
    positional = positional or (*defaults, "reduction", "name", "dtype")

    def __init__(self, *args, **kwargs):
        if len(args) > len(positional):
            raise TypeError(f"{class_name} takes at most {len(positional)} positional "
                            f"arguments ({', '.join(positional)}). Received: {len(args)}.")
        for key, value in zip(positional, args):
            if key in kwargs:
                raise TypeError(f"{class_name} got multiple values for argument {key!r}.")
            kwargs[key] = value
        reduction = kwargs.pop("reduction", "sum_over_batch_size")
        name = kwargs.pop("name", default_name)
        dtype = kwargs.pop("dtype", None)
        unknown = set(kwargs) - set(defaults)
        if unknown:
            raise TypeError(f"{class_name} got unexpected arguments: {sorted(unknown)}. "
                            f"Valid arguments: {sorted(defaults) + ['reduction', 'name']}")
        options = {**defaults, **kwargs}
        LossFunctionWrapper.__init__(self, fn, name=name, reduction=reduction, dtype=dtype,
                                     **options)
        for key, value in options.items():
            setattr(self, key, value)

    return type(class_name, (LossFunctionWrapper,), {"__init__": __init__, "__doc__": doc})


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
MeanSquaredError = _wrapper_class(
    "MeanSquaredError", mean_squared_error, "mean_squared_error",
    "Mean of the squared errors.")
MeanAbsoluteError = _wrapper_class(
    "MeanAbsoluteError", mean_absolute_error, "mean_absolute_error",
    "Mean of the absolute errors.")
Huber = _wrapper_class("Huber", huber, "huber_loss",
                       "Squared error for small errors, absolute error beyond `delta`.",
                       delta=1.0)

Hinge = _wrapper_class("Hinge", hinge, "hinge",
                       "Hinge loss, max(1 - y * p, 0), for labels -1 / 1 (0 / 1 are converted).")
SquaredHinge = _wrapper_class("SquaredHinge", squared_hinge, "squared_hinge",
                              "Squared hinge loss, max(1 - y * p, 0)², for labels -1 / 1.")
CategoricalHinge = _wrapper_class(
    "CategoricalHinge", categorical_hinge, "categorical_hinge",
    "max(1 + best wrong score - true score, 0) for one-hot labels.")
KLDivergence = _wrapper_class("KLDivergence", kl_divergence, "kl_divergence",
                              "Kullback-Leibler divergence Σ y log(y / p) of two distributions.")
Poisson = _wrapper_class("Poisson", poisson, "poisson",
                         "Poisson negative log-likelihood, p - y log(p), for count targets.")
LogCosh = _wrapper_class("LogCosh", log_cosh, "log_cosh",
                         "log(cosh(error)): squared error near 0, absolute error far away.")
MeanAbsolutePercentageError = _wrapper_class(
    "MeanAbsolutePercentageError", mean_absolute_percentage_error,
    "mean_absolute_percentage_error", "100 · mean(|y - p| / |y|).")
MeanSquaredLogarithmicError = _wrapper_class(
    "MeanSquaredLogarithmicError", mean_squared_logarithmic_error,
    "mean_squared_logarithmic_error", "mean((log(1 + p) - log(1 + y))²).")
CosineSimilarity = _wrapper_class(
    "CosineSimilarity", cosine_similarity, "cosine_similarity",
    "Negative cosine similarity along `axis`: -1 is best, 0 orthogonal.", axis=-1)
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
Dice = _wrapper_class("Dice", dice, "dice",
                      "1 - the soft Dice coefficient of masks, over `axis` (None: all).",
                      positional=("reduction", "name", "axis", "dtype"), axis=None)
Tversky = _wrapper_class("Tversky", tversky, "tversky",
                         "1 - the Tversky index: Dice with false positives weighted by "
                         "`alpha` and false negatives by `beta`.",
                         positional=("alpha", "beta", "reduction", "name", "axis", "dtype"),
                         alpha=0.5, beta=0.5, axis=None)

_NEW_FUNCTIONS = (hinge, squared_hinge, categorical_hinge, kl_divergence, poisson, log_cosh,
                  mean_absolute_percentage_error, mean_squared_logarithmic_error,
                  cosine_similarity, binary_focal_crossentropy, categorical_focal_crossentropy,
                  dice, tversky)
_FUNCTIONS = {"categorical_crossentropy": categorical_crossentropy,
              "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
              "binary_crossentropy": binary_crossentropy,
              "mean_squared_error": mean_squared_error, "mse": mean_squared_error,
              "mean_absolute_error": mean_absolute_error, "mae": mean_absolute_error,
              "huber": huber, **{fn.__name__: fn for fn in _NEW_FUNCTIONS},
              # Keras 3's short aliases (keras.losses.get("kld"), compile(loss="mape"))
              "bce": binary_crossentropy, "BCE": binary_crossentropy,
              "MSE": mean_squared_error, "MAE": mean_absolute_error,
              "kld": kl_divergence, "KLD": kl_divergence,
              "mape": mean_absolute_percentage_error, "MAPE": mean_absolute_percentage_error,
              "msle": mean_squared_logarithmic_error, "MSLE": mean_squared_logarithmic_error}
_CLASSES = {c.__name__: c for c in (
    CategoricalCrossentropy, SparseCategoricalCrossentropy, BinaryCrossentropy,
    MeanSquaredError, MeanAbsoluteError, Huber, Hinge, SquaredHinge, CategoricalHinge,
    KLDivergence, Poisson, LogCosh, MeanAbsolutePercentageError, MeanSquaredLogarithmicError,
    CosineSimilarity, BinaryFocalCrossentropy, CategoricalFocalCrossentropy, Dice, Tversky)}


def get(identifier):
    """A name (``"mse"``, ``"categorical_crossentropy"``), class name, config, callable."""
    if identifier is None or isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        if identifier in _FUNCTIONS:
            return _FUNCTIONS[identifier]
        if identifier in _CLASSES:
            return _CLASSES[identifier]()
        raise unknown_identifier("loss", identifier, list(_FUNCTIONS) + list(_CLASSES))
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise TypeError(f"Could not interpret loss identifier: {identifier!r}")


def serialize(loss):
    if isinstance(loss, Loss):
        return {"module": "keras.losses", "class_name": type(loss).__name__,
                "config": loss.get_config(), "registered_name": None}
    return getattr(loss, "__name__", str(loss))


def deserialize(config, custom_objects=None):
    if isinstance(config, str):
        return get(config)
    name = config["class_name"]
    cls = (custom_objects or {}).get(name) or _CLASSES.get(name)
    if cls is None:
        raise unknown_identifier("loss", name, _CLASSES)
    return cls.from_config(config.get("config", {}))
