"""Small models shared by the saving tests."""
from __future__ import annotations

import numpy as np
import neuropil as keras
from neuropil import layers


def dense_model(name=None):
    return keras.Sequential([keras.Input((4,)), layers.Dense(5, activation="relu"),
                             layers.Dense(3, activation="softmax")], name=name)


def conv_model():
    inputs = keras.Input((6, 6, 1), name="image")
    x = layers.Conv2D(3, 3, padding="same", activation="relu", name="conv")(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    outputs = layers.Dense(2, activation="softmax", name="head")(x)
    return keras.Model(inputs, outputs, name="tiny_cnn")


def randomize(model, seed=0):
    """Non-default values in every weight (moving statistics included)."""
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        variable.assign(rng.uniform(0.5, 1.5, variable.shape).astype(variable.dtype))

