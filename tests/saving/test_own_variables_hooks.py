"""Layer.save_own_variables / load_own_variables, Keras's hooks for a layer's saved state:
the defaults write "0", "1", ... (trainable first), and an override takes over what
model.save() / save_weights() write and what loading reads for that layer."""
import numpy as np
import pytest

import neuropil as keras
from neuropil import layers


class Counter(layers.Layer):
    """Keeps a count outside any variable; saves it through the hooks."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.count = 0.0

    def build(self, input_shape):
        self.scale = self.add_weight(shape=(input_shape[-1],), initializer="ones")

    def call(self, inputs):
        return inputs * self.scale

    def save_own_variables(self, store):
        super().save_own_variables(store)
        store["count"] = np.array(self.count)

    def load_own_variables(self, store):
        self.count = float(store["count"])
        self.scale.assign(store["0"])


def model_with_counter():
    inputs = keras.Input((3,))
    return keras.Model(inputs, layers.Dense(2)(Counter(name="counter")(inputs)))


def test_default_hooks_store_trainable_first():
    layer = layers.BatchNormalization()
    layer.build((None, 4))
    store = {}
    layer.save_own_variables(store)
    assert sorted(store) == ["0", "1", "2", "3"]
    np.testing.assert_array_equal(store["0"], layer.gamma.numpy())   # trainable first
    np.testing.assert_array_equal(store["2"], layer.moving_mean.numpy())
    store["2"] = np.full(4, 7.0)
    layer.load_own_variables(store)
    np.testing.assert_array_equal(layer.moving_mean.numpy(), np.full(4, 7.0))
    with pytest.raises(ValueError, match="expected 4 variables, but received 1"):
        layer.load_own_variables({"0": np.ones(4)})


@pytest.mark.parametrize("suffix", [".weights.h5", ".keras"])
def test_overridden_hooks_are_what_saving_writes_and_reads(tmp_path, suffix):
    model = model_with_counter()
    counter = model.get_layer("counter")
    counter.count = 5.0
    counter.scale.assign(np.array([1.0, 2.0, 3.0]))
    path = tmp_path / f"m{suffix}"
    if suffix == ".keras":
        model.save(path)
        loaded = keras.models.load_model(path, custom_objects={"Counter": Counter})
    else:
        model.save_weights(path)
        loaded = model_with_counter()
        loaded.load_weights(path)
    assert loaded.get_layer("counter").count == 5.0
    np.testing.assert_array_equal(loaded.get_layer("counter").scale.numpy(), [1.0, 2.0, 3.0])
    x = np.arange(6, dtype="float32").reshape(2, 3)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)
