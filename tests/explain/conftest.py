"""Models shared by the explain tests."""
import numpy as np
import pytest

import neuropil as keras
from neuropil import layers


def lecture_network():
    """The lecture's 4-input network: (0, 1, 2, 3) → (2, 10, 6) → (0, 0) → sigmoid(-1)."""
    model = keras.Sequential([
        keras.Input((4,)),
        layers.Dense(3, activation="relu", name="hidden1"),
        layers.Dense(2, activation="relu", name="hidden2"),
        layers.Dense(1, activation="sigmoid", name="output"),
    ])
    model.set_weights([
        np.array([[0, 0, 0], [2, 0, 0], [0, 2, 0], [0, 2, 2]], "float32"), np.zeros(3, "float32"),
        np.array([[-1, 0], [0, -1], [-1, -1]], "float32"), np.zeros(2, "float32"),
        np.array([[3], [5]], "float32"), np.array([-1], "float32")])
    return model


@pytest.fixture
def lecture_model():
    return lecture_network()
