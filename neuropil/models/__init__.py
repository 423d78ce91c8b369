"""``keras.models``: Model, Sequential, and loading saved models."""
from neuropil.models.cloning import clone_model
from neuropil.models.functional import Functional
from neuropil.models.model import Model
from neuropil.models.sequential import Sequential

__all__ = ["Model", "Sequential", "Functional", "clone_model", "load_model",
           "model_from_json", "save_model"]


# NOTE: saving is level 8; these wrappers import it when called (see tools/levels.py).
def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Loads a model saved with ``model.save("x.keras")``: see ``keras.saving.load_model``."""
    from neuropil import saving
    return saving.load_model(filepath, custom_objects=custom_objects, compile=compile,
                             safe_mode=safe_mode)


def save_model(model, filepath, overwrite=True, **kwargs):
    """Saves ``model`` as a ``.keras`` file: see ``keras.saving.save_model``."""
    from neuropil import saving
    return saving.save_model(model, filepath, overwrite=overwrite, **kwargs)


def model_from_json(json_string, custom_objects=None):
    """A model from ``model.to_json()``'s string (new weights; compiled if the JSON says so,
    as in Keras)."""
    import json

    from neuropil import saving
    return saving.deserialize_keras_object(
        saving.strip_keras_only_keys(json.loads(json_string), "the JSON string"),
        custom_objects=custom_objects)
