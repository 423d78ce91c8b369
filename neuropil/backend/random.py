"""One seedable source of randomness for the whole library.

``set_random_seed(s)`` reseeds the global generator; every layer that needs randomness
(initializers, dropout) draws its own child stream from it when it is created, so two runs
with the same seed and the same model code give bit-identical results.
"""
from __future__ import annotations

import random as _pyrandom

import numpy as np

_global = np.random.default_rng()

__all__ = ["set_random_seed", "global_generator", "make_generator", "draw_seed", "batch_draw"]


def set_random_seed(seed: int) -> None:
    """Sets the seed of neuropil's generator, Python's ``random`` and NumPy's legacy one.

    Args:
        seed: a non-negative integer.

    Example:
    >>> import neuropil as keras
    >>> keras.utils.set_random_seed(42)
    """
    global _global
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"set_random_seed expects a non-negative integer. Received: seed={seed!r}")
    _pyrandom.seed(int(seed))
    np.random.seed(int(seed) % 2**32)
    _global = np.random.default_rng(int(seed))


def global_generator() -> np.random.Generator:
    """The generator behind every unseeded random draw (initializers, shuffling, dropout)."""
    return _global


def draw_seed() -> int:
    """A fresh integer seed from the global generator, for a component's own stream."""
    return int(_global.integers(0, 2**31 - 1))


def make_generator(seed: int | None = None) -> np.random.Generator:
    """A generator of one's own: seeded by ``seed`` if given, else from the global stream."""
    return np.random.default_rng(draw_seed() if seed is None else int(seed))


def batch_draw(draw, shape: tuple):
    """``draw(shape)``: random numbers for a batch, samples along the first axis.

    Under data parallelism, inside a training step this rank computes only its slice of the
    global batch (``distribution.batch_slice`` = (start, stop, global size)). Every rank then
    draws the numbers of the whole global batch and keeps its slice: each sample gets the
    mask (or angle, or noise) it would get in one process, and every rank's stream advances
    alike. Elsewhere, and for shapes whose first axis is not the slice (a noise shape of 1
    shared by the batch), this is ``draw(shape)``.
    """
    from neuropil import backend  # the package: distribution() lives in its __init__

    piece = getattr(backend.distribution(), "batch_slice", None)
    if piece is None or not len(shape) or shape[0] != piece[1] - piece[0]:
        return draw(shape)
    start, stop, total = piece
    return draw((total,) + tuple(shape[1:]))[start:stop]
