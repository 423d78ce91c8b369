"""ModelCheckpoint: which epochs save, to which paths (model.save / save_weights recorded)."""
import os

import pytest

from neuropil.callbacks import ModelCheckpoint


@pytest.fixture
def saving_model(make_model, monkeypatch):
    """A model whose save / save_weights only record their calls (saving is issue 7)."""
    model = make_model()
    model.saved = []
    monkeypatch.setattr(model, "save", lambda path, **kw: model.saved.append(("save", path, kw)),
                        raising=False)
    monkeypatch.setattr(model, "save_weights",
                        lambda path, **kw: model.saved.append(("weights", path, kw)),
                        raising=False)
    return model


def fit(model, data, *callbacks, epochs=4):
    x, y = data
    return model.fit(x, y, batch_size=16, epochs=epochs, verbose=0, callbacks=list(callbacks))


def test_saves_every_epoch_with_epoch_and_logs_in_the_path(saving_model, data, scripted,
                                                           tmp_path):
    pattern = str(tmp_path / "ckpt-{epoch:02d}-{val_loss:.2f}.keras")
    fit(saving_model, data, scripted([1.0, 0.8, 0.9, 0.7]), ModelCheckpoint(pattern))
    assert saving_model.saved == [
        ("save", str(tmp_path / name), {"overwrite": True})
        for name in ("ckpt-01-1.00.keras", "ckpt-02-0.80.keras", "ckpt-03-0.90.keras",
                     "ckpt-04-0.70.keras")]


def test_save_best_only(saving_model, data, scripted, tmp_path):
    checkpoint = ModelCheckpoint(str(tmp_path / "{epoch}.keras"), save_best_only=True)
    fit(saving_model, data, scripted([1.0, 0.8, 0.9, 0.7]), checkpoint)
    assert [os.path.basename(p) for _, p, _ in saving_model.saved] == ["1.keras", "2.keras",
                                                                       "4.keras"]
    assert checkpoint.best == 0.7


def test_initial_value_threshold_and_mode_max(saving_model, data, scripted, tmp_path):
    fit(saving_model, data, scripted([1.0, 0.8, 0.9, 0.7]),
        ModelCheckpoint(str(tmp_path / "{epoch}.keras"), save_best_only=True,
                        initial_value_threshold=0.85))
    assert [os.path.basename(p) for _, p, _ in saving_model.saved] == ["2.keras", "4.keras"]
    saving_model.saved.clear()
    fit(saving_model, data, scripted([0.5, 0.7, 0.6, 0.8], key="val_accuracy"),
        ModelCheckpoint(str(tmp_path / "{epoch}.keras"), monitor="val_accuracy", mode="max",
                        save_best_only=True))
    assert [os.path.basename(p) for _, p, _ in saving_model.saved] == ["1.keras", "2.keras",
                                                                       "4.keras"]


def test_best_value_is_kept_across_fits_as_in_keras(saving_model, data, scripted, tmp_path):
    checkpoint = ModelCheckpoint(str(tmp_path / "m.keras"), save_best_only=True)
    fit(saving_model, data, scripted([1.0, 0.5]), checkpoint, epochs=2)
    fit(saving_model, data, scripted([0.7, 0.4]), checkpoint, epochs=2)
    assert len(saving_model.saved) == 3  # 1.0, 0.5, then only 0.4


def test_save_weights_only_calls_save_weights(saving_model, data, tmp_path):
    path = str(tmp_path / "w-{epoch}.weights.h5")
    fit(saving_model, data, ModelCheckpoint(path, save_weights_only=True), epochs=2)
    assert saving_model.saved == [("weights", str(tmp_path / "w-1.weights.h5"),
                                   {"overwrite": True}),
                                  ("weights", str(tmp_path / "w-2.weights.h5"),
                                   {"overwrite": True})]


def test_save_freq_in_batches(saving_model, data, tmp_path):
    # 2 batches per epoch; every 3 batches: after epoch 2's batch 1 and epoch 3's batch 2
    fit(saving_model, data,
        ModelCheckpoint(str(tmp_path / "{epoch}-{batch}.keras"), save_freq=3), epochs=3)
    assert [os.path.basename(p) for _, p, _ in saving_model.saved] == ["2-1.keras",
                                                                       "3-2.keras"]


def test_missing_folders_are_created(saving_model, data, tmp_path):
    fit(saving_model, data, ModelCheckpoint(str(tmp_path / "a" / "b" / "m.keras")), epochs=1)
    assert (tmp_path / "a" / "b").is_dir()


def test_filepath_suffix_and_save_freq_are_checked_at_construction():
    with pytest.raises(ValueError, match="must end in `.weights.h5`.*Received: filepath=m.keras"):
        ModelCheckpoint("m.keras", save_weights_only=True)
    with pytest.raises(ValueError, match="must end in `.keras`.*Received: filepath=m.weights.h5"):
        ModelCheckpoint("m.weights.h5")
    with pytest.raises(ValueError, match="Unrecognized save_freq: batch"):
        ModelCheckpoint("m.keras", save_freq="batch")


def test_unknown_placeholder_is_a_key_error(saving_model, data):
    with pytest.raises(KeyError, match="Failed to format this callback filepath"):
        fit(saving_model, data, ModelCheckpoint("{nope}.keras"), epochs=1)


def test_missing_monitor_with_save_best_only_warns_and_saves(saving_model, data, tmp_path):
    with pytest.warns(UserWarning, match="Can save best model only with val_loss available"):
        fit(saving_model, data, ModelCheckpoint(str(tmp_path / "m.keras"),
                                                save_best_only=True), epochs=2)
    assert len(saving_model.saved) == 2


def test_verbose_messages(saving_model, data, scripted, tmp_path, capsys):
    path = str(tmp_path / "m.keras")
    fit(saving_model, data, scripted([1.0, 2.0]),
        ModelCheckpoint(path, save_best_only=True, verbose=1), epochs=2)
    out = capsys.readouterr().out
    assert f"Epoch 1: val_loss improved from None to 1.00000, saving model to {path}" in out
    assert f"Epoch 1: finished saving model to {path}" in out
    assert "Epoch 2: val_loss did not improve from 1.00000" in out


def test_real_checkpoint_files_load_back(tmp_path):
    """With saving implemented: epoch-numbered .keras files and best-only weight files."""
    import numpy as np

    import neuropil as keras

    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 4)).astype("float32")
    y = (x[:, :1] > 0).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    every_epoch = keras.callbacks.ModelCheckpoint(str(tmp_path / "model_{epoch:02d}.keras"))
    best = keras.callbacks.ModelCheckpoint(str(tmp_path / "best.weights.h5"),
                                           save_best_only=True, save_weights_only=True)
    model.fit(x, y, epochs=3, validation_split=0.25, callbacks=[every_epoch, best], verbose=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "best.weights.h5", "model_01.keras", "model_02.keras", "model_03.keras"]
    restored = keras.models.load_model(tmp_path / "model_03.keras")
    np.testing.assert_allclose(restored.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)
    clone = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    clone.load_weights(tmp_path / "best.weights.h5")
    assert clone.get_weights()[0].shape == (4, 1)
