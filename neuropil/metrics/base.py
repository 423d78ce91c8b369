"""The metric base classes: ``Metric`` (variables, reset, config), running ``Sum`` and
``Mean``, and ``MeanMetricWrapper`` (the mean of a per-sample function)."""
from __future__ import annotations

import numpy as np

from neuropil import losses
from neuropil._naming import to_snake_case
from neuropil.autodiff import Tensor, Variable


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
        if weight.shape != values.shape:  # (the loss tracker's one value and weight: as is)
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
        module = getattr(fn, "__module__", None) or ""
        if module == losses.__name__ or module.startswith(losses.__name__ + ".") or \
                isinstance(fn, losses.Loss):  # neuropil.losses or one of its submodules
            self._direction = "down"  # a loss as a metric is minimized, as in Keras

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = self._fn(y_true, y_pred, **self._fn_kwargs)
        super().update_state(_array(values), sample_weight)

    def get_config(self):
        return {**super().get_config(), **self._fn_kwargs}


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
