"""Level 0: the array module and numeric settings every other level reads.

All array work in neuropil goes through ``xp`` so that a GPU array module with NumPy's
interface (CuPy) can be dropped in later without touching the ops.
"""
from __future__ import annotations

import numpy as np

xp = np

_FLOATX = "float32"
_EPSILON = 1e-7

__all__ = ["xp", "backend", "floatx", "set_floatx", "epsilon", "set_epsilon", "image_data_format",
           "standardize_dtype", "get_uid", "clear_session", "distribution", "set_distribution"]


def backend() -> str:
    """The name of the backend, ``"numpy"`` (Keras programs check ``keras.backend.backend()``)."""
    return "numpy"


def floatx() -> str:
    """Returns the default float type, as a string (``"float32"`` unless changed)."""
    return _FLOATX


def set_floatx(value: str) -> None:
    """Sets the default float type: ``"float16"``, ``"float32"`` or ``"float64"``."""
    global _FLOATX
    if value not in ("float16", "float32", "float64"):
        raise ValueError(f"Unknown floatx type: {value!r}. "
                         "Expected one of 'float16', 'float32', 'float64'.")
    _FLOATX = str(value)


def epsilon() -> float:
    """Returns the fuzz factor used to keep logs and divisions finite (Keras: 1e-7)."""
    return _EPSILON


def set_epsilon(value: float) -> None:
    """Sets the fuzz factor returned by :func:`epsilon`."""
    global _EPSILON
    _EPSILON = float(value)


def image_data_format() -> str:
    """neuropil is channels-last only: images are (batch, height, width, channels)."""
    return "channels_last"


def standardize_dtype(dtype) -> str:
    """Maps None to floatx and any NumPy-understood dtype to its canonical name."""
    if dtype is None:
        return _FLOATX
    return np.dtype(dtype).name


_UIDS: dict = {}


def get_uid(prefix: str = "") -> int:
    """0 the first time a prefix is asked for, then 1, 2, ... (names: dense, dense_1, ...)."""
    _UIDS[prefix] = _UIDS.get(prefix, -1) + 1
    return _UIDS[prefix]


def clear_session() -> None:
    """Resets the automatic layer names, as ``keras.backend.clear_session()`` does."""
    _UIDS.clear()


_DISTRIBUTION = None


def distribution():
    """The data-parallel strategy ``fit`` uses (set by ``neuropil.distribution``), or None.

    It lives here, at the bottom level, so that the training loop can ask for it without
    importing the optional MPI layer above it."""
    return _DISTRIBUTION


def set_distribution(value) -> None:
    global _DISTRIBUTION
    _DISTRIBUTION = value
