"""Crash-safe training: a fit killed with SIGKILL and rerun ends with the same weights, bit
for bit, as one never interrupted (BackupAndRestore saves weights, optimizer and the random
state: shuffling and Dropout)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).with_name("train_with_backup.py")
ROOT = Path(__file__).resolve().parents[2]
EPOCHS = 8


def _launch(workdir: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, str(SCRIPT), str(workdir)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _started_epochs(workdir: Path) -> list:
    path = workdir / "epochs.txt"
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def _final_weights(workdir: Path) -> list:
    with np.load(workdir / "final.npz") as f:
        return [f[f"w{i}"] for i in range(len(f.files))]


def _finish(process: subprocess.Popen) -> None:
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr.decode()


@pytest.mark.slow
def test_killed_runs_resume_to_identical_weights(tmp_path):
    reference = tmp_path / "reference"
    reference.mkdir()
    _finish(_launch(reference))
    assert _started_epochs(reference) == list(range(EPOCHS))

    workdir = tmp_path / "killed"
    workdir.mkdir()
    rng = np.random.default_rng(2026)
    # One kill at a random moment after launch (maybe before the first backup), then kills
    # a random time into randomly chosen later epochs.
    plan = [(None, rng.uniform(0.2, 1.2))] + [
        (int(k), rng.uniform(0.0, 0.2)) for k in sorted(rng.choice(range(1, EPOCHS), 3,
                                                                    replace=False))]
    survived, resumed_from = 0, []
    for epoch, delay in plan:
        before = len(_started_epochs(workdir))
        process = _launch(workdir)
        deadline = time.monotonic() + 60
        while epoch is not None and process.poll() is None and \
                max(_started_epochs(workdir)[before:], default=-1) < epoch:
            assert time.monotonic() < deadline, "the training script stalled"
            time.sleep(0.005)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=60)
        if process.returncode == -signal.SIGKILL:
            survived += 1
        new = _started_epochs(workdir)[before:]
        if new:
            resumed_from.append(new[0])
        assert not (workdir / "final.npz").exists() or process.returncode == 0
    before = len(_started_epochs(workdir))
    _finish(_launch(workdir))
    resumed_from.append(_started_epochs(workdir)[before])

    print(f"\nSIGKILLs survived: {survived} of {len(plan)}; runs started at epochs "
          f"{resumed_from}")
    assert survived >= 3
    assert any(start > 0 for start in resumed_from), "no run resumed from a backup"
    for got, want in zip(_final_weights(workdir), _final_weights(reference), strict=True):
        assert got.dtype == want.dtype and np.array_equal(got, want)
    assert not (workdir / "backup").exists()  # deleted when fit ended normally


class _Interrupt(Exception):
    pass


def _noisy_layer():
    import neuropil as keras

    class Noisy(keras.layers.Layer):
        """A custom layer drawing from its own keras.random.SeedGenerator."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.seed_generator = keras.random.SeedGenerator(17)

        def call(self, x, training=None):
            if not training:
                return x
            return x + keras.random.normal((x.shape[-1],), stddev=0.5,
                                           seed=self.seed_generator)

    return Noisy()


def _fit(backup_dir, stop_at=None, save_freq="epoch"):
    import neuropil as keras
    keras.utils.set_random_seed(5)
    x = np.random.default_rng(0).normal(size=(64, 6)).astype("float32")
    y = (x.sum(axis=1) > 0).astype("int64")
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dropout(0.5), _noisy_layer(), keras.layers.Dense(2)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))

    def stop(epoch, logs):
        if epoch == stop_at:
            raise _Interrupt

    callbacks = [keras.callbacks.BackupAndRestore(backup_dir, save_freq=save_freq),
                 keras.callbacks.LambdaCallback(on_epoch_begin=stop)]
    try:
        model.fit(x, y, batch_size=8, epochs=5, verbose=0, callbacks=callbacks)
    except _Interrupt:
        return None
    return model.get_weights()


def test_resume_after_an_exception_matches_an_uninterrupted_fit(tmp_path):
    want = _fit(tmp_path / "a")
    assert _fit(tmp_path / "b", stop_at=3) is None
    with np.load(tmp_path / "b" / "training_state.npz", allow_pickle=False) as state:
        assert '"random"' in str(state["metadata"])  # JSON, nothing pickled
    got = _fit(tmp_path / "b")
    for g, w in zip(got, want, strict=True):
        assert np.array_equal(g, w)


def test_atomic_writes_sync_the_file_and_its_directory(tmp_path, monkeypatch):
    from neuropil.saving import atomic
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(os.path.isdir(
        f"/proc/self/fd/{fd}") if os.path.exists("/proc/self/fd") else None), real_fsync(fd)))
    atomic.write_bytes(tmp_path / "a.bin", b"data")
    assert (tmp_path / "a.bin").read_bytes() == b"data"
    assert len(synced) == 2 and synced[0] is not True and synced[1] is not False
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin"]  # no temporary left
