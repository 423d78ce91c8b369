"""Keras's conventions for names and for turning identifiers into objects."""
from __future__ import annotations

import difflib
import re

from neuropil import backend


def to_snake_case(name: str) -> str:
    """``LeakyReLU`` -> ``leaky_re_lu``, ``Conv2D`` -> ``conv2d`` (Keras's rule)."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def unique_name(base: str) -> str:
    uid = backend.get_uid(base)
    return base if uid == 0 else f"{base}_{uid}"


def unknown_identifier(kind: str, identifier, known) -> ValueError:
    """The error for an unknown name: lists the valid ones and the closest match."""
    known = sorted(known)
    close = difflib.get_close_matches(str(identifier), known, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return ValueError(f"Unknown {kind}: {identifier!r}.{hint} Valid {kind} names are: "
                      f"{', '.join(known)}.")
