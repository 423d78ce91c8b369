"""A small training run that tests/reliability/test_sigkill_resume.py kills and reruns.

Usage: python train_with_backup.py WORKDIR
Trains an MLP with Dropout, shuffle=True and validation_split for EPOCHS epochs with
BackupAndRestore and ModelCheckpoint in WORKDIR; appends each started epoch to
WORKDIR/epochs.txt (so the test knows where the run is), and writes the final weights to
WORKDIR/final.npz (atomically) when fit returns.
"""
import os
import sys
import time

import numpy as np

import neuropil as keras
from neuropil.saving import atomic

EPOCHS = 8


def main(workdir: str) -> None:
    keras.utils.set_random_seed(1234)
    data = np.random.default_rng(0)  # the data is fixed; the seed above drives training
    x = data.normal(size=(480, 12)).astype("float32")
    y = (x[:, :3].sum(axis=1) > 0).astype("int64") + 2 * (x[:, 3] > 0.5)
    model = keras.Sequential([keras.Input((12,)), keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dropout(0.3), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dropout(0.2), keras.layers.Dense(4)])
    model.compile(keras.optimizers.Adam(1e-2),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))

    def started(epoch, logs):
        with open(os.path.join(workdir, "epochs.txt"), "a") as file:
            file.write(f"{epoch}\n")

    callbacks = [
        keras.callbacks.BackupAndRestore(os.path.join(workdir, "backup")),
        keras.callbacks.ModelCheckpoint(os.path.join(workdir, "last.keras")),
        keras.callbacks.LambdaCallback(
            on_epoch_begin=started,
            # Stretches each epoch (~25 batches) so that kills land mid-epoch too.
            on_train_batch_end=lambda batch, logs: time.sleep(0.004)),
    ]
    model.fit(x, y, batch_size=16, epochs=EPOCHS, shuffle=True, validation_split=0.2,
              verbose=0, callbacks=callbacks)
    weights = {f"w{i}": w for i, w in enumerate(model.get_weights())}
    atomic.write_with(os.path.join(workdir, "final.npz"), lambda f: np.savez(f, **weights))


if __name__ == "__main__":
    main(sys.argv[1])
