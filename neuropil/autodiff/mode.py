"""Whether ops record a graph for backward.

Recording is on by default, as in PyTorch. ``predict``, ``evaluate`` and the optimizers run
under ``no_grad()`` so that nothing is kept for a backward pass that will never come.
The *training* flag (dropout, batch norm) is not here on purpose: layers receive it as an
argument of ``call()``, so an op's behaviour never depends on hidden global state.
"""
from __future__ import annotations

import contextlib

_grad_enabled = True

__all__ = ["no_grad", "enable_grad", "is_grad_enabled"]


def is_grad_enabled() -> bool:
    """True when ops on tensors that require gradients record themselves for backward."""
    return _grad_enabled


class _GradMode(contextlib.ContextDecorator):
    def __init__(self, enabled: bool):
        self.enabled = enabled

    def __enter__(self):
        global _grad_enabled
        self.previous = _grad_enabled
        _grad_enabled = self.enabled
        return self

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self.previous
        return False


def no_grad() -> _GradMode:
    """Context manager (or decorator) in which no op records a graph.

    Example:
    >>> from neuropil.autodiff import Tensor, no_grad
    >>> w = Tensor([1.0, 2.0], requires_grad=True)
    >>> with no_grad():
    ...     y = w * 2
    >>> y.requires_grad
    False
    """
    return _GradMode(False)


def enable_grad() -> _GradMode:
    """Context manager that turns recording back on inside a ``no_grad`` block."""
    return _GradMode(True)
