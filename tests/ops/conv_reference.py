"""Slow, obviously correct convolutions and pooling: the test oracles for ops/conv.py and
ops/pool.py. Plain NumPy, one output position at a time, padding done by hand with TF's rule.
Not part of the package; never fast.
"""
from __future__ import annotations

import math

import numpy as np


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def same_padding(size: int, window: int, stride: int, dilation: int = 1) -> tuple:
    """TF's 'same' padding along one axis: (before, after), the smaller half before."""
    span = (window - 1) * dilation + 1
    total = max((math.ceil(size / stride) - 1) * stride + span - size, 0)
    return total // 2, total - total // 2


def pad_image(x, kernel_hw, strides, dilation, padding, value=0.0):
    """x padded for 'same' (or unchanged for 'valid') and the number of output rows/cols."""
    if padding == "valid":
        pads = [(0, 0), (0, 0)]
    else:
        pads = [same_padding(x.shape[1 + i], kernel_hw[i], strides[i], dilation[i])
                for i in range(2)]
    xp = np.pad(x, [(0, 0)] + pads + [(0, 0)], constant_values=value)
    out = [(xp.shape[1 + i] - ((kernel_hw[i] - 1) * dilation[i] + 1)) // strides[i] + 1
           for i in range(2)]
    return xp, out, pads


def window_at(xp, i, j, kernel_hw, strides, dilation):
    """The (kh, kw, C) window that output position (i, j) reads, for every sample."""
    rows = [i * strides[0] + a * dilation[0] for a in range(kernel_hw[0])]
    cols = [j * strides[1] + b * dilation[1] for b in range(kernel_hw[1])]
    return xp[:, rows][:, :, cols]  # (N, kh, kw, C)


def conv2d_reference(x, kernel, strides=1, padding="valid", dilation_rate=1):
    """out[n, i, j, o] = sum over (a, b, c) of window[n, a, b, c] * kernel[a, b, c, o]."""
    x, kernel = np.asarray(x, float), np.asarray(kernel, float)
    strides, dilation = _pair(strides), _pair(dilation_rate)
    xp, (oh, ow), _ = pad_image(x, kernel.shape[:2], strides, dilation, padding)
    out = np.zeros((x.shape[0], oh, ow, kernel.shape[3]))
    for i in range(oh):
        for j in range(ow):
            window = window_at(xp, i, j, kernel.shape[:2], strides, dilation)
            for o in range(kernel.shape[3]):
                out[:, i, j, o] = (window * kernel[..., o]).sum(axis=(1, 2, 3))
    return out


def depthwise_conv2d_reference(x, kernel, strides=1, padding="valid", dilation_rate=1):
    """Channel c under filter m -> output channel c * multiplier + m."""
    x, kernel = np.asarray(x, float), np.asarray(kernel, float)
    c, m = kernel.shape[2:]
    parts = [conv2d_reference(x[..., ci:ci + 1], kernel[:, :, ci:ci + 1, :], strides, padding,
                              dilation_rate) for ci in range(c)]
    return np.concatenate(parts, axis=-1)


def conv2d_transpose_reference(x, kernel, out_hw, start_hw, strides=1, dilation_rate=1):
    """Every input pixel stamps kernel (kh, kw, out, in) · pixel onto a large canvas at
    (i·s, j·s); the result is the canvas from ``start_hw`` on, ``out_hw`` long (zeros where
    the canvas ends). The sizes are given by the caller (the test states Keras's rule)."""
    x, kernel = np.asarray(x, float), np.asarray(kernel, float)
    strides, dilation = _pair(strides), _pair(dilation_rate)
    n, h, w, _ = x.shape
    kh, kw, o, _ = kernel.shape
    canvas = np.zeros((n, start_hw[0] + out_hw[0] + (h - 1) * strides[0] + kh * dilation[0],
                       start_hw[1] + out_hw[1] + (w - 1) * strides[1] + kw * dilation[1], o))
    for i in range(h):
        for j in range(w):
            for a in range(kh):
                for b in range(kw):
                    r, c = i * strides[0] + a * dilation[0], j * strides[1] + b * dilation[1]
                    canvas[:, r, c, :] += x[:, i, j, :] @ kernel[a, b].T
    return canvas[:, start_hw[0]:start_hw[0] + out_hw[0], start_hw[1]:start_hw[1] + out_hw[1]]


def pool2d_reference(x, pool_size, strides=None, padding="valid", kind="max"):
    """Max over the window (padding never wins), or the mean over its non-padded part."""
    x = np.asarray(x, float)
    pool_size = _pair(pool_size)
    strides = pool_size if strides is None else _pair(strides)
    xp, (oh, ow), _ = pad_image(x, pool_size, strides, (1, 1), padding, value=np.nan)
    out = np.zeros((x.shape[0], oh, ow, x.shape[3]))
    for i in range(oh):
        for j in range(ow):
            window = window_at(xp, i, j, pool_size, strides, (1, 1))
            reduce = np.nanmax if kind == "max" else np.nanmean
            out[:, i, j, :] = reduce(window, axis=(1, 2))
    return out
