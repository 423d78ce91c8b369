"""BackupAndRestore: an interrupted fit resumes from the last backup, exactly."""
import json
import os

import numpy as np
import pytest

import neuropil as keras
from neuropil.callbacks import BackupAndRestore

EPOCHS = 6


class Interrupt(keras.callbacks.Callback):
    """Raises in the middle of ``epoch`` (after its first batch changed the weights)."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.current == self.epoch and batch == 0:
            raise RuntimeError("Interrupted!")

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch


def adam_model(make_model, seed=0):
    return make_model(keras.optimizers.Adam(0.01), seed=seed)


def fit(model, data, *callbacks, epochs=EPOCHS):
    x, y = data
    return model.fit(x, y, batch_size=16, epochs=epochs, shuffle=False, verbose=0,
                     callbacks=list(callbacks))


@pytest.fixture
def reference(make_model, data):
    """Weights and optimizer step count after an uninterrupted run."""
    model = adam_model(make_model)
    fit(model, data)
    return model.get_weights(), int(model.optimizer.iterations.data)


def interrupted(make_model, data, backup_dir, epoch=3, **kwargs):
    model = adam_model(make_model)
    with pytest.raises(RuntimeError, match="Interrupted!"):
        fit(model, data, BackupAndRestore(backup_dir, **kwargs), Interrupt(epoch))
    return model


def test_resume_continues_from_the_last_finished_epoch(make_model, data, tmp_path, reference):
    backup_dir = tmp_path / "backup"
    model = interrupted(make_model, data, backup_dir)
    history = fit(model, data, BackupAndRestore(backup_dir))
    assert history.epoch == [3, 4, 5] and len(history.history["loss"]) == 3
    for resumed, expected in zip(model.get_weights(), reference[0]):
        np.testing.assert_allclose(resumed, expected, rtol=1e-6, atol=1e-7)
    assert int(model.optimizer.iterations.data) == reference[1]
    assert not backup_dir.exists()  # deleted once fit ends normally


def test_a_fresh_model_and_optimizer_resume_too(make_model, data, tmp_path, reference):
    backup_dir = tmp_path / "backup"
    interrupted(make_model, data, backup_dir)
    fresh = adam_model(make_model, seed=1)  # other initial weights, Adam slots not created
    history = fit(fresh, data, BackupAndRestore(backup_dir))
    assert history.epoch == [3, 4, 5]
    for resumed, expected in zip(fresh.get_weights(), reference[0]):
        np.testing.assert_allclose(resumed, expected, rtol=1e-6, atol=1e-7)
    assert int(fresh.optimizer.iterations.data) == reference[1]


def test_the_state_file_is_plain_npz(make_model, data, tmp_path):
    backup_dir = tmp_path / "backup"
    model = interrupted(make_model, data, backup_dir)
    assert sorted(os.listdir(backup_dir)) == ["training_state.npz"]
    with np.load(backup_dir / "training_state.npz", allow_pickle=False) as state:
        metadata = json.loads(str(state["metadata"]))
        assert metadata["epoch"] == 3
        assert metadata["model_weights"] == 2
        # iterations, learning_rate, then Adam's momentum and velocity per weight
        assert metadata["optimizer_variables"] == 2 + 4
        assert int(state["optimizer/0"]) == 3 * 2  # steps in the 3 finished epochs
        assert state["model/0"].shape == model.get_weights()[0].shape


def test_delete_checkpoint_false_keeps_the_backup(make_model, data, tmp_path):
    backup_dir = tmp_path / "backup"
    fit(adam_model(make_model), data, BackupAndRestore(backup_dir, delete_checkpoint=False),
        epochs=2)
    assert (backup_dir / "training_state.npz").exists()
    history = fit(adam_model(make_model), data, BackupAndRestore(backup_dir), epochs=3)
    assert history.epoch == [2]


def test_only_its_own_files_are_deleted(make_model, data, tmp_path):
    (tmp_path / "notes.txt").write_text("keep me")
    fit(adam_model(make_model), data, BackupAndRestore(tmp_path), epochs=1)
    assert os.listdir(tmp_path) == ["notes.txt"]


def test_a_later_fit_without_backup_starts_at_initial_epoch(make_model, data, tmp_path):
    backup_dir = tmp_path / "backup"
    model = interrupted(make_model, data, backup_dir)
    fit(model, data, BackupAndRestore(backup_dir))
    assert fit(model, data, epochs=2).epoch == [0, 1]


def test_save_freq_in_batches_resumes_the_interrupted_epoch(make_model, data, tmp_path):
    backup_dir = tmp_path / "backup"
    model = interrupted(make_model, data, backup_dir, epoch=2, save_freq=1)
    with np.load(backup_dir / "training_state.npz", allow_pickle=False) as state:
        assert json.loads(str(state["metadata"]))["epoch"] == 2  # saved after epoch 2 batch 0
        assert int(state["optimizer/0"]) == 5
    history = fit(model, data, BackupAndRestore(backup_dir, save_freq=1))
    assert history.epoch == [2, 3, 4, 5]


def test_double_checkpoint_falls_back_to_the_previous_backup(make_model, data, tmp_path):
    backup_dir = tmp_path / "backup"
    model = interrupted(make_model, data, backup_dir, double_checkpoint=True)
    assert (backup_dir / "training_state.npz.bkp").exists()
    (backup_dir / "training_state.npz").write_bytes(b"corrupted")
    history = fit(model, data, BackupAndRestore(backup_dir, double_checkpoint=True))
    assert history.epoch == [2, 3, 4, 5]  # the previous backup was made after epoch 1
    model = interrupted(make_model, data, backup_dir)
    (backup_dir / "training_state.npz").write_bytes(b"corrupted")
    with pytest.raises(Exception):
        fit(model, data, BackupAndRestore(backup_dir))


def test_an_unbuilt_model_cannot_be_restored(make_model, data, tmp_path):
    backup_dir = tmp_path / "backup"
    interrupted(make_model, data, backup_dir)
    model = keras.Sequential([keras.layers.Dense(1)])
    model.compile("adam", "mse")
    with pytest.raises(ValueError, match="your model must be built before you call `fit\\(\\)`"):
        fit(model, data, BackupAndRestore(backup_dir))


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="Empty `backup_dir`"):
        BackupAndRestore("")
    with pytest.raises(ValueError, match="Received: save_freq=batch"):
        BackupAndRestore("dir", save_freq="batch")
