"""save_weights / load_weights in Keras 3's .weights.h5 layout."""
from __future__ import annotations

import os

import h5py
import numpy as np
import pytest

import neuropil as keras
from neuropil import layers
from neuropil.saving import weights_h5
from saving_helpers import conv_model, dense_model, randomize


def test_layout_is_keras_three(tmp_path, data):
    """Groups are named after the layer class with a counter, not after the layer's name."""
    model = keras.Sequential([keras.Input((4,)), layers.Dense(5, name="hidden"),
                              layers.Dropout(0.5),
                              layers.Dense(3, activation="softmax", name="output")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    model.fit(*data, epochs=1, verbose=0)
    model.save_weights(tmp_path / "m.weights.h5")
    with h5py.File(tmp_path / "m.weights.h5") as f:
        datasets = {}
        f.visititems(lambda name, obj: datasets.__setitem__(name, getattr(obj, "shape", None)))
        names = {group: f[group].attrs["name"] for group in
                 ("vars", "layers/dense/vars", "layers/dense_1/vars", "optimizer/vars")}
    assert {k: v for k, v in datasets.items() if v is not None} == {
        "layers/dense/vars/0": (4, 5), "layers/dense/vars/1": (5,),
        "layers/dense_1/vars/0": (5, 3), "layers/dense_1/vars/1": (3,),
        "optimizer/vars/0": (), "optimizer/vars/1": ()}
    assert "layers/dropout/vars" in datasets
    assert names == {"vars": model.name, "layers/dense/vars": "hidden",
                     "layers/dense_1/vars": "output", "optimizer/vars": model.optimizer.name}


def test_trainable_weights_come_first(tmp_path):
    inputs = keras.Input((3,))
    model = keras.Model(inputs, layers.BatchNormalization()(inputs))
    model.save_weights(tmp_path / "m.weights.h5")
    with h5py.File(tmp_path / "m.weights.h5") as f:
        group = f["layers/batch_normalization/vars"]
        assert list(group) == ["0", "1", "2", "3"]
    bn = model.layers[1]
    assert [v.name for v in weights_h5.own_variables(bn)] == \
        ["gamma", "beta", "moving_mean", "moving_variance"]


def test_round_trip_into_a_fresh_model(tmp_path):
    model = conv_model()
    randomize(model)
    model.save_weights(tmp_path / "m.weights.h5")
    fresh = conv_model()
    fresh.load_weights(tmp_path / "m.weights.h5")
    for a, b in zip(model.get_weights(), fresh.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_layer_names_do_not_matter(tmp_path):
    model = dense_model()
    randomize(model)
    model.save_weights(tmp_path / "m.weights.h5")
    renamed = keras.Sequential([keras.Input((4,)), layers.Dense(5, name="a"),
                                layers.Dense(3, name="b")])
    renamed.load_weights(tmp_path / "m.weights.h5")
    np.testing.assert_array_equal(renamed.layers[1].kernel.numpy(),
                                  model.layers[1].kernel.numpy())


def test_load_weights_from_a_keras_archive(tmp_path):
    model = dense_model()
    randomize(model)
    model.save(tmp_path / "m.keras")
    fresh = dense_model()
    fresh.load_weights(tmp_path / "m.keras")
    np.testing.assert_array_equal(fresh.get_weights()[0], model.get_weights()[0])


def test_optimizer_state_is_saved_with_the_weights(tmp_path, data):
    model = dense_model()
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(*data, epochs=1, verbose=0)
    model.save_weights(tmp_path / "m.weights.h5")
    fresh = dense_model()
    fresh.compile("adam", "sparse_categorical_crossentropy")
    fresh.load_weights(tmp_path / "m.weights.h5")
    assert len(fresh.optimizer.variables) == len(model.optimizer.variables) == 10
    for a, b in zip(fresh.optimizer.variables, model.optimizer.variables):
        np.testing.assert_array_equal(a.data, b.data)


def test_optimizer_mismatch_warns_and_keeps_the_optimizer(tmp_path, data):
    model = dense_model()
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(*data, epochs=1, verbose=0)
    model.save_weights(tmp_path / "m.weights.h5")
    fresh = dense_model()
    fresh.compile(keras.optimizers.SGD(momentum=0.0), "sparse_categorical_crossentropy")
    with pytest.warns(UserWarning, match="Skipping variable loading for optimizer"):
        fresh.load_weights(tmp_path / "m.weights.h5")
    assert not fresh.optimizer.built and int(fresh.optimizer.iterations.data) == 0
    np.testing.assert_array_equal(fresh.get_weights()[0], model.get_weights()[0])


def test_suffix_must_be_weights_h5(tmp_path):
    with pytest.raises(ValueError, match=r"must end in `\.weights\.h5`"):
        dense_model().save_weights(tmp_path / "m.h5")
    with pytest.raises(ValueError, match="File format not supported"):
        dense_model().load_weights(tmp_path / "m.h5")


def test_unbuilt_models_are_refused(tmp_path):
    with pytest.raises(ValueError, match="not yet been built"):
        keras.Sequential([layers.Dense(2)]).save_weights(tmp_path / "m.weights.h5")
    dense_model().save_weights(tmp_path / "m.weights.h5")
    with pytest.raises(ValueError, match="not yet been built"):
        keras.Sequential([layers.Dense(2)]).load_weights(tmp_path / "m.weights.h5")


def _wider():
    return keras.Sequential([keras.Input((4,)), layers.Dense(6, activation="relu"),
                             layers.Dense(3, activation="softmax")])


def test_shape_mismatch_names_file_layer_and_both_shapes(tmp_path):
    dense_model().save_weights(tmp_path / "m.weights.h5")
    model = _wider()
    before = model.get_weights()
    with pytest.raises(ValueError) as error:
        model.load_weights(tmp_path / "m.weights.h5")
    message = str(error.value)
    for part in ("m.weights.h5", f"'{model.layers[0].name}'", "'kernel'", "(4, 6)", "(4, 5)"):
        assert part in message
    for a, b in zip(before, model.get_weights()):  # nothing half-loaded
        np.testing.assert_array_equal(a, b)


def test_skip_mismatch_loads_the_rest(tmp_path):
    saved = dense_model()
    randomize(saved)
    saved.save_weights(tmp_path / "m.weights.h5")
    model = keras.Sequential([keras.Input((4,)), layers.Dense(5), layers.Dense(2)])
    with pytest.warns(UserWarning, match="skip_mismatch=True"):
        model.load_weights(tmp_path / "m.weights.h5", skip_mismatch=True)
    np.testing.assert_array_equal(model.layers[0].kernel.numpy(),
                                  saved.layers[0].kernel.numpy())


def test_missing_layer_weights_are_an_error(tmp_path):
    dense_model().save_weights(tmp_path / "m.weights.h5")
    deeper = keras.Sequential([keras.Input((4,)), layers.Dense(5), layers.Dense(3),
                               layers.Dense(1)])
    with pytest.raises(ValueError, match=r"no group 'layers/dense_2/vars'"):
        deeper.load_weights(tmp_path / "m.weights.h5")


def test_interrupted_save_weights_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "m.weights.h5"
    dense_model().save_weights(path)
    before = path.read_bytes()

    def failing_write(group, key, array):
        raise RuntimeError("interrupted")

    monkeypatch.setattr(weights_h5, "write_dataset", failing_write)
    with pytest.raises(RuntimeError, match="interrupted"):
        dense_model().save_weights(path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["m.weights.h5"]


def test_custom_layer_sublayers_live_under_attribute_names(tmp_path):
    class Block(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.first = layers.Dense(3)
            self.rest = [layers.Dense(3), layers.Dense(2)]

        def call(self, x):
            x = self.first(x)
            for layer in self.rest:
                x = layer(x)
            return x

    inputs = keras.Input((4,))
    model = keras.Model(inputs, Block()(inputs))
    model.save_weights(tmp_path / "m.weights.h5")
    with h5py.File(tmp_path / "m.weights.h5") as f:
        for group in ("layers/block/first/vars", "layers/block/rest/dense/vars",
                      "layers/block/rest/dense_1/vars"):
            assert len(f[group]) == 2, group
