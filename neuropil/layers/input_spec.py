"""What a layer accepts, and the one place where a mismatch is put into words.

Errors follow Keras's wording (``Input 0 of layer "dense" is incompatible with the layer:
...``) and add what would fix it.
"""
from __future__ import annotations

__all__ = ["InputSpec", "assert_input_compatibility", "format_shape"]


class InputSpec:
    """Constraints on a layer's input: rank (``ndim``, ``min_ndim``, ``max_ndim``) and sizes of
    given axes (``axes={-1: 784}``); ``shape`` pins every axis (None = any)."""

    def __init__(self, dtype=None, shape=None, ndim=None, max_ndim=None, min_ndim=None,
                 axes=None, allow_last_axis_squeeze=False, name=None):
        self.dtype, self.name = dtype, name
        self.shape = None if shape is None else tuple(shape)
        self.ndim = len(self.shape) if self.shape is not None else ndim
        self.max_ndim, self.min_ndim = max_ndim, min_ndim
        self.axes = dict(axes or {})
        self.allow_last_axis_squeeze = allow_last_axis_squeeze

    def __repr__(self) -> str:
        parts = [f"{k}={v}" for k, v in vars(self).items() if v not in (None, {}, False)]
        return f"InputSpec({', '.join(parts)})"


def format_shape(shape) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + \
        ("," if len(shape) == 1 else "") + ")"


def _where(index: int, layer_name: str) -> str:
    # (worded only when raising: every layer call checks its input)
    return f'Input {index} of layer "{layer_name}" is incompatible with the layer'


def assert_input_compatibility(specs, shapes, layer_name: str) -> None:
    """Raises a ValueError naming the layer, the expected and the received shape."""
    if specs is None:
        return
    specs = specs if isinstance(specs, (list, tuple)) else [specs]
    shapes = shapes if isinstance(shapes, list) else [shapes]
    if len(specs) != len(shapes):
        raise ValueError(f'Layer "{layer_name}" expects {len(specs)} input(s), but it received '
                         f"{len(shapes)} input tensors.")
    for index, (spec, shape) in enumerate(zip(specs, shapes)):
        if spec is None:
            continue
        rank = len(shape)
        if spec.ndim is not None and rank != spec.ndim:
            raise ValueError(f"{_where(index, layer_name)}: expected ndim={spec.ndim}, "
                             f"found ndim={rank}. Full shape received: {format_shape(shape)}")
        if spec.max_ndim is not None and rank > spec.max_ndim:
            raise ValueError(f"{_where(index, layer_name)}: expected max_ndim={spec.max_ndim}, "
                             f"found ndim={rank}. Full shape received: {format_shape(shape)}")
        if spec.min_ndim is not None and rank < spec.min_ndim:
            raise ValueError(f"{_where(index, layer_name)}: expected min_ndim={spec.min_ndim}, "
                             f"found ndim={rank}. Full shape received: {format_shape(shape)}")
        for axis, size in spec.axes.items():
            actual = shape[axis] if -rank <= axis < rank else None
            if size is not None and actual not in (size, None):
                raise ValueError(f"{_where(index, layer_name)}: expected axis {axis} of input "
                                 f"shape to have value {size}, but received input with shape "
                                 f"{format_shape(shape)}")
        if spec.shape is not None:
            for expected, actual in zip(spec.shape, shape):
                if expected is not None and actual is not None and expected != actual:
                    raise ValueError(f"{_where(index, layer_name)}: expected shape="
                                     f"{format_shape(spec.shape)}, found shape="
                                     f"{format_shape(shape)}")
