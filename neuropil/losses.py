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
           "MeanAbsoluteError", "Huber", "categorical_crossentropy",
           "sparse_categorical_crossentropy", "binary_crossentropy", "mean_squared_error",
           "mean_absolute_error", "huber", "mse", "mae", "get", "serialize", "deserialize"]

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


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """-[y log p + (1 - y) log(1 - p)], averaged over the last axis."""
    y_pred = _tensor(y_pred)
    y_true = _align_ranks(_tensor(y_true, y_pred.dtype), y_pred)
    if label_smoothing:
        y_true = _tensor(y_true.data * (1.0 - label_smoothing) + 0.5 * label_smoothing)
    logits = y_pred if from_logits else _logits_of(y_pred, Sigmoid)
    if logits is not None:
        return ops.mean(ops.sigmoid_binary_cross_entropy(logits, y_true), axis=axis)
    eps = backend.epsilon()
    p = ops.clip(y_pred, eps, 1 - eps)
    terms = ops.add(ops.multiply(y_true, ops.log(p)),
                    ops.multiply(ops.subtract(1.0, y_true), ops.log(ops.subtract(1.0, p))))
    return ops.negative(ops.mean(terms, axis=axis))


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


def _wrapper_class(class_name, fn, default_name, doc, **defaults):
    def __init__(self, *args, reduction="sum_over_batch_size", name=default_name, dtype=None,
                 **kwargs):
        options = dict(defaults)
        options.update(zip(defaults, args))
        unknown = set(kwargs) - set(defaults)
        if unknown:
            raise TypeError(f"{class_name} got unexpected arguments: {sorted(unknown)}. "
                            f"Valid arguments: {sorted(defaults) + ['reduction', 'name']}")
        options.update(kwargs)
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

_FUNCTIONS = {"categorical_crossentropy": categorical_crossentropy,
              "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
              "binary_crossentropy": binary_crossentropy,
              "mean_squared_error": mean_squared_error, "mse": mean_squared_error,
              "mean_absolute_error": mean_absolute_error, "mae": mean_absolute_error,
              "huber": huber}
_CLASSES = {c.__name__: c for c in (CategoricalCrossentropy, SparseCategoricalCrossentropy,
                                    BinaryCrossentropy, MeanSquaredError, MeanAbsoluteError,
                                    Huber)}


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
