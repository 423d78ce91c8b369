"""Normalization: batch norm (batch statistics, or given ones) and layer norm, fused.

Batch norm works per channel: every value of channel c is shifted and scaled by the same two
numbers. NumPy runs a per-channel broadcast fastest when the channel vector is long and
contiguous, so ``_Channels`` views x as a 2-D (rows, width) array whose rows hold whole
channel groups side by side (for a channels-last (128, 28, 28, 6) batch: 1024 rows of 98
pixels x 6 channels) and repeats each per-channel number along a row. A plain
``x - mean`` with the 6-wide channel axis innermost would run NumPy's inner loop 100,352
times for 6 values each; the wide view runs it 1,024 times for 588.

With numba (``accel``), batch norm's passes are compiled loops from ``norm_kernels`` over
the same wide view and the same chunks: training forward reads x twice (float64 sums of
x - k and (x - k)², k a value of each channel, then out = (x - mean)·s + beta), backward
reads x and g twice and writes dx once, inference is one pass; the NumPy code (one array
operation a pass) stays the reference and runs without numba. Measured on the shared
2-core VM (float32, the layer's call, two workers, glibc keeping freed memory as in
``bench_norm.py --no-trim``; min of 40, ms, +-20% run to run):

                       train fwd+bwd              inference
    input              NumPy  compiled  torch     NumPy  compiled  torch
    (128, 28, 28, 6)    1.21      0.97   1.11      0.23      0.20   0.09
    (128, 10, 10, 16)   0.55      0.34   0.48      0.11      0.07   0.06
    (128, 32, 32, 16)   5.37      2.87   4.53      0.77      0.48   0.27
    (128, 16, 16, 32)   2.65      1.32   2.02      0.47      0.25   0.14
    (128, 8, 8, 64)     1.86      0.90   0.85      0.27      0.19   0.08

Compiled training is mostly bound by memory traffic now; torch's inference is still ~2x
faster. With glibc's default (freed blocks handed back) the NumPy path's training step
also page-faulted its buffers in again (2.8-4.6 ms on the first input), the compiled one
did not (0.83-1.0 ms).

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
from neuropil.ops import accel

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


def _compiled(*arrays):
    """``norm_kernels`` (compiled loops) when numba is wanted and the arrays suit them: one
    float dtype, not empty. Otherwise None, and the NumPy code runs."""
    fast = accel.norm_kernels()
    dtype = arrays[0].dtype
    if fast is None or arrays[0].size == 0 or dtype not in (np.float32, np.float64) or \
            any(a.dtype != dtype for a in arrays):
        return None
    return fast


def _centre(xw, ch, parts, out) -> tuple:
    """NumPy: (mean, Σ (x - mean)²), with x - mean left in ``out``; centred first, for an
    exact variance (no E[x²] - E[x]²)."""
    mean = ch.fold(_total(threads.map_chunks(lambda r: xw[r].sum(axis=0), parts))) / ch.count
    mean_row = ch.expand(mean)

    def centre(r):
        np.subtract(xw[r], mean_row, out=out[r])
        return _dot(out[r], out[r], (0,))

    return mean, ch.fold(_total(threads.map_chunks(centre, parts)))


def _shifted_moments(fast, xw, ch, parts) -> tuple:
    """Compiled: (mean, Σ (x - mean)²) in float64 from one read of x: sums of d = x - k and
    d², with k per channel its first value, so Σ d² - (Σ d)²/n does not cancel."""
    k = xw[0].reshape(ch.k, ch.channels, ch.after)[0, :, 0].astype(np.float64)
    k_row = ch.expand(k)
    first, second = _total(threads.map_chunks(lambda r: fast.shifted_sums(xw[r], k_row), parts))
    first, second = ch.fold(first), ch.fold(second)
    return k + first / ch.count, np.maximum(second - first * (first / ch.count), 0.0)


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
    x - mean in the buffer that becomes dx (the compiled loops read x and g instead): a
    saved x̂ would be one more array as large as x, and a fresh large array costs more
    (page faults) than the extra pass.
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
        fast = _compiled(xw)
        out = np.empty_like(xw)  # before the sums' small arrays: see the NOTE in backward
        if fast is None:
            mean, m2 = _centre(xw, ch, parts, out)  # out holds x - mean
        else:
            mean, m2 = _shifted_moments(fast, xw, ch, parts)
        self.count = ch.count
        if self.distribution is not None:  # the global batch's statistics
            count, global_mean, m2 = self.distribution.batch_moments(ch.count, mean, m2)
            self.count = count
            if fast is None:
                out -= ch.expand((global_mean - mean).astype(x.dtype))  # x - global mean
            mean = global_mean
        mean, variance = mean.astype(x.dtype, copy=False), (m2 / self.count).astype(x.dtype)
        inv = 1.0 / np.sqrt(variance + self.epsilon)
        scale = inv if gamma is None else inv * gamma
        mean_row, scale_row = ch.expand(mean), ch.expand(scale)
        beta_row = None if beta is None else ch.expand(beta)
        if fast is None:
            def scale_and_shift(r):
                out[r] *= scale_row
                if beta_row is not None:
                    out[r] += beta_row
        else:  # out = (x - mean)·scale + beta in one pass
            rows = [v.astype(x.dtype, copy=False) for v in (mean_row, scale_row)]
            rows.append(np.zeros_like(rows[0]) if beta_row is None
                        else beta_row.astype(x.dtype, copy=False))

            def scale_and_shift(r):
                fast.normalize(xw[r], *rows, out[r])

        threads.map_chunks(scale_and_shift, parts)
        self.mean, self.variance = mean, variance
        if self.recording:
            self.ch, self.xw, self.mean_row, self.inv, self.scale = ch, xw, mean_row, inv, scale
        return out.reshape(x.shape)

    def backward(self, grad):
        ch, xw = self.ch, self.xw
        g = grad.reshape(ch.rows, ch.width)
        parts = threads.split(ch.rows, ch.width * g.itemsize)
        fast = _compiled(xw, g)
        if fast is None:
            centred = np.empty_like(xw)  # x - mean, which becomes dx in place

            def sums(r):
                np.subtract(xw[r], self.mean_row, out=centred[r])
                return np.stack([g[r].sum(axis=0), _dot(g[r], centred[r], (0,))])
        else:  # float64 sums of g and g·(x - mean), in one read of both
            # NOTE: dx is allocated before the sums' small arrays, as the NumPy path's buffer
            # is. Allocated after them it took the top of the heap, which glibc handed back
            # to the kernel when it was freed, and it page-faulted in again every step:
            # backward on (128, 8, 8, 64) took 0.9-1.0 ms instead of 0.44.
            dx = np.empty_like(xw) if self.needs_grad[0] else None

            def sums(r):
                return fast.grad_sums(g[r], xw[r], self.mean_row)

        dbeta_row, dgamma_row = _total(threads.map_chunks(sums, parts))
        dtype = np.result_type(g, xw)
        dbeta = ch.fold(dbeta_row).astype(dtype, copy=False)
        dgamma = self.inv * ch.fold(dgamma_row).astype(dtype, copy=False)
        grads = [None]
        if self.needs_grad[0]:  # dx = s·g - s·x̂·dgamma/n - s·dbeta/n
            mean_dbeta, mean_dgamma = (dbeta / self.count, dgamma / self.count) \
                if self.distribution is None else self._global_means(dbeta, dgamma)
            factor = ch.expand(-self.inv * mean_dgamma)
            shift, scale = ch.expand(-mean_dbeta), ch.expand(self.scale)
            if fast is None:
                def input_grad(r):  # four passes a chunk, in the buffer of x - mean
                    block = centred[r]
                    block *= factor
                    block += g[r]
                    block += shift
                    block *= scale
                dx = centred
            else:  # one pass from x and g
                rows = [v.astype(dtype, copy=False) for v in (self.mean_row, factor, shift, scale)]

                def input_grad(r):
                    fast.input_grad(g[r], xw[r], *rows, dx[r])

            threads.map_chunks(input_grad, parts)
            grads[0] = dx.reshape(grad.shape)
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
    present. Two passes forward (one compiled). Backward, with i = 1 / sqrt(variance + eps):
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
        fast = _compiled(xw, out)
        if fast is None:
            def scale_and_shift(r):
                np.multiply(xw[r], scale_row, out=out[r])
                out[r] += shift_row
        else:  # one pass instead of two
            rows = [v.astype(out.dtype, copy=False) for v in (scale_row, shift_row)]

            def scale_and_shift(r):
                fast.affine(xw[r], *rows, out[r])

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
