"""Files written by real Keras 3 (tests/saving/make_fixtures.py) load and predict here."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import neuropil as keras
from neuropil import layers

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _fixture(name):
    if not (FIXTURES / f"{name}.keras").exists():
        pytest.skip(f"run tests/saving/make_fixtures.py with Keras to create {name}")
    return FIXTURES / f"{name}.keras", np.load(FIXTURES / f"{name}.npz")


def _neuropil_twin(name):
    """The same architecture written with neuropil (for the .weights.h5 fixtures)."""
    if name == "keras_sequential_dense":
        return keras.Sequential([keras.Input((4,)), layers.Dense(8, activation="relu"),
                                 layers.Dense(3, activation="softmax")])
    inputs = keras.Input((8, 8, 1))
    x = layers.Rescaling(1 / 255.0)(inputs)
    x = layers.Conv2D(4, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D()(layers.BatchNormalization()(x))
    x = layers.Flatten()(layers.Conv2D(2, 3)(x))
    return keras.Model(inputs, layers.Dense(3, activation="softmax")(x))


@pytest.mark.parametrize("name", ["keras_sequential_dense", "keras_functional_conv"])
def test_keras_model_loads_and_predicts(name):
    path, arrays = _fixture(name)
    model = keras.models.load_model(path)
    assert type(model).__name__ == ("Sequential" if "sequential" in name else "Functional")
    np.testing.assert_allclose(model.predict(arrays["x"], verbose=0), arrays["pred"],
                               atol=1e-6)
    assert int(model.optimizer.iterations.data) == 4


@pytest.mark.parametrize("name", ["keras_sequential_dense", "keras_functional_conv"])
def test_training_continues_from_keras_optimizer_state(name):
    path, arrays = _fixture(name)
    model = keras.models.load_model(path)
    model.fit(arrays["x"], arrays["y"], batch_size=8, epochs=1, shuffle=False, verbose=0)
    np.testing.assert_allclose(model.predict(arrays["x"], verbose=0), arrays["pred_after"],
                               atol=1e-5)


@pytest.mark.parametrize("name", ["keras_sequential_dense", "keras_functional_conv"])
def test_keras_weights_file_loads_into_a_neuropil_model(name):
    _, arrays = _fixture(name)
    model = _neuropil_twin(name)
    model.load_weights(FIXTURES / f"{name}.weights.h5")
    np.testing.assert_allclose(model.predict(arrays["x"], verbose=0), arrays["pred"],
                               atol=1e-6)


def test_neuropil_saves_what_keras_wrote(tmp_path):
    """Load Keras's file, save it again: the config and weight layout survive."""
    path, arrays = _fixture("keras_functional_conv")
    model = keras.models.load_model(path)
    model.save(tmp_path / "again.keras")
    again = keras.models.load_model(tmp_path / "again.keras")
    assert again.get_config() == model.get_config()
    np.testing.assert_array_equal(again.predict(arrays["x"], verbose=0),
                                  model.predict(arrays["x"], verbose=0))
