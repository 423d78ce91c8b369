"""Trains a small model, data-parallel when run under mpiexec; every rank saves its weights.

    python mpi_fit.py OUT.npz [--distributed] [--model mlp|mlp-lazy|bn|bn-local|dropout]
                              [--feed arrays|shuffled|generator|pydataset]

Rank 0 writes OUT.npz (with the loss and accuracy history), rank r > 0 OUT.npz.rank<r>.npz;
each also saves ``seen``, the number of samples its training steps were given.
Models: ``mlp`` (Dense, Dense; ``mlp-lazy`` without an Input, built by fit), ``bn`` (Dense,
BatchNormalization(synchronized=True), Dense), ``bn-local`` (the same, synchronized=False),
``dropout`` (Dense, Dropout(0.5), GaussianNoise(0.1), Dense).
Feeds: the arrays with batch_size=32 (``shuffled``: shuffle=True, so every rank must draw
the single process's order), or the same 256 samples from a generator
(``steps_per_epoch``) or a PyDataset, in batches of 32 × 7, then 31 and 1: the 1-sample
batch leaves one of two ranks an empty slice.
"""
import sys

import numpy as np

import neuropil as keras
from neuropil import distribution

BATCH_SIZES = [32] * 7 + [31, 1]
EPOCHS = 3


def data():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((256, 10)).astype("float32") * 2.0 + 1.5
    y = ((x[:, :3] - 1.5).sum(axis=1) > 0).astype("int64")
    return x, y


def batches(x, y):
    start = 0
    for size in BATCH_SIZES:
        yield x[start:start + size], y[start:start + size]
        start += size


class Batches(keras.utils.PyDataset):
    def __init__(self, x, y):
        super().__init__()
        self.items = list(batches(x, y))

    def __len__(self):
        return len(self.items)

    def __getitem__(self, index):
        return self.items[index]


class Counting(keras.Sequential):
    """Records how many samples each of its training steps sees (this rank's slices)."""

    seen = 0

    def train_step(self, x, y=None, sample_weight=None):
        self.seen += len(x)
        return super().train_step(x, y, sample_weight)


def build(kind: str):
    hidden = [keras.layers.Dense(16)]
    if kind == "dropout":  # each sample's mask must be the one it gets in one process
        hidden += [keras.layers.Dropout(0.5), keras.layers.GaussianNoise(0.1)]
    if kind.startswith("bn"):
        hidden += [keras.layers.BatchNormalization(momentum=0.9,
                                                   synchronized=kind == "bn")]
    inputs = [] if kind == "mlp-lazy" else [keras.Input((10,))]  # lazy: built by fit
    return Counting([*inputs, *hidden, keras.layers.Activation("relu"),
                     keras.layers.Dense(2, activation="softmax")])


def main(out_path: str, distributed: bool, kind: str, feed: str) -> None:
    if distributed:
        distribution.set_distribution(distribution.DataParallel())
    keras.utils.set_random_seed(0)
    x, y = data()
    model = build(kind)
    model.compile(keras.optimizers.SGD(0.1, momentum=0.9),
                  "sparse_categorical_crossentropy", metrics=["accuracy"])
    if feed in ("arrays", "shuffled"):
        history = model.fit(x, y, batch_size=32, epochs=EPOCHS, shuffle=feed == "shuffled",
                            verbose=0)
    elif feed == "generator":
        def endless():
            while True:
                yield from batches(x, y)
        history = model.fit(endless(), epochs=EPOCHS, steps_per_epoch=len(BATCH_SIZES),
                            verbose=0)
    else:
        history = model.fit(Batches(x, y), epochs=EPOCHS, shuffle=False, verbose=0)
    dist = distribution.distribution()
    rank = 0 if dist is None else dist.rank
    extra = dict(loss=np.array(history.history["loss"]),
                 accuracy=np.array(history.history["accuracy"])) if rank == 0 else {}
    np.savez(out_path if rank == 0 else f"{out_path}.rank{rank}.npz", *model.get_weights(),
             seen=np.array(model.seen), **extra)


def option(name: str, default: str) -> str:
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


if __name__ == "__main__":
    main(sys.argv[1], "--distributed" in sys.argv, option("--model", "mlp"),
         option("--feed", "arrays"))
