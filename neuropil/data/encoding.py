"""Label encodings: integer class labels to one-hot matrices."""

from __future__ import annotations

from typing import Optional

import numpy as np


def to_categorical(x: "np.typing.ArrayLike", num_classes: Optional[int] = None) -> np.ndarray:
    """Converts a class vector (integers) to a binary class matrix (one-hot).

    E.g. for use with `categorical_crossentropy`.

    Args:
        x: Array-like of class labels, integers from 0 to `num_classes - 1`.
            Floats are accepted when they hold whole numbers (e.g. `3.0`).
        num_classes: Total number of classes. If `None`, it is inferred as
            `max(x) + 1`. Defaults to `None`.

    Returns:
        A float32 NumPy array with the class axis last: input shape `(n,)`
        or `(n, 1)` gives `(n, num_classes)`; any other shape `s` gives
        `s + (num_classes,)` (a trailing axis of size 1 is dropped first).

    Raises:
        ValueError: If a label is negative, not a whole number, or not below
            `num_classes`; or if `num_classes` is not a positive integer.

    Example:

    >>> to_categorical([0, 1, 2, 3], num_classes=4)
    array([[1., 0., 0., 0.],
           [0., 1., 0., 0.],
           [0., 0., 1., 0.],
           [0., 0., 0., 1.]], dtype=float32)
    """
    labels = _as_integer_labels(x)
    shape = labels.shape
    # Like Keras: (n, 1) means n labels, so the trailing 1 is not kept.
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    flat = labels.reshape(-1)
    num_classes = _resolve_num_classes(flat, num_classes)
    _check_range(flat, num_classes)
    one_hot = np.zeros((flat.size, num_classes), dtype=np.float32)
    one_hot[np.arange(flat.size), flat] = 1.0
    return one_hot.reshape(shape + (num_classes,))


def _as_integer_labels(x: "np.typing.ArrayLike") -> np.ndarray:
    labels = np.asarray(x)
    if labels.dtype.kind in "biu":
        return labels.astype(np.int64, copy=False)
    if labels.dtype.kind != "f":
        raise ValueError(
            f"to_categorical expects integer class labels; got an array of dtype "
            f"{labels.dtype}."
        )
    # Check before casting: a cast would silently truncate 2.5 to 2 (and warn
    # on NaN), hiding a mix-up between labels and probabilities.
    whole = np.isfinite(labels) & (labels == np.floor(labels))
    if not whole.all():
        bad = labels.reshape(-1)[np.flatnonzero(~whole.reshape(-1))[0]]
        raise ValueError(
            f"to_categorical expects integer class labels; got the value {bad}, "
            "which is not a whole number. If these are probabilities or one-hot "
            "rows already, they need no conversion."
        )
    return labels.astype(np.int64)


def _resolve_num_classes(flat: np.ndarray, num_classes: Optional[int]) -> int:
    if num_classes is None:
        if flat.size == 0:
            raise ValueError(
                "to_categorical cannot infer `num_classes` from an empty label array; "
                "pass `num_classes=`."
            )
        return int(max(flat.max(), 0)) + 1
    if isinstance(num_classes, (bool, np.bool_)) or not isinstance(
        num_classes, (int, np.integer)
    ) or num_classes < 1:
        raise ValueError(
            f"`num_classes` must be a positive integer. Received: num_classes={num_classes!r}"
        )
    return int(num_classes)


def _check_range(flat: np.ndarray, num_classes: int) -> None:
    bad = (flat < 0) | (flat >= num_classes)
    if bad.any():
        index = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"to_categorical: label {flat[index]} (at flat index {index}) is outside "
            f"the range [0, {num_classes}), i.e. 0..{num_classes - 1}. Labels must be "
            "integers from 0 to num_classes - 1."
        )
