"""``keras.layers``: the building blocks of networks."""
from neuropil.layers.activation import ELU, LeakyReLU, ReLU, Softmax
from neuropil.layers.core import Activation, Dense, Identity, Input, InputLayer
from neuropil.layers.input_spec import InputSpec
from neuropil.layers.layer import Layer
from neuropil.layers.regularization import Dropout
from neuropil.layers.reshaping import Flatten, Reshape

__all__ = ["Layer", "InputSpec", "Input", "InputLayer", "Dense", "Activation", "Identity",
           "ReLU", "LeakyReLU", "Softmax", "ELU", "Dropout", "Flatten", "Reshape"]
