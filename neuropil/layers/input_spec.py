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
        where = f'Input {index} of layer "{layer_name}" is incompatible with the layer'
        rank = len(shape)
        if spec.ndim is not None and rank != spec.ndim:
            raise ValueError(f"{where}: expected ndim={spec.ndim}, found ndim={rank}. Full "
                             f"shape received: {format_shape(shape)}")
        if spec.max_ndim is not None and rank > spec.max_ndim:
            raise ValueError(f"{where}: expected max_ndim={spec.max_ndim}, found ndim={rank}. "
                             f"Full shape received: {format_shape(shape)}")
        if spec.min_ndim is not None and rank < spec.min_ndim:
            raise ValueError(f"{where}: expected min_ndim={spec.min_ndim}, found ndim={rank}. "
                             f"Full shape received: {format_shape(shape)}")
        for axis, size in spec.axes.items():
            actual = shape[axis] if -rank <= axis < rank else None
            if size is not None and actual not in (size, None):
                raise ValueError(f"{where}: expected axis {axis} of input shape to have value "
                                 f"{size}, but received input with shape {format_shape(shape)}")
        if spec.shape is not None:
            for expected, actual in zip(spec.shape, shape):
                if expected is not None and actual is not None and expected != actual:
                    raise ValueError(f"{where}: expected shape={format_shape(spec.shape)}, "
                                     f"found shape={format_shape(shape)}")
