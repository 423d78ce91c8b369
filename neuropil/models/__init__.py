"""``keras.models``: Model, Sequential, and (later) loading saved models."""
from neuropil.models.functional import Functional
from neuropil.models.model import Model
from neuropil.models.sequential import Sequential

__all__ = ["Model", "Sequential", "Functional"]
