"""The normalization layers, one module each, are the same classes under every import path
the single-file neuropil/layers/normalization.py offered, and save as keras.layers."""
import importlib

import pytest

import neuropil as keras
from neuropil.layers import normalization

MODULES = {"BatchNormalization": "batch_normalization",
           "LayerNormalization": "layer_normalization",
           "GroupNormalization": "group_normalization",
           "UnitNormalization": "unit_normalization"}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_one_class_three_paths(name):
    module = importlib.import_module(f"neuropil.layers.{MODULES[name]}")
    cls = getattr(module, name)
    assert getattr(normalization, name) is cls and getattr(keras.layers, name) is cls
    assert cls.__module__ == module.__name__ and name in normalization.__all__
    config = keras.saving.serialize_keras_object(cls())
    assert config["module"] == "keras.layers" and config["class_name"] == name
    assert type(keras.saving.deserialize_keras_object(config)) is cls


def test_former_helpers_are_still_importable():
    from neuropil.layers.group_normalization import group_norm
    assert normalization.group_norm is group_norm
    for helper in ("_set_affine", "_affine_config", "_flag", "_serialize_or_none",
                   "_axis_in_bounds"):
        assert callable(getattr(normalization, helper))
