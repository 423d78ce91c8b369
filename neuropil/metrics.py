"""``keras.metrics``: numbers that judge a model, accumulated over an epoch.

A metric keeps running totals: ``update_state(y_true, y_pred)`` adds a batch, ``result()``
reads the value so far, ``reset_state()`` starts over. Metrics never take part in
backpropagation, so they work on plain arrays.
"""
from __future__ import annotations

import numpy as np

from neuropil import losses
from neuropil._naming import to_snake_case, unknown_identifier
from neuropil.autodiff import Tensor, Variable

__all__ = ["Metric", "Mean", "Sum", "MeanMetricWrapper", "Accuracy", "BinaryAccuracy",
           "CategoricalAccuracy", "SparseCategoricalAccuracy", "TopKCategoricalAccuracy",
           "SparseTopKCategoricalAccuracy", "MeanSquaredError", "MeanAbsoluteError",
           "RootMeanSquaredError", "CategoricalCrossentropy", "SparseCategoricalCrossentropy",
           "BinaryCrossentropy", "accuracy", "binary_accuracy", "categorical_accuracy",
           "sparse_categorical_accuracy", "top_k_categorical_accuracy",
           "sparse_top_k_categorical_accuracy", "get", "serialize", "deserialize"]


def _array(x) -> np.ndarray:
    return x.data if isinstance(x, Tensor) else np.asarray(x)


class Metric:
    """Base class. Subclasses create state with ``add_variable`` and implement
    ``update_state``, ``result`` (and ``reset_state`` if zeroing the variables is not enough).
    """

    def __init__(self, dtype=None, name=None):
        self.name = name or to_snake_case(type(self).__name__)
        self.dtype = dtype or "float32"
        self._variables: list = []

    def add_variable(self, shape=(), initializer="zeros", dtype=None, aggregation="sum",
                     name=None) -> Variable:
        from neuropil import initializers
        variable = Variable(initializers.get(initializer), shape=tuple(shape),
                            dtype=dtype or "float64", trainable=False,
                            name=name or f"variable_{len(self._variables)}")
        self._variables.append(variable)
        return variable

    add_weight = add_variable

    @property
    def variables(self) -> list:
        return list(self._variables)

    def update_state(self, *args, **kwargs):
        raise NotImplementedError

    def result(self):
        raise NotImplementedError

    def reset_state(self) -> None:
        for variable in self._variables:
            variable.data[...] = 0

    def __call__(self, *args, **kwargs):
        """Adds a batch and returns the result so far."""
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"


class Sum(Metric):
    """The running sum of the values given."""

    def __init__(self, name="sum", dtype=None):
        super().__init__(dtype=dtype, name=name)
        self.total = self.add_variable(name="total")

    def update_state(self, values, sample_weight=None):
        values = _array(values).astype(np.float64)
        if sample_weight is not None:
            values = values * np.broadcast_to(_array(sample_weight), values.shape)
        self.total.data += values.sum()

    def result(self):
        return float(self.total.data)


class Mean(Metric):
    """The running (weighted) mean of the values given."""

    def __init__(self, name="mean", dtype=None):
        super().__init__(dtype=dtype, name=name)
        self.total = self.add_variable(name="total")
        self.count = self.add_variable(name="count")

    def update_state(self, values, sample_weight=None):
        values = _array(values).astype(np.float64)
        if sample_weight is None:
            self.total.data += values.sum()
            self.count.data += values.size
            return
        weight = _array(sample_weight).astype(np.float64)
        while weight.ndim > values.ndim:
            weight = weight.squeeze(-1)
        while weight.ndim < values.ndim:
            weight = weight[..., None]
        weight = np.broadcast_to(weight, values.shape)
        self.total.data += (values * weight).sum()
        self.count.data += weight.sum()

    def result(self):
        count = float(self.count.data)
        return float(self.total.data) / count if count else 0.0


class MeanMetricWrapper(Mean):
    """The mean over all samples of ``fn(y_true, y_pred)`` (a per-sample function)."""

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", "mean_metric_wrapper"),
                         dtype=dtype)
        self._fn, self._fn_kwargs = fn, kwargs
        if getattr(fn, "__module__", None) == losses.__name__ or isinstance(fn, losses.Loss):
            self._direction = "down"  # a loss as a metric is minimized, as in Keras

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = self._fn(y_true, y_pred, **self._fn_kwargs)
        super().update_state(_array(values), sample_weight)

    def get_config(self):
        return {**super().get_config(), **self._fn_kwargs}


# ---- per-sample functions ---------------------------------------------------------------
def accuracy(y_true, y_pred):
    """1 where the prediction equals the label exactly, else 0."""
    y_true, y_pred = _array(y_true), _array(y_pred)
    if y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    return (y_true == y_pred).astype(np.float32)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """1 where (y_pred > threshold) matches the 0/1 label; averaged over the last axis."""
    y_true, y_pred = _array(y_true), _array(y_pred)
    if y_true.ndim == y_pred.ndim - 1:
        y_true = y_true[..., None]
    return ((y_pred > threshold) == (y_true > 0.5)).astype(np.float32).mean(axis=-1)


def categorical_accuracy(y_true, y_pred):
    """1 where argmax of the prediction is argmax of the one-hot label."""
    return (np.argmax(_array(y_true), -1) == np.argmax(_array(y_pred), -1)).astype(np.float32)


def sparse_categorical_accuracy(y_true, y_pred):
    """1 where argmax of the prediction equals the integer label."""
    y_true, y_pred = _array(y_true), _array(y_pred)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    return (np.argmax(y_pred, -1) == y_true.astype(np.int64)).astype(np.float32)


def _in_top_k(y_pred, labels, k):
    top = np.argpartition(-y_pred, min(k, y_pred.shape[-1]) - 1, axis=-1)[..., :k]
    return (top == labels[..., None]).any(-1).astype(np.float32)


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    return _in_top_k(_array(y_pred), np.argmax(_array(y_true), -1), k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    y_true = _array(y_true)
    if y_true.ndim == _array(y_pred).ndim:
        y_true = y_true[..., 0]
    return _in_top_k(_array(y_pred), y_true.astype(np.int64), k)


def _loss_values(fn):
    def metric_fn(y_true, y_pred, **kwargs):
        return _array(fn(_array(y_true), _array(y_pred), **kwargs))
    metric_fn.__name__ = fn.__name__
    return metric_fn


def _metric_class(class_name, fn, default_name, doc, direction, **defaults):
    """A MeanMetricWrapper subclass; ``direction`` ("up" or "down") says which way is better,
    read by EarlyStopping & co. in mode="auto" (Keras's ``_direction``)."""
    def __init__(self, name=default_name, dtype=None, **kwargs):
        options = {**defaults, **kwargs}
        MeanMetricWrapper.__init__(self, fn, name=name, dtype=dtype, **options)
        for key, value in options.items():
            setattr(self, key, value)

    return type(class_name, (MeanMetricWrapper,),
                {"__init__": __init__, "__doc__": doc, "_direction": direction})


Accuracy = _metric_class("Accuracy", accuracy, "accuracy", "How often predictions equal labels.",
                         "up")
BinaryAccuracy = _metric_class("BinaryAccuracy", binary_accuracy, "binary_accuracy",
                               "How often thresholded predictions match 0/1 labels.", "up",
                               threshold=0.5)
CategoricalAccuracy = _metric_class("CategoricalAccuracy", categorical_accuracy,
                                    "categorical_accuracy",
                                    "How often the predicted class matches one-hot labels.", "up")
SparseCategoricalAccuracy = _metric_class("SparseCategoricalAccuracy",
                                          sparse_categorical_accuracy,
                                          "sparse_categorical_accuracy",
                                          "How often the predicted class matches integer labels.",
                                          "up")
TopKCategoricalAccuracy = _metric_class("TopKCategoricalAccuracy", top_k_categorical_accuracy,
                                        "top_k_categorical_accuracy",
                                        "How often the label is among the top k predictions.",
                                        "up", k=5)
SparseTopKCategoricalAccuracy = _metric_class(
    "SparseTopKCategoricalAccuracy", sparse_top_k_categorical_accuracy,
    "sparse_top_k_categorical_accuracy",
    "How often the integer label is among the top k predictions.", "up", k=5)
MeanSquaredError = _metric_class("MeanSquaredError", _loss_values(losses.mean_squared_error),
                                 "mean_squared_error", "Mean of the squared errors.", "down")
MeanAbsoluteError = _metric_class("MeanAbsoluteError", _loss_values(losses.mean_absolute_error),
                                  "mean_absolute_error", "Mean of the absolute errors.", "down")
CategoricalCrossentropy = _metric_class(
    "CategoricalCrossentropy", _loss_values(losses.categorical_crossentropy),
    "categorical_crossentropy", "Mean categorical cross-entropy.", "down", from_logits=False)
SparseCategoricalCrossentropy = _metric_class(
    "SparseCategoricalCrossentropy", _loss_values(losses.sparse_categorical_crossentropy),
    "sparse_categorical_crossentropy", "Mean sparse categorical cross-entropy.", "down",
    from_logits=False)
BinaryCrossentropy = _metric_class(
    "BinaryCrossentropy", _loss_values(losses.binary_crossentropy), "binary_crossentropy",
    "Mean binary cross-entropy.", "down", from_logits=False)


class RootMeanSquaredError(Mean):
    """sqrt of the mean squared error over everything seen."""

    _direction = "down"

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        super().update_state(_array(losses.mean_squared_error(_array(y_true), _array(y_pred))),
                             sample_weight)

    def result(self):
        return float(np.sqrt(super().result()))


_CLASSES = {c.__name__: c for c in (Mean, Sum, Accuracy, BinaryAccuracy, CategoricalAccuracy,
                                    SparseCategoricalAccuracy, TopKCategoricalAccuracy,
                                    SparseTopKCategoricalAccuracy, MeanSquaredError,
                                    MeanAbsoluteError, RootMeanSquaredError,
                                    CategoricalCrossentropy, SparseCategoricalCrossentropy,
                                    BinaryCrossentropy)}
_BY_NAME = {to_snake_case(name): cls for name, cls in _CLASSES.items()}
_BY_NAME.update(mse=MeanSquaredError, mae=MeanAbsoluteError, rmse=RootMeanSquaredError,
                acc=Accuracy)


def get(identifier):
    """A name (``"mae"``, ``"categorical_accuracy"``), class name, config, or callable."""
    if isinstance(identifier, Metric) or (callable(identifier) and
                                          not isinstance(identifier, type)):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier) or _CLASSES.get(identifier)
        if cls is None:
            raise unknown_identifier("metric", identifier, _BY_NAME)
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    raise TypeError(f"Could not interpret metric identifier: {identifier!r}")


def serialize(metric) -> dict:
    return {"module": "keras.metrics", "class_name": type(metric).__name__,
            "config": metric.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None):
    name = config["class_name"]
    cls = (custom_objects or {}).get(name) or _CLASSES.get(name)
    if cls is None:
        raise unknown_identifier("metric", name, _CLASSES)
    return cls.from_config(config.get("config", {}))
