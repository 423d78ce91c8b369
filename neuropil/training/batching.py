"""Turning user data into batches: arrays (or lists / dicts of arrays) -> (x, y, w) slices.

Also the checks that must happen before any computation: equal lengths, finite values,
and Keras's ``validation_split`` (the last fraction of the samples, taken before shuffling).
"""
from __future__ import annotations

import math

import numpy as np

from neuropil import backend
from neuropil.autodiff import Tensor
from neuropil.backend import random
from neuropil.layers.node import flatten_structure, map_structure

__all__ = ["ArrayBatches", "to_arrays", "split_validation", "check_finite", "num_samples"]


def to_arrays(data):
    """Tensors and lists of numbers -> NumPy arrays; float64 -> floatx (cast once, not per
    batch); nesting (lists / dicts of inputs) is kept."""
    def convert(x):
        if x is None:
            return None
        array = x.data if isinstance(x, Tensor) else np.asarray(x)
        if array.dtype == object:
            raise ValueError("Could not convert the data to a numeric array (it holds Python "
                             "objects; ragged lists?). Pass NumPy arrays of equal-length rows.")
        if array.dtype == np.float64 and backend.floatx() != "float64":
            array = array.astype(backend.floatx())
        return array
    if isinstance(data, (list, tuple)) and data and all(np.isscalar(v) for v in data):
        return convert(data)  # a plain list of numbers is one array, not many inputs
    return map_structure(convert, data)


def num_samples(data, name: str) -> int:
    arrays = [a for a in flatten_structure(data) if a is not None]
    if not arrays:
        raise ValueError(f"`{name}` holds no arrays.")
    sizes = {len(a) if a.ndim else 0 for a in arrays}
    if len(sizes) != 1:
        raise ValueError(f"All arrays in `{name}` must have the same number of samples. "
                         f"Received sizes: {[a.shape for a in arrays]}")
    size = sizes.pop()
    if size == 0:
        raise ValueError(f"`{name}` is empty (0 samples); there is nothing to train on.")
    return size


def check_finite(data, name: str) -> None:
    """Raises if any float array holds NaN or inf, saying where the first one is."""
    for array in flatten_structure(data):
        if array is not None and array.dtype.kind == "f" and not np.isfinite(array).all():
            where = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
            raise ValueError(f"`{name}` contains NaN or infinite values (first at index "
                             f"{where}: {array[where]}). Clean or impute the data before "
                             "training.")


def split_validation(x, y, sample_weight, fraction: float):
    """Keras's rule: the last ``fraction`` of the samples become validation data."""
    if not 0 < fraction < 1:
        raise ValueError(f"`validation_split` must be in [0, 1). Received: {fraction}")
    total = num_samples(x, "x")
    split = int(math.floor(total * (1.0 - fraction)))
    if split in (0, total):
        raise ValueError(f"validation_split={fraction} leaves no training or no validation "
                         f"samples out of {total}. Use more data or another fraction.")
    take = lambda data, part: map_structure(  # noqa: E731
        lambda a: None if a is None else (a[:split] if part == 0 else a[split:]), data)
    return ((take(x, 0), take(y, 0), take(sample_weight, 0)),
            (take(x, 1), take(y, 1), take(sample_weight, 1)))


class ArrayBatches:
    """Iterates over (x, y, sample_weight) in batches, reshuffled each epoch if asked."""

    def __init__(self, x, y=None, sample_weight=None, batch_size: int = 32,
                 shuffle: bool = False, steps: int | None = None):
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size <= 0:
            raise ValueError(f"`batch_size` must be a positive integer. Received: "
                             f"batch_size={batch_size!r}")
        self.x, self.y, self.sample_weight = x, y, sample_weight
        self.size = num_samples(x, "x")
        for name, data in (("y", y), ("sample_weight", sample_weight)):
            if data is not None and num_samples(data, name) != self.size:
                raise ValueError(f"`x` and `{name}` must have the same number of samples. "
                                 f"Received: x has {self.size}, {name} has "
                                 f"{num_samples(data, name)}.")
        self.batch_size, self.shuffle = int(batch_size), shuffle
        self.generator = None  # the shuffling stream; None: the global one
        self.steps = min(steps, self.num_batches) if steps else self.num_batches

    @property
    def num_batches(self) -> int:
        return math.ceil(self.size / self.batch_size)

    def __iter__(self):
        generator = self.generator or random.global_generator()
        order = generator.permutation(self.size) if self.shuffle else None
        for step in range(self.steps):
            start = step * self.batch_size
            index = slice(start, start + self.batch_size) if order is None else \
                order[start:start + self.batch_size]
            pick = lambda data: map_structure(  # noqa: E731
                lambda a: None if a is None else a[index], data)
            yield pick(self.x), pick(self.y), pick(self.sample_weight)
