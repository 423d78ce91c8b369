"""Normalization layers: BatchNormalization (per channel, over the batch),
LayerNormalization (per sample, over its features), GroupNormalization (per sample, over
groups of channels) and UnitNormalization (each sample scaled to L2 norm 1).

One module per layer (``batch_normalization``, ``layer_normalization``,
``group_normalization``, ``unit_normalization``; shared argument handling in
``normalization_utils``); this module gathers them."""
from __future__ import annotations

from neuropil.layers.batch_normalization import BatchNormalization
from neuropil.layers.group_normalization import GroupNormalization, group_norm
from neuropil.layers.layer_normalization import LayerNormalization
from neuropil.layers.unit_normalization import UnitNormalization

# Helpers that lived here before the split, still importable from here.
from neuropil.layers.normalization_utils import (_affine_config, _axis_in_bounds,  # noqa: F401
                                                 _flag, _serialize_or_none, _set_affine)

__all__ = ["BatchNormalization", "LayerNormalization", "GroupNormalization",
           "UnitNormalization"]
