"""``keras.utils`` helpers for (x, y, sample_weight) data: packing, unpacking, splitting."""
from __future__ import annotations

import numbers
import random

import numpy as np

from neuropil import tree
from neuropil.backend.random import draw_seed

__all__ = ["pack_x_y_sample_weight", "unpack_x_y_sample_weight", "split_dataset"]


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """``x``, ``(x, y)`` or ``(x, y, sample_weight)``: the tuple ``fit`` understands.

    ``x`` alone is returned as is, unless it is a list or tuple (then ``(x,)``, so that
    its items are not mistaken for x and y).

    Example:
    >>> pack_x_y_sample_weight(np.ones(3), np.zeros(3))[1]
    array([0., 0., 0.])
    """
    if y is None:
        return (x,) if isinstance(x, (list, tuple)) else x
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


def unpack_x_y_sample_weight(data):
    """``(x, y, sample_weight)`` from ``x``, ``(x,)``, ``(x, y)`` or ``(x, y, w)``, with None
    for what is missing (for a custom ``train_step``).

    Raises:
        ValueError: a tuple (or list) of more than three items.
    """
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return (data, None, None)
    if 1 <= len(data) <= 3:
        return data + (None,) * (3 - len(data))
    raise ValueError("Data is expected to be in format `x`, `(x,)`, `(x, y)`, or "
                     f"`(x, y, sample_weight)`. Received a tuple of {len(data)} items.")


def split_dataset(dataset, left_size=None, right_size=None, shuffle=False, seed=None):
    """Splits arrays into a left and a right part (e.g. train / test), sample by sample.

    Keras returns ``tf.data`` / torch datasets; neuropil returns arrays in the structure it
    was given: an array gives two arrays, a tuple (or list) of arrays two tuples.

    Args:
        dataset: a NumPy array, or a tuple / list of arrays (possibly nested, dicts
            included) with the same number of samples.
        left_size: a float in (0, 1) is a fraction of the samples, an int a number of them;
            None (the default) means everything ``right_size`` does not take.
        right_size: the same for the right part; None means the complement of ``left_size``.
            When both are given and sum to less than the whole, the samples in the middle
            are left out (the right part is taken from the end, as Keras does).
        shuffle: shuffle the samples before splitting.
        seed: the shuffling seed. With the same seed the permutation is the one Keras makes
            (Python's ``random.shuffle``); without one it is drawn from neuropil's global
            generator, so ``keras.utils.set_random_seed`` makes it reproducible.

    Returns:
        ``(left, right)``.

    Example:
    >>> left, right = split_dataset(np.arange(10), left_size=0.8)
    >>> left.shape, right.shape
    ((8,), (2,))
    """
    if left_size is None and right_size is None:
        raise ValueError("split_dataset(): at least one of `left_size` or `right_size` must be "
                         "specified. Received: left_size=None and right_size=None")
    if isinstance(dataset, list):
        dataset = tuple(dataset)
    arrays = tree.flatten(dataset)
    for index, array in enumerate(arrays):
        if not isinstance(array, np.ndarray) or array.ndim == 0:
            raise TypeError("split_dataset(): `dataset` must be a NumPy array or a tuple / "
                            "list of arrays with a sample axis. Received: "
                            f"{type(array).__name__} at position {index}.")
    total = len(arrays[0])
    if total == 0:
        raise ValueError("split_dataset(): received an empty dataset.")
    lengths = {len(array) for array in arrays}
    if len(lengths) > 1:
        raise ValueError("split_dataset(): the arrays must have the same number of samples. "
                         f"Received lengths {[len(a) for a in arrays]}.")
    left, right = _split_sizes(left_size, right_size, total)
    order = list(range(total))
    if shuffle:
        random.Random(draw_seed() if seed is None else seed).shuffle(order)
    left_rows, right_rows = np.array(order[:left]), np.array(order[total - right:])
    return (tree.map_structure(lambda a: a[left_rows], dataset),
            tree.map_structure(lambda a: a[right_rows], dataset))


def _split_sizes(left_size, right_size, total: int) -> tuple:
    """The two sizes as sample counts, checked as Keras checks them."""
    sizes = {}
    for name, size in (("left_size", left_size), ("right_size", right_size)):
        if size is None:
            continue
        if isinstance(size, bool) or not isinstance(size, (numbers.Integral, numbers.Real)):
            raise TypeError(f"split_dataset(): `{name}` must be an int, a float or None. "
                            f"Received: {name}={size!r} of type {type(size).__name__}")
        if isinstance(size, numbers.Integral):
            if not 0 < size < total:
                raise ValueError(f"split_dataset(): `{name}` should be either a positive "
                                 f"integer smaller than {total} (the number of samples), or "
                                 f"a float within (0, 1). Received: {name}={size}")
            sizes[name] = int(size)
        else:
            if not 0 < size < 1:
                raise ValueError(f"split_dataset(): `{name}` should be either a positive "
                                 f"integer smaller than {total}, or a float within (0, 1). "
                                 f"Received: {name}={size}")
            sizes[name] = round(size * total)
    left = sizes.get("left_size", total - sizes.get("right_size", 0))
    right = sizes.get("right_size", total - left)
    if left + right > total:
        raise ValueError(f"split_dataset(): left_size + right_size = {left + right} samples, "
                         f"more than the {total} in the dataset.")
    for side, size in (("left", left), ("right", right)):
        if size == 0:
            raise ValueError(f"split_dataset(): with {total} samples, left_size={left_size} "
                             f"and right_size={right_size} leave the {side} part empty. "
                             "Adjust either size.")
    return left, right
