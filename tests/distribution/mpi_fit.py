"""Trains a small MLP, data-parallel when run under mpiexec; rank 0 saves the weights.

    python mpi_fit.py OUT.npz [--distributed]
"""
import sys

import numpy as np

import neuropil as keras
from neuropil import distribution


def main(out_path: str, distributed: bool) -> None:
    if distributed:
        distribution.set_distribution(distribution.DataParallel())
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((256, 10)).astype("float32")
    y = (x[:, :3].sum(axis=1) > 0).astype("int64")
    model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile(keras.optimizers.SGD(0.1, momentum=0.9),
                  "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=32, epochs=3, shuffle=False, verbose=0)
    dist = distribution.distribution()
    if dist is None or dist.is_chief:
        np.savez(out_path, *model.get_weights(), loss=np.array(history.history["loss"]),
                 accuracy=np.array(history.history["accuracy"]))


if __name__ == "__main__":
    main(sys.argv[1], "--distributed" in sys.argv)
