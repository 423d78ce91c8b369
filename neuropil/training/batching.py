"""Turning user data into batches: arrays (or lists / dicts of arrays) -> (x, y, w) slices,
and data that already comes in batches (generators, iterables, ``PyDataset``) -> the same
(x, y, w) triples, checked batch by batch.

Also the checks that must happen before any computation: equal lengths, finite values,
and Keras's ``validation_split`` (the last fraction of the samples, taken before shuffling).
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from neuropil import backend
from neuropil.autodiff import Tensor
from neuropil.backend import random
from neuropil.layers.node import flatten_structure, map_structure

__all__ = ["ArrayBatches", "IterableBatches", "PyDataset", "is_batch_source", "to_arrays",
           "split_validation", "check_finite", "num_samples"]


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

    exhausted = False  # arrays never run out

    def end_epoch(self) -> None:
        """Nothing to do for arrays (``IterableBatches`` tells a ``PyDataset``)."""



# ---- data that comes in batches ---------------------------------------------------------
class PyDataset:
    """Base class for data that produces whole batches by index (``keras.utils.PyDataset``,
    also available as ``keras.utils.Sequence``).

    Subclasses implement ``__len__`` (the number of batches) and ``__getitem__(index)`` (batch
    ``index`` as ``(x, y)`` or ``(x, y, sample_weight)``); they may override ``on_epoch_begin``
    and ``on_epoch_end`` (e.g. to reshuffle) and, for an endless dataset, a ``num_batches``
    property returning None. ``fit(shuffle=True)`` visits the batches of a sized dataset in a
    new random order every epoch, as Keras does.

    Args:
        workers, use_multiprocessing, max_queue_size: Keras's parallel-loading settings,
            accepted and stored for compatibility. neuropil reads the batches one after the
            other in the calling thread: no threads or processes are started.

    Example:
    >>> class Squares(PyDataset):
    ...     def __len__(self):
    ...         return 3
    ...     def __getitem__(self, index):
    ...         x = np.arange(4, dtype="float32").reshape(4, 1) + 4 * index
    ...         return x, x ** 2
    >>> [int(x[0, 0]) for x, y in Squares()]
    [0, 4, 8]
    """

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        self.workers = workers
        self.use_multiprocessing = use_multiprocessing
        self.max_queue_size = max_queue_size

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement "
                                  "__getitem__(self, index), returning batch `index`.")

    @property
    def num_batches(self):
        """The number of batches per epoch, or None for an endless dataset (``len(self)``
        by default)."""
        if hasattr(self, "__len__"):
            return len(self)
        raise NotImplementedError(f"{type(self).__name__} must implement __len__ (the number "
                                  "of batches) or a `num_batches` property (None if endless).")

    def __iter__(self):
        count = self.num_batches
        index = 0
        while count is None or index < count:
            yield self[index]
            index += 1

    def on_epoch_begin(self):
        """Called at the start of every epoch."""

    def on_epoch_end(self):
        """Called at the end of every epoch."""


def is_batch_source(data) -> bool:
    """True for data that already comes in batches: a ``PyDataset``, a generator or other
    iterator, an iterable object (such as ``image_dataset_from_directory``'s dataset) or a
    list of ``(x, y)`` tuples; False for arrays, tensors and lists / dicts of arrays."""
    if data is None or isinstance(data, (np.ndarray, Tensor, dict, str, bytes)):
        return False
    if isinstance(data, PyDataset):
        return True
    if isinstance(data, tuple) or hasattr(data, "__array__"):
        return False
    if isinstance(data, list):
        return bool(data) and all(_looks_like_batch(item) for item in data)
    return hasattr(data, "__iter__") or hasattr(data, "__next__")


def _looks_like_batch(item) -> bool:
    return isinstance(item, tuple) and 1 <= len(item) <= 3 and not np.isscalar(item[0])


class IterableBatches:
    """One epoch at a time from data that comes in batches, each checked and turned into
    ``(x, y, sample_weight)`` arrays, following Keras's epoch rules:

    - without ``steps``, an epoch lasts until the data runs out; a re-iterable source (a list,
      a ``PyDataset``, a dataset object) starts over each epoch, while a generator cannot:
      once used up, it has nothing left for the next epoch (``exhausted``);
    - with ``steps``, an epoch takes that many batches and the next epoch continues where it
      stopped (so a generator is consumed across epochs); a sized source starts over once all
      its batches were used; running out before ``steps`` ends the epoch early with a warning.

    Args:
        source: the generator, iterable or ``PyDataset``.
        steps: batches per epoch (``steps_per_epoch`` / ``validation_steps`` / ``steps``).
        shuffle: visit a sized ``PyDataset``'s batches in a new random order each epoch
            (ignored for other sources, which come in their own order).
        for_predict: a batch that is not a tuple is the inputs alone; a tuple's first item is.
        where: names the data in error messages (``"x"``, ``"validation_data"``).
        check_inputs: called once with the first batch's inputs (the model's shape check).
    """

    def __init__(self, source, steps=None, shuffle=False, for_predict=False, where="x",
                 check_inputs=None):
        if steps is not None and (isinstance(steps, bool) or not isinstance(
                steps, (int, np.integer)) or steps <= 0):
            raise ValueError(f"The number of steps for `{where}` must be a positive integer "
                             f"or None. Received: {steps!r}")
        self.source, self.requested_steps, self.where = source, steps, where
        self.shuffle, self.for_predict, self.check_inputs = shuffle, for_predict, check_inputs
        self.one_shot = not isinstance(source, PyDataset) and iter(source) is source
        self.length = self._length()
        self.steps = steps or self.length  # None: unknown until the data runs out
        self.exhausted = False  # a generator that has nothing left
        self.ran_out = False  # the last epoch ended before `steps` batches
        self._iterator, self._used, self._total = None, 0, 0
        self.generator = None  # the stream that shuffles a PyDataset; None: the global one

    def _length(self):
        if isinstance(self.source, PyDataset):
            return self.source.num_batches
        if not self.one_shot and hasattr(self.source, "__len__"):
            return len(self.source)
        return None

    def _fresh_iterator(self):
        if not isinstance(self.source, PyDataset):
            return iter(self.source)
        if self.length is None or not self.shuffle:
            return iter(self.source)
        order = (self.generator or random.global_generator()).permutation(self.length)
        return (self.source[int(i)] for i in order)

    def __iter__(self):
        """The batches of one epoch; call ``end_epoch()`` after it."""
        self.ran_out = False
        if isinstance(self.source, PyDataset):
            self.source.on_epoch_begin()
        if self._iterator is None or (self.requested_steps is None and not self.one_shot):
            self._iterator, self._used = self._fresh_iterator(), 0
        taken = 0
        while self.requested_steps is None or taken < self.requested_steps:
            if self.length is not None and self._used >= self.length:
                break
            try:
                batch = next(self._iterator)
            except StopIteration:
                self.exhausted = self.one_shot
                break
            self._used += 1
            taken += 1
            self._total += 1
            yield self._standardize(batch)
        if self._total == 0:
            raise ValueError(f"`{self.where}` yielded no batches: the generator or iterable is "
                             "empty (or was already used up). Pass one that yields at least "
                             "one (x, y) batch.")
        if self.requested_steps is not None and taken < self.requested_steps and taken:
            self.ran_out = True
            warnings.warn(f"Your input ran out of data: `{self.where}` gave {taken} of the "
                          f"{self.requested_steps} steps asked for this epoch. Make sure that "
                          "your dataset or generator can generate at least "
                          "`steps_per_epoch * epochs` batches.", stacklevel=2)
        if self.length is not None and self._used >= self.length:
            self._iterator = None  # all batches used: the next epoch starts over

    def end_epoch(self) -> None:
        """Tells a ``PyDataset`` that the epoch is over (its ``on_epoch_end``)."""
        if isinstance(self.source, PyDataset):
            self.source.on_epoch_end()

    def _standardize(self, batch):
        index = self._total - 1
        if isinstance(batch, list) and 1 <= len(batch) <= 3 and not self.for_predict:
            batch = tuple(batch)  # as Keras does for a PyDataset's batches
        if not isinstance(batch, tuple):
            if not (self.for_predict or isinstance(self.source, PyDataset)):
                raise ValueError(f"`{self.where}` must yield tuples (x, y) or (x, y, "
                                 f"sample_weight) (or (x,)). Batch {index} is a "
                                 f"{type(batch).__name__}: {str(batch)[:100]}")
            batch = (batch,)
        if not 1 <= len(batch) <= 3:
            raise ValueError(f"`{self.where}` must yield tuples (x,), (x, y) or (x, y, "
                             f"sample_weight). Batch {index} is a tuple of {len(batch)} "
                             "items.")
        if self.for_predict:
            batch = batch[:1]
        x, y, sample_weight = (to_arrays(part) for part in batch + (None,) * (3 - len(batch)))
        size = num_samples(x, f"{self.where} (batch {index}) x")
        for name, data in (("y", y), ("sample_weight", sample_weight)):
            if data is not None and num_samples(data, name) != size:
                raise ValueError(f"Batch {index} of `{self.where}`: x and {name} must have the "
                                 f"same number of samples. Received: x has {size}, {name} has "
                                 f"{num_samples(data, name)}.")
        check_finite(x, f"{self.where} (batch {index}) x")
        if y is not None:
            check_finite(y, f"{self.where} (batch {index}) y")
        if index == 0 and self.check_inputs is not None:
            self.check_inputs(x)
        return x, y, sample_weight
