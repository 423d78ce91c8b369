"""The ``Loss`` base class and what every loss family shares: the reduction of per-sample
values to a scalar (``reduce_weighted``), ``LossFunctionWrapper`` (a ``Loss`` around a
per-sample function), ``_wrapper_class`` (which makes the named Keras classes from their
functions), and the input helpers ``_tensor`` and ``_align_ranks``."""
from __future__ import annotations

import numpy as np

from neuropil import backend, ops
from neuropil._naming import to_snake_case
from neuropil.autodiff import Tensor

__all__ = ["Loss", "LossFunctionWrapper", "reduce_weighted", "REDUCTIONS"]


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

    # NOTE: the class belongs to the module of its function (type() would otherwise
    # name this one).
    return type(class_name, (LossFunctionWrapper,),
                {"__init__": __init__, "__doc__": doc, "__module__": fn.__module__})
