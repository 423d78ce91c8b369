"""Checks, defaults and packing for the training loop's arguments (``trainer.py``): what
fit / evaluate / predict do with ``verbose``, ``batch_size``, ``validation_freq`` and
``class_weight``, how Keras packs a batch for ``train_step(data)``, and how logs become
plain numbers."""
from __future__ import annotations

import sys

import numpy as np

from neuropil.autodiff import Tensor
from neuropil.layers.node import flatten_structure

__all__ = ["unpack_data", "pythonify", "check_numeric", "default_batch_size",
           "should_validate", "resolve_verbose", "concatenate", "with_class_weight"]


def unpack_data(data):
    """``(x, y, sample_weight)`` from Keras's ``x``, ``(x,)``, ``(x, y)`` or ``(x, y, w)``."""
    if isinstance(data, list):
        data = tuple(data)
    if isinstance(data, tuple) and 1 <= len(data) <= 3:
        return data + (None,) * (3 - len(data))
    return data, None, None


def pythonify(logs: dict) -> dict:
    """Logs as Keras reports them: nested dicts (a metric whose result is a dict) flattened,
    numbers as Python floats."""
    flat = {}
    for key, value in logs.items():
        if isinstance(value, dict):
            flat.update(pythonify(value))
            continue
        value = getattr(value, "data", value)
        try:
            flat[key] = float(np.asarray(value))
        except (TypeError, ValueError):
            flat[key] = value
    return flat


def check_numeric(data, name: str, where: str) -> None:
    """Each array must hold numbers (or booleans) and have a batch axis."""
    for array in flatten_structure(data):
        if array is None:
            continue
        if array.dtype.kind not in "biuf":
            raise ValueError(f"{where}(): `{name}` must hold real numbers; received an array "
                             f"of dtype {array.dtype} (shape {array.shape}). Convert strings "
                             "or categories to integer indices (or floats) first.")
        if array.ndim == 0:
            raise ValueError(f"{where}(): `{name}` must have a batch axis (one row per "
                             f"sample); received the scalar {array!r}. A nested list of "
                             "numbers must have equal-length rows; pass np.array(data).")


def default_batch_size(batch_size):
    """Keras's default of 32 when unset; a given value (even 0) is validated by ArrayBatches."""
    return 32 if batch_size is None else batch_size


def should_validate(epoch, validation_freq) -> bool:
    """Keras's rule: the 1-based absolute epoch is a multiple of, or in, validation_freq."""
    if isinstance(validation_freq, int) and not isinstance(validation_freq, bool):
        if validation_freq < 1:
            raise ValueError("`validation_freq` must be a positive integer or a list of "
                             f"epochs. Received: validation_freq={validation_freq!r}")
        return (epoch + 1) % validation_freq == 0
    if isinstance(validation_freq, (list, tuple)):
        return epoch + 1 in validation_freq
    raise ValueError("Expected `validation_freq` to be a list or int. Received: "
                     f"validation_freq={validation_freq!r} of the type "
                     f"{type(validation_freq)}.")


def resolve_verbose(verbose):
    if verbose == "auto":
        return 1 if sys.stdout.isatty() else 2
    if verbose not in (0, 1, 2, True, False):
        raise ValueError(f"`verbose` must be 0, 1, 2 or 'auto'. Received: verbose={verbose!r}")
    return int(verbose)


def concatenate(outputs: list):
    first = outputs[0]
    if isinstance(first, (list, tuple)):
        return [np.concatenate([np.asarray(o[i].data) for o in outputs]) for i in range(len(first))]
    if isinstance(first, dict):
        return {k: np.concatenate([np.asarray(o[k].data) for o in outputs]) for k in first}
    return np.concatenate([np.asarray(o.data if isinstance(o, Tensor) else o) for o in outputs])


def with_class_weight(sample_weight, y, class_weight):
    """Per-sample weights from ``{class: weight}`` (labels as ints or one-hot rows)."""
    if not class_weight:
        return sample_weight
    if isinstance(y, (list, tuple, dict)):
        raise ValueError("`class_weight` is only supported for Models with a single output. "
                         "For several outputs, pass per-output `sample_weight` instead.")
    bad = [c for c in class_weight if isinstance(c, bool) or
           not isinstance(c, (int, np.integer)) or c < 0]
    if bad:
        raise ValueError("`class_weight` keys must be class indices (integers >= 0). "
                         f"Received: {bad}")
    labels = np.argmax(y, axis=-1) if y.ndim > 1 and y.shape[-1] > 1 else y.reshape(len(y))
    table = np.ones(int(max(max(class_weight), labels.max())) + 1, np.float32)
    for cls, weight in class_weight.items():
        table[int(cls)] = weight
    weights = table[labels.astype(np.int64)]
    return weights if sample_weight is None else weights * sample_weight
