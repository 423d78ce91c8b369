"""``SeedGenerator``: a seed and a counter, advanced by every draw that uses it."""
from __future__ import annotations

import numbers

import numpy as np

from neuropil import backend
from neuropil.autodiff import Variable
from neuropil.backend import random as global_random

__all__ = ["SeedGenerator", "generator_for"]


class SeedGenerator:
    """A stateful seed for the ``keras.random`` functions.

    Its ``state`` is ``[seed, counter]``; a draw given ``seed=this`` uses the current state and
    adds 1 to the counter, so draws differ from call to call yet the whole sequence repeats for
    the same initial seed. The first draw equals one made with the plain int ``seed``.

    Args:
        seed: an int, or None to draw one from the global generator (so
            ``keras.utils.set_random_seed`` makes it reproducible).
        name: optional name.

    Example:
    >>> import neuropil as keras
    >>> gen = keras.random.SeedGenerator(42)
    >>> a, b = keras.random.uniform((3,), seed=gen), keras.random.uniform((3,), seed=gen)
    >>> bool((a.numpy() != b.numpy()).any())
    True
    """

    def __init__(self, seed=None, name=None, **kwargs):
        kwargs.pop("backend", None)
        if kwargs:
            raise ValueError(f"SeedGenerator: unrecognized keyword arguments: {kwargs}")
        self._initial_seed = seed
        if seed is None:
            seed = global_random.draw_seed()
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
            raise ValueError(f"Argument `seed` must be an integer. Received: seed={seed!r}")
        uid = backend.get_uid("seed_generator")
        self.name = name or ("seed_generator" if uid == 0 else f"seed_generator_{uid}")
        self.state = Variable(np.array([int(seed), 0], dtype=np.int64), dtype="int64",
                              trainable=False, name="seed_generator_state")

    def next(self, ordered=True) -> np.ndarray:
        """The current ``[seed, counter]``, then advances the counter."""
        current = self.state.data.copy()
        self.state.assign(current + np.array([0, 1]) if ordered
                          else (current + 1) * 5387 % 933199)
        return current

    def get_config(self) -> dict:
        return {"seed": self._initial_seed, "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self) -> str:
        return f"<SeedGenerator name={self.name}, state={self.state.data.tolist()}>"


def generator_for(seed) -> np.random.Generator:
    """The NumPy generator behind one draw with Keras's ``seed`` argument."""
    if seed is None:
        return global_random.global_generator()
    if isinstance(seed, SeedGenerator):
        return np.random.default_rng([int(v) % 2**63 for v in seed.next()])
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        return np.random.default_rng([int(seed) % 2**63, 0])
    raise ValueError("Argument `seed` must be either an integer or an instance of "
                     f"`SeedGenerator`. Received: seed={seed!r} (of type {type(seed)})")
