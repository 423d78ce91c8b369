"""Tiny models, synthetic data and a log-scripting callback for the callback tests."""
import numpy as np
import pytest

import neuropil as keras
from neuropil import layers


class ScriptedLogs(keras.callbacks.Callback):
    """Overwrites ``logs[key]`` at each epoch end with ``values[epoch]``.

    Placed before the callback under test: every callback of one hook call shares the same
    logs dict, so the next ones see the scripted value.
    """

    def __init__(self, values, key="val_loss"):
        super().__init__()
        self.values, self.key = list(values), key

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]


class WeightsPerEpoch(keras.callbacks.Callback):
    """Records the model's weights at each epoch end."""

    def __init__(self):
        super().__init__()
        self.weights = {}

    def on_epoch_end(self, epoch, logs=None):
        self.weights[epoch] = self.model.get_weights()


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 4)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5], [0.0]], "float32") + 0.3).astype("float32")
    return x, y


@pytest.fixture
def make_model():
    """A compiled Dense(1) regression model: 32 samples in batches of 16 = 2 steps/epoch."""
    def make(optimizer=None, metrics=("mae",), seed=0):
        keras.utils.set_random_seed(seed)
        model = keras.Sequential([keras.Input((4,)), layers.Dense(1)])
        model.compile(optimizer=optimizer or keras.optimizers.SGD(0.01), loss="mse",
                      metrics=list(metrics))
        return model
    return make


@pytest.fixture
def scripted():
    return ScriptedLogs


@pytest.fixture
def weights_per_epoch():
    return WeightsPerEpoch
