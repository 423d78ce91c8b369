"""Whether conv2d, max pooling and batch norm use the optional compiled loops (numba), and
the switch.

The core needs NumPy only. With numba installed (``pip install neuropil[fast]``) these run
as compiled loops from ``numba_kernels``: one-channel stride-1 convolutions (directly, no
im2col), conv2d's im2col and col2im; max pooling from ``pool_kernels``; batch norm's passes from
``norm_kernels``; Winograd's transforms for 3x3 convolutions from ``winograd_kernels``.
Otherwise, or with the environment variable ``NEUROPIL_DISABLE_NUMBA=1``,
the NumPy code beside them runs. Both compute the same numbers up to the order of float
additions (the tests compare them); the compiled loops make one pass where NumPy makes
several, and LeNet-5 trains 1.4x faster with them (bench/README.md).

numba is imported on the first convolution, pooling or batch norm, not with neuropil (it
takes ~0.5 s). The loops run on the calling thread (see ``numba_kernels``).

Example:
>>> from neuropil.ops import accel
>>> accel.set_enabled(False)   # NumPy only from here on, e.g. to compare the two
>>> accel.set_enabled(None)    # back to the default: numba when importable
"""
from __future__ import annotations

import importlib

from neuropil.backend.spin import numba_disabled_by_env

__all__ = ["kernels", "pool_kernels", "norm_kernels", "winograd_kernels", "set_enabled"]

_DISABLED_BY_ENV = numba_disabled_by_env()
_state = {"wanted": not _DISABLED_BY_ENV, "module": None}


def kernels():
    """The ``numba_kernels`` module, or None when the NumPy path should run."""
    if not _state["wanted"]:
        return None
    if _state["module"] is None:
        try:
            from neuropil.ops import numba_kernels
            _state["module"] = numba_kernels
        except ImportError:  # numba is not installed (or cannot load): NumPy it is
            _state["module"] = False
    return _state["module"] or None


def pool_kernels():
    """The ``pool_kernels`` module (max pooling's loops), or None, as ``kernels()`` decides."""
    return _companion("pool_kernels")


def norm_kernels():
    """The ``norm_kernels`` module (batch norm's loops), or None, as ``kernels()`` decides."""
    return _companion("norm_kernels")


def winograd_kernels():
    """The ``winograd_kernels`` module (Winograd's transforms), or None, as ``kernels()``
    decides."""
    return _companion("winograd_kernels")


def _companion(name: str):
    """Another compiled module of ``neuropil.ops``, imported when ``kernels()`` says numba is
    wanted and loads (importing it imports numba)."""
    if kernels() is None:
        return None
    return importlib.import_module(f"neuropil.ops.{name}")


def set_enabled(enabled) -> None:
    """True: use numba when importable; False: NumPy only; None: the default (numba unless
    ``NEUROPIL_DISABLE_NUMBA`` is set)."""
    _state["wanted"] = (not _DISABLED_BY_ENV) if enabled is None else bool(enabled)
