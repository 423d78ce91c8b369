"""Trains the small pretrained base shipped with neuropil: LeNet-5's convolutional part
(``keras.applications.LeNet5(include_top=False)``, 2,572 weights) on MNIST digits 0-4.

    python tools/train_pretrained_base.py --data ../shared/datasets/mnist

A temporary head (Dense 120 -> Dense 84 -> Dense 5, as LeNet-5's own top) is trained
with the base on all 30,596 training images of digits 0-4 (Adam 1e-3, batch 64, 3 epochs,
seed 0), then only the base's weights are saved in Keras 3's ``.weights.h5`` layout to
neuropil/applications/weights/lenet5_mnist_0to4.weights.h5. The head is thrown away: the
lecture's transfer-learning recipe (examples/transfer_learning.py) puts a new one on
digits 5-9.

Recorded run (seed 0): test accuracy on the 5,139 test images of digits 0-4: 0.9963 (training
accuracy 0.9938 in the last epoch); file size 28,248 bytes; SHA-256
5ab877d65b7e22ac2ccb8809f92516ba47ab7897da69f15322c329da87d59ccf
(neuropil/applications/pretrained.py checks this checksum before loading the file; a new
run must update it there and here).
"""
from __future__ import annotations

import argparse
import hashlib
import os
from pathlib import Path

import numpy as np

import neuropil as keras
from neuropil import layers

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "neuropil" / "applications" / "weights" / "lenet5_mnist_0to4.weights.h5"


def digits(x, y, kept):
    """The images of the ``kept`` digits as (n, 28, 28, 1) float32 in [0, 1], labels as is."""
    mask = np.isin(y, kept)
    return x[mask][..., np.newaxis].astype("float32") / 255, y[mask]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="directory with the MNIST IDX .gz files")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default=str(OUTPUT))
    args = parser.parse_args()

    keras.utils.set_random_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data(path=args.data)
    x_train, y_train = digits(x_train, y_train, [0, 1, 2, 3, 4])
    x_test, y_test = digits(x_test, y_test, [0, 1, 2, 3, 4])

    base = keras.applications.LeNet5(include_top=False)
    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        base,
        layers.Dense(120, activation="relu"),
        layers.Dense(84, activation="relu"),
        layers.Dense(5, activation="softmax"),
    ])
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=64, epochs=args.epochs, verbose=2)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)

    base.save_weights(args.output)   # the base only: its own layers, no optimizer
    digest = hashlib.sha256(Path(args.output).read_bytes()).hexdigest()
    print(f"train images: {len(x_train)}, test images: {len(x_test)}")
    print(f"test accuracy on digits 0-4: {accuracy:.4f}")
    print(f"{args.output}: {os.path.getsize(args.output)} bytes, SHA-256 {digest}")


if __name__ == "__main__":
    main()
