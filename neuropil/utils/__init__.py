"""``keras.utils``: helpers around the data. Re-exports only; each lives at its level."""
from __future__ import annotations

import numpy as np

from neuropil.backend.random import set_random_seed
from neuropil.config import (disable_interactive_logging, enable_interactive_logging,
                             is_interactive_logging_enabled)
from neuropil.data.download import get_file
from neuropil.data.encoding import to_categorical
from neuropil.data.image_files import (array_to_img, image_dataset_from_directory, img_to_array,
                                       load_img, save_img)
from neuropil.saving.registry import (CustomObjectScope, custom_object_scope,
                                      deserialize_keras_object, get_custom_objects,
                                      get_registered_name, get_registered_object,
                                      register_keras_serializable, serialize_keras_object)
from neuropil.training.batching import PyDataset
from neuropil.utils.dataset_utils import (pack_x_y_sample_weight, split_dataset,
                                          unpack_x_y_sample_weight)
from neuropil.utils.progbar import Progbar

Sequence = PyDataset  # Keras's older name, kept as an alias

__all__ = ["to_categorical", "normalize", "set_random_seed", "get_file", "PyDataset",
           "Sequence", "image_dataset_from_directory", "load_img", "img_to_array",
           "array_to_img", "save_img", "register_keras_serializable", "serialize_keras_object",
           "deserialize_keras_object", "custom_object_scope", "CustomObjectScope",
           "get_custom_objects", "get_registered_name", "get_registered_object", "Progbar",
           "pack_x_y_sample_weight", "unpack_x_y_sample_weight", "split_dataset",
           "enable_interactive_logging", "disable_interactive_logging",
           "is_interactive_logging_enabled", "plot_model"]


def normalize(x, axis=-1, order=2):
    """Scales ``x`` so that each slice along ``axis`` has unit L-``order`` norm."""
    x = np.asarray(x)
    norm = np.linalg.norm(x, ord=order, axis=axis, keepdims=True)
    return x / np.where(norm == 0, 1, norm)


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False,
               show_layer_names=False, rankdir="TB", expand_nested=False, dpi=200,
               show_layer_activations=False, show_trainable=False, **kwargs):
    """Draws the model's layer graph into ``to_file`` (a PNG), as ``keras.utils.plot_model``.

    Drawn with matplotlib by ``neuropil.plot.model`` (no pydot / Graphviz needed); the
    arguments after ``show_shapes`` are accepted for compatibility. Returns None.
    """
    # NOTE: plot is level 8 like utils; imported on use so that keras.utils stays light.
    from neuropil.plot.graph import model as draw_model
    draw_model(model, path=to_file, show_shapes=show_shapes)
