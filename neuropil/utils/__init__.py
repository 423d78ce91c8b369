"""``keras.utils``: helpers around the data. Re-exports only; each lives at its level."""
from __future__ import annotations

import numpy as np

from neuropil.backend.random import set_random_seed
from neuropil.data.download import get_file
from neuropil.data.encoding import to_categorical

__all__ = ["to_categorical", "normalize", "set_random_seed", "get_file"]


def normalize(x, axis=-1, order=2):
    """Scales ``x`` so that each slice along ``axis`` has unit L-``order`` norm."""
    x = np.asarray(x)
    norm = np.linalg.norm(x, ord=order, axis=axis, keepdims=True)
    return x / np.where(norm == 0, 1, norm)
