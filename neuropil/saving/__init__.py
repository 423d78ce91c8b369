"""``keras.saving``: save and load models (``.keras``) and weights (``.weights.h5``).

Files follow Keras 3's layout, so they move between neuropil and Keras both ways. Loading
rebuilds only known classes (neuropil's own, registered ones, ``custom_objects``) and never
executes anything from the file. See archive.py, weights_h5.py and registry.py.
"""
from neuropil.saving.archive import load_model, save_model
from neuropil.saving.registry import (CustomObjectScope, custom_object_scope,
                                      deserialize_keras_object, get_custom_objects,
                                      get_registered_name, get_registered_object,
                                      register_keras_serializable, serialize_keras_object,
                                      strip_keras_only_keys)
from neuropil.saving.weights_h5 import load_weights, save_weights

__all__ = ["save_model", "load_model", "save_weights", "load_weights",
           "register_keras_serializable", "get_registered_object", "get_registered_name",
           "get_custom_objects", "CustomObjectScope", "custom_object_scope",
           "serialize_keras_object", "deserialize_keras_object"]
