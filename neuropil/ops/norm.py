"""Normalization: batch norm (batch statistics, or given ones) and layer norm, fused.

Batch norm works per channel: every value of channel c is shifted and scaled by the same two
numbers. NumPy runs a per-channel broadcast fastest when the channel vector is long and
contiguous, so ``_Channels`` views x as a 2-D (rows, width) array whose rows hold whole
channel groups side by side (for a channels-last (128, 28, 28, 6) batch: 1024 rows of 98
pixels x 6 channels) and repeats each per-channel number along a row. A plain
``x - mean`` with the 6-wide channel axis innermost would run NumPy's inner loop 100,352
times for 6 values each; the wide view runs it 1,024 times for 588.

Synchronized batch norm (``BatchNormalization(synchronized=True)`` under data parallelism)
is the same op given a ``distribution``: its statistics and the two per-channel sums of its
backward become those of the global batch, spread over the ranks. The op only calls methods
on the object it is given, so nothing here imports MPI.

The composed twins (``tests/ops/test_norm.py``) are the spec.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from neuropil.autodiff import Op, Tensor
from neuropil.backend import threads

__all__ = ["batch_norm", "batch_norm_inference", "layer_norm"]

_ROW_TARGET = 4096  # values per row of the wide view: past ~4k, longer rows gain nothing


class _Channels:
    """x of shape (A, C, B) around the channel axis, seen as (rows, width) with
    width = k·C·B (k a divisor of A): ``expand`` spreads a (C,) vector along a row,
    ``fold`` sums a row-long vector back to (C,)."""

    def __init__(self, shape: tuple, axis: int):
        self.channels = shape[axis]
        self.before = math.prod(shape[:axis])
        self.after = math.prod(shape[axis + 1:])
        self.k = _group(self.before, math.ceil(_ROW_TARGET / max(self.channels * self.after, 1)))
        self.width = self.k * self.channels * self.after
        self.rows = self.before // self.k
        self.count = self.before * self.after  # values per channel

    def expand(self, v: np.ndarray) -> np.ndarray:
        if self.after > 1:
            v = np.repeat(v, self.after)
        return np.tile(v, self.k) if self.k > 1 else v

    def fold(self, row: np.ndarray) -> np.ndarray:
        return row.reshape(self.k, self.channels, self.after).sum(axis=(0, 2))


@functools.lru_cache(maxsize=128)
def _channels(shape: tuple, axis: int) -> _Channels:
    return _Channels(shape, axis)


def _group(n: int, want: int) -> int:
    """The smallest divisor of n in [want, 8·want], else the largest divisor below want."""
    if n <= want:
        return max(n, 1)
    for k in range(want, min(8 * want, n) + 1):
        if n % k == 0:
            return k
    return next(k for k in range(want - 1, 0, -1) if n % k == 0)


def _dot(a: np.ndarray, b: np.ndarray, axes: tuple, keepdims: bool = False) -> np.ndarray:
    """Σ a·b over ``axes``, without materializing the product (one einsum pass)."""
    letters = "abcdefghijklmnopqrstuvwxyz"[:a.ndim]
    kept = "".join(c for i, c in enumerate(letters) if i not in axes)
    out = np.einsum(f"{letters},{letters}->{kept}", a, b)
    return out.reshape([1 if i in axes else n for i, n in enumerate(a.shape)]) if keepdims \
        else out


def _total(partials: list) -> np.ndarray:
    """The sum of per-chunk partial sums (the one partial itself when there is one)."""
    return partials[0] if len(partials) == 1 else np.sum(partials, axis=0)


def _check_axis(axis: int, ndim: int, op: str) -> int:
    if not -ndim <= axis < ndim:
        raise ValueError(f"{op}: axis {axis} is out of range for an input of rank {ndim}; "
                         f"expected an axis in [{-ndim}, {ndim - 1}].")
    return axis % ndim


class BatchNorm(Op):
    """Training-mode batch norm: y = gamma · (x - mean) / sqrt(var + eps) + beta, with the
    mean and biased variance of this batch over every axis but ``axis``.

    Backward is the closed form: with x̂ the normalized input, n values per channel and
    s = gamma / sqrt(var + eps),
        dbeta = Σ g,   dgamma = Σ g·x̂,   dx = s · (g - dbeta/n - x̂ · dgamma/n).
    It keeps x (the graph holds it anyway), the mean and 1/sqrt(var + eps), and rebuilds
    x - mean in the buffer that becomes dx: a saved x̂ would be one more array as large as
    x, and a fresh large array costs more (page faults) than the extra pass.
    After forward, ``self.mean`` and ``self.variance`` hold the batch statistics.

    Synchronized (``distribution`` given): this rank holds a slice of the global batch, n
    values per channel out of N. Forward combines every rank's (n, mean, Σ (x - mean)²) into
    the global mean and variance. The loss is L = Σ_r w_r · L_r (w_r: rank r's share of the
    global batch, ``distribution.share``; 1 outside ``fit``), and each rank's upstream
    gradient g is that of its own L_r, so backward allreduces S = Σ_r w_r · (Σ g, Σ g·x̂) and
    uses S / w for Σ g and Σ g·x̂ in dx, with N for n: dx is the gradient of L in L_r's scale,
    which ``fit`` weights by w again when it averages the gradients. dgamma and dbeta stay
    local: ``fit`` averages them with the other gradients.
    """

    def __init__(self, axis: int, epsilon: float, has_gamma: bool, has_beta: bool,
                 distribution=None):
        self.axis, self.epsilon = axis, epsilon
        self.has_gamma, self.has_beta = has_gamma, has_beta
        self.distribution = distribution

    def forward(self, x, *params):
        gamma = params[0] if self.has_gamma else None
        beta = params[-1] if self.has_beta else None
        ch = _channels(x.shape, _check_axis(self.axis, x.ndim, "batch_norm"))
        xw = x.reshape(ch.rows, ch.width)
        parts = threads.split(ch.rows, ch.width * x.itemsize)
        mean = ch.fold(_total(threads.map_chunks(lambda r: xw[r].sum(axis=0), parts))) \
            / ch.count
        mean_row = ch.expand(mean)
        out = np.empty_like(xw)

        def centre(r):  # centred first: an exact variance, no E[x²] - E[x]²
            np.subtract(xw[r], mean_row, out=out[r])
            return _dot(out[r], out[r], (0,))

        variance = ch.fold(_total(threads.map_chunks(centre, parts))) / ch.count
        self.count = ch.count
        if self.distribution is not None:  # the global batch's statistics
            count, global_mean, m2 = self.distribution.batch_moments(
                ch.count, mean, variance * ch.count)
            self.count = count
            out -= ch.expand((global_mean - mean).astype(x.dtype))  # x - global mean
            mean = global_mean.astype(x.dtype)
            variance = (m2 / count).astype(x.dtype)
            mean_row = ch.expand(mean)
        inv = 1.0 / np.sqrt(variance + self.epsilon)
        scale = inv if gamma is None else inv * gamma
        scale_row, beta_row = ch.expand(scale), None if beta is None else ch.expand(beta)

        def scale_and_shift(r):
            out[r] *= scale_row
            if beta_row is not None:
                out[r] += beta_row

        threads.map_chunks(scale_and_shift, parts)
        self.mean, self.variance = mean, variance
        if self.recording:
            self.ch, self.xw, self.mean_row, self.inv, self.scale = ch, xw, mean_row, inv, scale
        return out.reshape(x.shape)

    def backward(self, grad):
        ch = self.ch
        g = grad.reshape(ch.rows, ch.width)
        parts = threads.split(ch.rows, ch.width * g.itemsize)
        centred = np.empty_like(self.xw)  # x - mean, which becomes dx in place

        def sums(r):
            np.subtract(self.xw[r], self.mean_row, out=centred[r])
            return np.stack([g[r].sum(axis=0), _dot(g[r], centred[r], (0,))])

        dbeta_row, dgamma_row = _total(threads.map_chunks(sums, parts))
        dbeta = ch.fold(dbeta_row)
        dgamma = self.inv * ch.fold(dgamma_row)
        grads = [None]
        if self.needs_grad[0]:  # dx = s·g - s·x̂·dgamma/n - s·dbeta/n, in four passes a chunk
            mean_dbeta, mean_dgamma = (dbeta / self.count, dgamma / self.count) \
                if self.distribution is None else self._global_means(dbeta, dgamma)
            factor = ch.expand(-self.inv * mean_dgamma)
            shift, scale = ch.expand(-mean_dbeta), ch.expand(self.scale)

            def input_grad(r):
                block = centred[r]
                block *= factor
                block += g[r]
                block += shift
                block *= scale

            threads.map_chunks(input_grad, parts)
            grads[0] = centred.reshape(grad.shape)
        if self.has_gamma:
            grads.append(dgamma)
        if self.has_beta:
            grads.append(dbeta)
        return tuple(grads)

    def _global_means(self, dbeta, dgamma) -> tuple:
        """(S / w) / N for the sums Σ g and Σ g·x̂ (see the class docstring). A rank with
        share 0 (a stand-in for an empty slice) adds nothing, and its dx counts for nothing."""
        share = self.distribution.share
        share = 1.0 if share is None else float(share)
        sums = self.distribution.sum_arrays([share * dbeta, share * dgamma])
        factor = (1.0 / share if share else 1.0) / self.count
        return tuple((total * factor).astype(dbeta.dtype) for total in sums)


class BatchNormInference(Op):
    """Batch norm with given statistics (the moving ones): y = x · s + (beta - mean · s),
    s = gamma / sqrt(variance + eps). Inputs: x, mean, variance, then gamma and beta if
    present. Two passes forward. Backward, with i = 1 / sqrt(variance + eps):
        dx = s·g,  dbeta = Σ g,  dmean = -s·Σ g,  dgamma = i·Σ g·(x - mean),
        dvariance = -s·i²/2 · Σ g·(x - mean);
    it keeps x (a reference) only when gamma or a statistic wants a gradient.
    """

    def __init__(self, axis: int, epsilon: float, has_gamma: bool, has_beta: bool):
        self.axis, self.epsilon = axis, epsilon
        self.has_gamma, self.has_beta = has_gamma, has_beta

    def forward(self, x, mean, variance, *params):
        gamma = params[0] if self.has_gamma else None
        beta = params[-1] if self.has_beta else None
        ch = _channels(x.shape, _check_axis(self.axis, x.ndim, "batch_norm"))
        inv = 1.0 / np.sqrt(variance + self.epsilon)
        scale = inv if gamma is None else inv * gamma
        shift = -mean * scale if beta is None else beta - mean * scale
        xw = x.reshape(ch.rows, ch.width)
        out = np.empty(xw.shape, np.result_type(xw, scale))
        scale_row, shift_row = ch.expand(scale), ch.expand(shift)

        def scale_and_shift(r):
            np.multiply(xw[r], scale_row, out=out[r])
            out[r] += shift_row

        threads.map_chunks(scale_and_shift, threads.split(ch.rows, ch.width * out.itemsize))
        if self.recording:
            self.ch, self.scale, self.inv, self.mean_row = ch, scale, inv, ch.expand(mean)
            if any(self.needs_grad[1:3]) or self.has_gamma and self.needs_grad[3]:
                self.xw = xw
        return out.reshape(x.shape)

    def backward(self, grad):
        ch, needs = self.ch, self.needs_grad
        g = grad.reshape(ch.rows, ch.width)
        gx = (g * ch.expand(self.scale)).reshape(grad.shape) if needs[0] else None
        dbeta = ch.fold(g.sum(axis=0))
        g_dx = None  # Σ g · (x - mean), per channel
        if any(needs[1:3]) or self.has_gamma and needs[3]:
            g_dx = ch.fold(_dot(g, self.xw - self.mean_row, (0,)))
        grads = [gx, -dbeta * self.scale if needs[1] else None,
                 -0.5 * self.scale * self.inv ** 2 * g_dx if needs[2] else None]
        if self.has_gamma:
            grads.append(self.inv * g_dx if needs[3] else None)
        if self.has_beta:
            grads.append(dbeta)
        return tuple(grads)


class LayerNorm(Op):
    """y = gamma · (x - mean) / sqrt(var + eps) + beta, with the mean and biased variance of
    each sample over ``axes``; gamma and beta span those axes.

    Backward, with x̂ the normalized input, gx̂ = g · gamma and means over ``axes``:
        dx = (gx̂ - mean(gx̂) - x̂ · mean(gx̂ · x̂)) / sqrt(var + eps),
        dgamma = Σ g·x̂ and dbeta = Σ g over the other axes.
    """

    def __init__(self, axes: tuple, epsilon: float, has_gamma: bool, has_beta: bool):
        self.axes, self.epsilon = axes, epsilon
        self.has_gamma, self.has_beta = has_gamma, has_beta

    def forward(self, x, *params):
        gamma = params[0] if self.has_gamma else None
        beta = params[-1] if self.has_beta else None
        axes = tuple(sorted(_check_axis(a, x.ndim, "layer_norm") for a in self.axes))
        others = tuple(a for a in range(x.ndim) if a not in axes)
        spread = tuple(x.shape[a] if a in axes else 1 for a in range(x.ndim))
        count = math.prod(x.shape[a] for a in axes)
        xhat = x - x.mean(axis=axes, keepdims=True)
        inv = 1.0 / np.sqrt(_dot(xhat, xhat, axes, keepdims=True) / count + self.epsilon)
        xhat *= inv
        if self.recording:
            self.xhat, self.inv, self.axes, self.others = xhat, inv, axes, others
            self.gamma = None if gamma is None else gamma.reshape(spread)
            out = xhat * self.gamma if gamma is not None else xhat.copy()
        else:
            out = xhat
            if gamma is not None:
                out *= gamma.reshape(spread)
        if beta is not None:
            out += beta.reshape(spread)
        return out

    def backward(self, grad):
        xhat, axes = self.xhat, self.axes
        params = []
        if self.has_gamma:
            dgamma = _dot(grad, xhat, self.others) if self.needs_grad[1] else None
            params.append(dgamma)
        if self.has_beta:
            params.append(np.sum(grad, axis=self.others) if self.needs_grad[-1] else None)
        gx = None
        if self.needs_grad[0]:
            gxhat = grad * self.gamma if self.gamma is not None else grad
            count = xhat.size // self.inv.size
            gx = xhat * (-_dot(gxhat, xhat, axes, keepdims=True) / count)
            gx += gxhat
            gx -= np.mean(gxhat, axis=axes, keepdims=True)
            gx *= self.inv
        return (gx, *params)


def _inputs(*params) -> list:
    return [p for p in params if p is not None]


def batch_norm(x, gamma=None, beta=None, axis: int = -1, epsilon: float = 1e-3,
               return_moments: bool = False, distribution=None):
    """Normalizes each channel (``axis``) with this batch's mean and biased variance over
    every other axis, then scales by ``gamma`` and shifts by ``beta`` (each optional, shape
    ``(x.shape[axis],)``). The training path of ``BatchNormalization``.

    With ``return_moments=True`` returns ``(y, mean, variance)``; the two statistics are
    constants (no gradient), for updating moving averages.

    With a ``distribution`` (a ``neuropil.distribution.DataParallel``: anything with
    ``batch_moments``, ``sum_arrays`` and ``share``), ``x`` is this rank's slice of a global
    batch and the statistics are the global batch's (synchronized batch norm). Every rank
    must then call it, in the same order, and run its backward.

    Example:
    >>> y = batch_norm(Tensor([[1.0], [3.0]]), epsilon=0.0)
    >>> y.numpy().ravel().tolist()
    [-1.0, 1.0]
    """
    op = BatchNorm(axis, float(epsilon), gamma is not None, beta is not None, distribution)
    y = op(*_inputs(x, gamma, beta))
    return (y, Tensor(op.mean), Tensor(op.variance)) if return_moments else y


def batch_norm_inference(x, mean, variance, gamma=None, beta=None, axis: int = -1,
                         epsilon: float = 1e-3):
    """Batch norm with given per-channel statistics (the inference path):
    ``gamma · (x - mean) / sqrt(variance + epsilon) + beta``; differentiable in every input.
    """
    op = BatchNormInference(axis, float(epsilon), gamma is not None, beta is not None)
    return op(x, mean, variance, *_inputs(gamma, beta))


def layer_norm(x, gamma=None, beta=None, axis=-1, epsilon: float = 1e-3):
    """Normalizes each sample over ``axis`` (an int or a sequence of ints) with its own mean
    and biased variance, then ``· gamma + beta`` (shaped like x over those axes).

    Example:
    >>> layer_norm(Tensor([[1.0, 3.0], [0.0, 10.0]]), epsilon=0.0).numpy().tolist()
    [[-1.0, 1.0], [-1.0, 1.0]]
    """
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    return LayerNorm(axes, float(epsilon), gamma is not None, beta is not None)(
        *_inputs(x, gamma, beta))
