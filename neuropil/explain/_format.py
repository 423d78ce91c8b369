"""Numbers as a learner writes them: 2 not 2.0, 0.269 not 0.26894142, long vectors cut short."""
from __future__ import annotations

import math

import numpy as np

__all__ = ["num", "signed", "vector", "grid", "describe", "plural", "shape_text"]


def num(value, digits: int = 3, fixed: bool = False) -> str:
    """``2.0`` -> "2", ``0.26894142`` -> "0.269", ``1e-7`` -> "1.00e-07" (or "0" when
    ``fixed``, for grids whose columns should stay narrow), NaN -> "nan"."""
    value = float(value)
    if not math.isfinite(value):
        return str(value)
    if value == 0:
        return "0"
    if not fixed and (abs(value) < 10 ** -digits or abs(value) >= 1e7):
        return f"{value:.2e}"
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def signed(value, digits: int = 3) -> str:
    """A factor inside a written-out sum: negative numbers in parentheses, "(-1)·2"."""
    text = num(value, digits)
    return f"({text})" if text.startswith("-") else text


def vector(values, limit: int = 8, digits: int = 3) -> str:
    """A 1-D array as a tuple, "(0, 1, 2, 3)"; past ``limit`` values, "(0, 1, …, +56 more)"."""
    flat = np.asarray(values).reshape(-1)
    shown = [num(v, digits) for v in flat[:limit]]
    if flat.size > limit:
        shown.append(f"… +{flat.size - limit} more")
    return "(" + ", ".join(shown) + ")"


def grid(values, max_rows: int = 8, max_cols: int = 8, digits: int = 2,
         indent: str = "    ") -> list:
    """A 2-D array as right-aligned rows of text, cut to ``max_rows`` × ``max_cols``."""
    values = np.asarray(values)
    rows = values[:max_rows, :max_cols]
    cells = [[num(v, digits, fixed=True) for v in row] for row in rows]
    width = max((len(c) for row in cells for c in row), default=1)
    lines = []
    for row in cells:
        line = " ".join(c.rjust(width) for c in row)
        if values.shape[1] > max_cols:
            line += " …"
        lines.append(indent + line)
    if values.shape[0] > max_rows:
        lines.append(indent + f"… ({values.shape[0] - max_rows} more rows)")
    return lines


def describe(values, limit: int = 8, digits: int = 3) -> str:
    """Small arrays in full; larger ones by shape, range, mean and their first values."""
    values = np.asarray(values)
    if values.size <= limit:
        return vector(values, limit, digits)
    return (f"shape {shape_text(values.shape)}: min {num(values.min(), digits)}, "
            f"max {num(values.max(), digits)}, mean {num(values.mean(), digits)}; "
            f"first values {vector(values, min(limit, 6), digits)}")


def plural(count: int, word: str, words: str | None = None) -> str:
    return f"{count} {word if count == 1 else (words or word + 's')}"


def shape_text(shape) -> str:
    """(None, 4) -> "(None, 4)", (4,) -> "(4,)"."""
    shape = tuple(shape)
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + \
        ("," if len(shape) == 1 else "") + ")"
