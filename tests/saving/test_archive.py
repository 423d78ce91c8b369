"""model.save / keras.models.load_model: the .keras archive, compile state, atomic writes."""
from __future__ import annotations

import json
import os
import zipfile

import numpy as np
import pytest

import neuropil as keras
from neuropil import layers
from neuropil.saving import archive, weights_h5
from saving_helpers import conv_model, dense_model, randomize


def test_archive_holds_keras_three_members(tmp_path, data):
    model = dense_model()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(*data, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as zf:
        assert zf.namelist() == ["metadata.json", "config.json", "model.weights.h5"]
        metadata = json.loads(zf.read("metadata.json"))
        config = json.loads(zf.read("config.json"))
    assert metadata["keras_version"].startswith("3.") and "@" in metadata["date_saved"]
    assert (config["module"], config["class_name"]) == ("keras", "Sequential")
    assert config["build_config"] == {"input_shape": [None, 4]}
    assert config["compile_config"]["optimizer"]["class_name"] == "Adam"
    assert config["compile_config"]["loss"] == "sparse_categorical_crossentropy"
    assert config["compile_config"]["metrics"] == ["accuracy"]
    assert [layer["class_name"] for layer in config["config"]["layers"]] == \
        ["InputLayer", "Dense", "Dense"]


def test_functional_config_uses_keras_node_format(tmp_path):
    conv_model().save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as zf:
        config = json.loads(zf.read("config.json"))
    assert (config["module"], config["class_name"], config["registered_name"]) == \
        ("keras.src.models.functional", "Functional", "Functional")
    graph = config["config"]
    assert graph["input_layers"] == ["image", 0, 0]
    assert graph["output_layers"] == ["head", 0, 0]
    conv = next(layer for layer in graph["layers"] if layer["name"] == "conv")
    assert conv["inbound_nodes"] == [{"args": [{"class_name": "__keras_tensor__", "config": {
        "shape": [None, 6, 6, 1], "dtype": "float32", "keras_history": ["image", 0, 0]}}],
        "kwargs": {}}]


def test_functional_round_trip_with_shared_layer_and_two_inputs(tmp_path):
    a, b = keras.Input((3,), name="a"), keras.Input((3,), name="b")
    shared = layers.Dense(2, name="shared")
    out = layers.Dense(1, name="out")(layers.Flatten()(layers.Reshape((2, 1))(shared(b))))
    model = keras.Model([a, b], [shared(a), out])
    randomize(model)
    model.save(tmp_path / "m.keras")
    restored = keras.models.load_model(tmp_path / "m.keras")
    assert len(restored.get_layer("shared")._inbound_nodes) == 2
    x = [np.ones((2, 3), "float32"), np.full((2, 3), 2.0, "float32")]
    for got, expected in zip(restored(x), model(x)):  # predict() takes one output only
        np.testing.assert_array_equal(got.numpy(), expected.numpy())


def test_nested_models_round_trip(tmp_path):
    inner = dense_model(name="inner")
    inputs = keras.Input((4,))
    model = keras.Model(inputs, layers.Dense(1, name="top")(inner(inputs)))
    randomize(model)
    model.save(tmp_path / "m.keras")
    restored = keras.models.load_model(tmp_path / "m.keras")
    x = np.linspace(-1, 1, 8, dtype="float32").reshape(2, 4)
    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))
    assert isinstance(restored.get_layer("inner"), keras.Sequential)


@pytest.mark.parametrize("optimizer", [
    lambda: keras.optimizers.Adam(0.01),
    lambda: keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
    lambda: keras.optimizers.RMSprop(0.01, momentum=0.5, centered=True),
    lambda: keras.optimizers.Nadam(0.01),
])
def test_training_resumes_bit_identical(optimizer, tmp_path, data):
    """2 epochs, save, load, 1 more epoch == 3 epochs straight (shuffle=False)."""
    def fresh():
        keras.utils.set_random_seed(7)
        inputs = keras.Input((4,))
        x = layers.BatchNormalization()(layers.Dense(6, activation="relu")(inputs))
        model = keras.Model(inputs, layers.Dense(3, activation="softmax")(x))
        model.compile(optimizer(), "sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    straight = fresh()
    straight.fit(*data, batch_size=4, epochs=3, shuffle=False, verbose=0)

    resumed = fresh()
    resumed.fit(*data, batch_size=4, epochs=2, shuffle=False, verbose=0)
    resumed.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert int(loaded.optimizer.iterations.data) == 8
    loaded.fit(*data, batch_size=4, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(loaded.get_weights(), straight.get_weights()):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(loaded.optimizer.variables, straight.optimizer.variables):
        np.testing.assert_array_equal(a.data, b.data)


def test_compile_false_gives_an_uncompiled_model(tmp_path, data):
    model = dense_model()
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(*data, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras", compile=False)
    assert not loaded.compiled and loaded.optimizer is None
    np.testing.assert_array_equal(loaded.predict(data[0], verbose=0),
                                  model.predict(data[0], verbose=0))


def test_compiled_but_untrained_optimizer_round_trips(tmp_path, data):
    model = dense_model()
    model.compile(keras.optimizers.Adam(0.003), "mse")
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert int(loaded.optimizer.iterations.data) == 0


def test_models_namespace_wrappers(tmp_path):
    model = dense_model()
    keras.models.save_model(model, tmp_path / "m.keras")
    assert isinstance(keras.saving.load_model(str(tmp_path / "m.keras")), keras.Sequential)


@pytest.mark.parametrize("name, message", [
    ("m.h5", "legacy HDF5"),
    ("m.txt", "Invalid filepath extension for saving"),
    ("m.weights.h5", "legacy HDF5"),
])
def test_save_needs_the_keras_suffix(name, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        dense_model().save(tmp_path / name)


def test_load_needs_the_keras_suffix(tmp_path):
    with pytest.raises(ValueError, match="File format not supported"):
        keras.models.load_model(tmp_path / "m.h5")
    with pytest.raises(ValueError, match="File not found"):
        keras.models.load_model(tmp_path / "missing.keras")


def test_overwrite_false_refuses_without_a_terminal(tmp_path, monkeypatch):
    path = tmp_path / "m.keras"
    dense_model().save(path)
    before = path.read_bytes()
    monkeypatch.setattr("sys.stdin", None)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        dense_model().save(path, overwrite=False)
    assert path.read_bytes() == before


def test_overwrite_false_asks_on_a_terminal(tmp_path, monkeypatch):
    path = tmp_path / "m.keras"
    dense_model().save(path)
    before = path.read_bytes()

    class Terminal:
        def isatty(self):
            return True

    monkeypatch.setattr("sys.stdin", Terminal())
    monkeypatch.setattr("builtins.input", lambda prompt="": "n")
    dense_model().save(path, overwrite=False)
    assert path.read_bytes() == before


def test_interrupted_save_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "m.keras"
    conv_model().save(path)
    before = path.read_bytes()
    calls = []

    def failing_write(group, key, array):
        calls.append(key)
        if len(calls) == 3:
            raise KeyboardInterrupt("power cut")
        group.create_dataset(key, data=array)

    monkeypatch.setattr(weights_h5, "write_dataset", failing_write)
    with pytest.raises(KeyboardInterrupt):
        conv_model().save(path)
    assert len(calls) == 3
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.keras"]


def test_interrupted_first_save_leaves_nothing(tmp_path, monkeypatch):
    def broken_zip(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(archive.zipfile, "ZipFile", broken_zip)
    with pytest.raises(OSError, match="disk full"):
        dense_model().save(tmp_path / "m.keras")
    assert os.listdir(tmp_path) == []


def test_unbuilt_model_warns_like_keras(tmp_path):
    model = keras.Sequential([layers.Dense(2)])
    with pytest.warns(UserWarning, match="not yet been built"):
        model.save(tmp_path / "m.keras")
    restored = keras.models.load_model(tmp_path / "m.keras")
    assert not restored.built and restored.layers[0].units == 2


def test_saved_files_get_the_usual_permissions(tmp_path):
    import os
    import stat

    import numpy as np

    import neuropil as keras

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.save_weights(tmp_path / "m.weights.h5")
    mask = os.umask(0)
    os.umask(mask)
    mode = stat.S_IMODE(os.stat(tmp_path / "m.weights.h5").st_mode)
    assert mode == 0o666 & ~mask  # as open() would create it, not mkstemp's private 0600
    assert np.isfinite(model.get_weights()[0]).all()
