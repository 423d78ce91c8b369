"""Level 3: ``keras.random``, random tensors drawn from a seed.

Like Keras, every function takes ``seed``:

- ``None`` (default): neuropil's global generator, which ``keras.utils.set_random_seed``
  reseeds; successive draws differ.
- an int: a fixed draw; the same seed gives the same values on every call.
- a ``SeedGenerator``: a seed with a counter; each draw uses the current state and advances
  it, so a layer holding one gets fresh but reproducible values on each call.

Example:
>>> import neuropil as keras
>>> a = keras.random.normal((2,), seed=7); b = keras.random.normal((2,), seed=7)
>>> bool((a.numpy() == b.numpy()).all())
True
"""
from neuropil.random.random import (beta, binomial, categorical, dropout, gamma, normal,
                                    randint, shuffle, truncated_normal, uniform)
from neuropil.random.seed_generator import SeedGenerator

__all__ = ["SeedGenerator", "normal", "uniform", "truncated_normal", "randint", "categorical",
           "dropout", "shuffle", "gamma", "binomial", "beta"]
