"""BackupAndRestore: resume an interrupted fit from its last backup."""
from __future__ import annotations

import json
import os
import warnings
import zipfile

import numpy as np

from neuropil.backend import random
from neuropil.callbacks.callback import Callback
from neuropil.random import SeedGenerator

__all__ = ["BackupAndRestore"]

_STATE_FILE = "training_state.npz"
_LOAD_ERRORS = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile)


class BackupAndRestore(Callback):
    """Backs up the training state during fit; the next fit with the same ``backup_dir``
    after an interruption (an exception, a killed process) starts where the backup was made.

    The state is the model's weights, the optimizer's variables (step count, learning
    rate, momentum and the like), the number of finished epochs and the random state
    (neuropil's global generator, which shuffles, and each layer's own stream, e.g.
    Dropout's), so that with ``save_freq="epoch"`` a resumed run ends with the same weights,
    bit for bit, as one never interrupted. It is one NumPy ``.npz`` file in ``backup_dir``
    (nothing pickled; the generator states are JSON), written to a temporary file, synced
    to disk and renamed into place, so a crash or kill while saving leaves the previous
    backup whole. When fit
    ends normally the backup is deleted (see ``delete_checkpoint``). The model must be the
    same as the one backed up; when fit resumes, ``initial_epoch`` is replaced by the
    backed-up epoch and the history holds only the epochs run after resuming.

    Args:
        backup_dir: the folder for the backup; use it for nothing else.
        save_freq: ``"epoch"`` (after each epoch) or an integer: every that many batches (a
            resumed fit then repeats the interrupted epoch from the backed-up weights).
        double_checkpoint: also keep the previous backup, used if the latest cannot be read.
        delete_checkpoint: delete the backup when fit ends normally (default True).

    Example:
    >>> backup = keras.callbacks.BackupAndRestore(backup_dir="/tmp/backup")
    >>> model.fit(x, y, epochs=10, callbacks=[backup])   # interrupted in epoch 4
    >>> model.fit(x, y, epochs=10, callbacks=[backup])   # runs epochs 4 to 9
    """

    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint=False,
                 delete_checkpoint=True):
        super().__init__()
        if not backup_dir:
            raise ValueError("Empty `backup_dir` argument passed")
        if save_freq != "epoch" and not isinstance(save_freq, int):
            raise ValueError("Invalid value for argument `save_freq`. Received: "
                             f"save_freq={save_freq}. Expected either 'epoch' or an integer "
                             "value.")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint = double_checkpoint
        self.delete_checkpoint = delete_checkpoint
        self._state_path = os.path.join(self.backup_dir, _STATE_FILE)
        self._prev_state_path = self._state_path + ".bkp"
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = 0
        self._current_epoch = 0

    # ---- restoring -------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        try:
            self._load()
        except _LOAD_ERRORS:
            if not (self.double_checkpoint and os.path.exists(self._prev_state_path)):
                raise
            _copy_atomically(self._prev_state_path, self._state_path)
            self._load()

    def _load(self) -> None:
        if not os.path.exists(self._state_path):
            return
        # NOTE: Keras requires a built model even with nothing to restore, but its fit
        # builds the model before the callbacks run; neuropil's builds it on the first
        # batch, so the check is only made when there is a backup to load.
        if not self.model.built:
            raise ValueError("To use the BackupAndRestore callback, your model must be built "
                             f"before you call `fit()`. Model {self.model.name} is unbuilt. "
                             "You can build it beforehand by calling it on a batch of data, "
                             "or start it with keras.Input(shape).")
        with np.load(self._state_path, allow_pickle=False) as state:
            metadata = json.loads(str(state["metadata"]))
            weights = [state[f"model/{i}"] for i in range(metadata["model_weights"])]
            slots = [state[f"optimizer/{i}"] for i in range(metadata["optimizer_variables"])]
        self._restore_optimizer(slots)  # first: creating its slots may take a step
        self.model.set_weights(weights)
        self._restore_random(metadata.get("random"))
        self._current_epoch = metadata["epoch"]
        self.model._initial_epoch = metadata["epoch"]

    def _restore_optimizer(self, values: list) -> None:
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None or not values:
            return
        if not _same_shapes(optimizer.variables, values):
            # neuropil's optimizers create their slots (momentum, ...) at their first step, so
            # a fresh optimizer is stepped once with zero gradients to create them; every
            # value, the weights included, is then overwritten from the backup.
            weights = list(self.model.trainable_weights)
            with np.errstate(all="ignore"):
                optimizer.apply([np.zeros_like(w.data) for w in weights], weights)
        if not _same_shapes(optimizer.variables, values):
            warnings.warn(f"BackupAndRestore: the optimizer's variables "
                          f"{[tuple(v.shape) for v in optimizer.variables]} do not match the "
                          f"backed-up ones {[v.shape for v in values]}; only the weights and "
                          "the epoch are restored.", stacklevel=3)
            return
        for variable, value in zip(optimizer.variables, values):
            variable.assign(value)

    def _restore_random(self, states) -> None:
        if states is None:  # a backup written before random states were saved
            return
        streams = _random_streams(self.model)
        if len(streams) != len(states) or any(
                isinstance(stream, SeedGenerator) != ("seed_generator" in state)
                for stream, state in zip(streams, states)):
            warnings.warn(f"BackupAndRestore: the model's {len(streams) - 1} layer random "
                          f"streams do not match the {len(states) - 1} backed up; the "
                          "random state is not restored.", stacklevel=3)
            return
        for stream, state in zip(streams, states):
            if isinstance(stream, SeedGenerator):
                stream.state.assign(np.array(state["seed_generator"], np.int64))
            else:
                stream.bit_generator.state = state

    # ---- backing up -------------------------------------------------------------------
    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        self._current_epoch = epoch + 1
        self._last_batch_seen = 0
        if self.save_freq == "epoch":
            self._save()

    def on_train_batch_end(self, batch, logs=None):
        if self._should_save_on_batch(batch):
            self._save()

    def _should_save_on_batch(self, batch) -> bool:
        if self.save_freq == "epoch":
            return False
        if batch <= self._last_batch_seen:  # a new epoch: batch indices restart at 0
            added = batch + 1
        else:
            added = batch - self._last_batch_seen
        self._batches_seen_since_last_saving += added
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _save(self) -> None:
        os.makedirs(self.backup_dir, exist_ok=True)
        if self.double_checkpoint and os.path.exists(self._state_path):
            _copy_atomically(self._state_path, self._prev_state_path)
        weights = self.model.get_weights()
        optimizer = getattr(self.model, "optimizer", None)
        slots = [np.array(v.data) for v in optimizer.variables] if optimizer is not None else []
        metadata = {"epoch": self._current_epoch, "batch": self._last_batch_seen,
                    "model_weights": len(weights), "optimizer_variables": len(slots),
                    "random": [_state_of(s) for s in _random_streams(self.model)]}
        arrays = {"metadata": np.array(json.dumps(metadata))}
        arrays.update((f"model/{i}", w) for i, w in enumerate(weights))
        arrays.update((f"optimizer/{i}", v) for i, v in enumerate(slots))
        # NOTE: saving is level 8, imported here only (tools/levels.py); savez is given a
        # file object, so it adds no ".npz".
        from neuropil.saving import atomic
        atomic.write_with(self._state_path, lambda file: np.savez(file, **arrays))

    def on_train_end(self, logs=None):
        if not self.delete_checkpoint:
            return
        # NOTE: Keras deletes the whole backup_dir; only this callback's files are removed
        # here, and the folder only if nothing else is left in it.
        # A temporary file is left over only when a save was killed midway.
        leftovers = [os.path.join(self.backup_dir, name) for name in os.listdir(self.backup_dir)
                     if name.startswith(f".{_STATE_FILE}") and name.endswith(".tmp")] \
            if os.path.isdir(self.backup_dir) else []
        for path in [self._state_path, self._prev_state_path] + leftovers:
            if os.path.exists(path):
                os.remove(path)
        if os.path.isdir(self.backup_dir) and not os.listdir(self.backup_dir):
            os.rmdir(self.backup_dir)


def _random_streams(model) -> list:
    """neuropil's global generator (shuffling), then each layer's own streams in a fixed
    walk order over the model's layers: NumPy generators (Dropout, noise, augmentation) and
    ``keras.random.SeedGenerator``s (custom layers)."""
    streams, layers, stack = [random.global_generator()], [], [model]
    while stack:
        layer = stack.pop()
        if any(layer is seen for seen in layers):
            continue
        layers.append(layer)
        streams += [v for v in vars(layer).values()
                    if isinstance(v, (np.random.Generator, SeedGenerator))]
        stack.extend(reversed(layer._sublayers()))
    return streams


def _state_of(stream) -> dict:
    """A JSON-able state: the bit generator's dict of ints, or a SeedGenerator's
    [seed, counter]."""
    if isinstance(stream, SeedGenerator):
        return {"seed_generator": [int(v) for v in stream.state.data]}
    return stream.bit_generator.state


def _copy_atomically(source, target) -> None:
    from neuropil.saving import atomic
    with open(source, "rb") as file:
        atomic.write_bytes(target, file.read())


def _same_shapes(variables, values) -> bool:
    return len(variables) == len(values) and all(
        tuple(v.shape) == tuple(np.shape(a)) for v, a in zip(variables, values))
