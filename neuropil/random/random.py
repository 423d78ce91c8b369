"""The ``keras.random`` draws. Each returns a Tensor (a constant, except ``dropout`` and
``shuffle``, which pass gradients to their input)."""
from __future__ import annotations

import numpy as np

from neuropil import ops
from neuropil.autodiff import Tensor
from neuropil.ops.core_api import as_operand, standardize_dtype
from neuropil.ops.noise import dropout as _dropout
from neuropil.random.seed_generator import generator_for

__all__ = ["normal", "uniform", "truncated_normal", "randint", "categorical", "dropout",
           "shuffle", "gamma", "binomial", "beta"]


def _shape(shape) -> tuple:
    return (int(shape),) if np.ndim(shape) == 0 else tuple(int(n) for n in shape)


def _float_dtype(dtype, what: str) -> np.dtype:
    dtype = np.dtype(standardize_dtype(dtype))
    if dtype.kind != "f":
        raise ValueError(f"{what}: dtype must be a float type. Received: dtype={dtype.name}")
    return dtype


def _draw_dtype(dtype: np.dtype) -> np.dtype:
    # NumPy's generators draw float32 or float64 directly; float16 goes through float32.
    return dtype if dtype in (np.float32, np.float64) else np.dtype(np.float32)


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None) -> Tensor:
    """Samples of N(mean, stddev²).

    Args:
        shape: the output shape.
        mean, stddev: of the distribution (defaults 0 and 1).
        dtype: a float dtype (default floatx, float32).
        seed: None, an int or a ``SeedGenerator`` (see ``keras.random``).
    """
    dtype = _float_dtype(dtype, "normal")
    values = generator_for(seed).standard_normal(_shape(shape), dtype=_draw_dtype(dtype))
    return Tensor((values * stddev + mean).astype(dtype, copy=False))


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None) -> Tensor:
    """Samples uniform in [minval, maxval)."""
    dtype = _float_dtype(dtype, "uniform")
    values = generator_for(seed).random(_shape(shape), dtype=_draw_dtype(dtype))
    return Tensor((values * (maxval - minval) + minval).astype(dtype, copy=False))


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None) -> Tensor:
    """Samples of N(mean, stddev²) within two standard deviations of the mean: values
    beyond are drawn again."""
    dtype = _float_dtype(dtype, "truncated_normal")
    generator, shape = generator_for(seed), _shape(shape)
    values = generator.standard_normal(shape)
    outside = np.abs(values) > 2.0
    while outside.any():
        values[outside] = generator.standard_normal(int(outside.sum()))
        outside = np.abs(values) > 2.0
    return Tensor((values * stddev + mean).astype(dtype))


def randint(shape, minval, maxval, dtype="int32", seed=None) -> Tensor:
    """Integers uniform in [minval, maxval)."""
    dtype = np.dtype(standardize_dtype(dtype))
    if dtype.kind not in "iu":
        raise ValueError(f"randint: dtype must be an integer type. Received: dtype={dtype.name}")
    return Tensor(generator_for(seed).integers(minval, maxval, size=_shape(shape), dtype=dtype))


def categorical(logits, num_samples, dtype="int32", seed=None) -> Tensor:
    """``num_samples`` class indices per row of ``logits`` (batch, classes), each drawn with
    probability softmax(logits): output (batch, num_samples)."""
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 2:
        raise ValueError("categorical: logits must be 2-D (batch, classes). Received: "
                         f"logits.shape={logits.shape}")
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    cumulative = np.cumsum(shifted / shifted.sum(axis=-1, keepdims=True), axis=-1)
    u = generator_for(seed).random((logits.shape[0], int(num_samples)))
    picks = (cumulative[:, None, :] <= u[..., None]).sum(axis=-1)
    return Tensor(np.minimum(picks, logits.shape[1] - 1).astype(standardize_dtype(dtype)))


def dropout(inputs, rate, noise_shape=None, seed=None) -> Tensor:
    """Zeroes each value with probability ``rate`` and scales the rest by 1 / (1 - rate);
    the gradient flows through the kept values. ``noise_shape`` (None entries: the input's
    size) shares one mask across the axes where it is 1."""
    inputs = as_operand(inputs)
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"dropout: rate must be in [0, 1]. Received: rate={rate}")
    if rate == 1.0:
        return ops.multiply(inputs, np.zeros((), inputs.dtype))
    if noise_shape is not None:
        noise_shape = tuple(n if n is not None else inputs.shape[i]
                            for i, n in enumerate(noise_shape))
    return _dropout(inputs, rate, generator_for(seed), noise_shape)


def shuffle(x, axis=0, seed=None) -> Tensor:
    """``x`` with its slices along ``axis`` in a random order (each slice kept whole, as in
    TensorFlow and JAX); gradients go back to where each slice came from."""
    x = as_operand(x)
    order = generator_for(seed).permutation(x.shape[axis])
    return ops.take(x, order, axis=axis)


def gamma(shape, alpha, dtype=None, seed=None) -> Tensor:
    """Samples of the Gamma distribution with concentration ``alpha`` (scale 1)."""
    dtype = _float_dtype(dtype, "gamma")
    return Tensor(generator_for(seed).standard_gamma(alpha, size=_shape(shape)).astype(dtype))


def binomial(shape, counts, probabilities, dtype=None, seed=None) -> Tensor:
    """Number of successes in ``counts`` trials of probability ``probabilities``."""
    dtype = np.dtype(standardize_dtype(dtype))
    draws = generator_for(seed).binomial(np.asarray(counts), np.asarray(probabilities),
                                         size=_shape(shape))
    return Tensor(draws.astype(dtype))


def beta(shape, alpha, beta, dtype=None, seed=None) -> Tensor:
    """Samples of the Beta(alpha, beta) distribution."""
    dtype = _float_dtype(dtype, "beta")
    draws = generator_for(seed).beta(np.asarray(alpha), np.asarray(beta), size=_shape(shape))
    return Tensor(draws.astype(dtype))
