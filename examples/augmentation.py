"""Data augmentation against overfitting: the same small convnet trained on 1,000 MNIST
images with and without random rotations, zooms and shifts in front of it.

    python examples/augmentation.py --data ../shared/datasets/mnist
    python examples/augmentation.py --epochs 30 --train-samples 500

The augmentation layers are part of the model: ``fit`` calls the model with training=True,
so every epoch sees freshly transformed images, while ``evaluate`` and ``predict`` see the
images as they are. (No flips: a mirrored 2 is not a 2.) With so few images the plain model
learns its training set by heart; the augmented one can't, and the gap between training and
validation accuracy shrinks.

Without --data, the files are read from $NEUROPIL_DATA or downloaded once (with a SHA-256
check) into ~/.neuropil/datasets.
"""
import argparse

import numpy as np

import neuropil as keras
from neuropil import layers


def build_model(augment: bool) -> keras.Sequential:
    augmentation = [
        layers.RandomRotation(0.05),                 # up to ±18°
        layers.RandomZoom(0.1),                      # ±10%
        layers.RandomTranslation(0.1, 0.1),          # up to ±2.8 pixels each way
    ] if augment else []
    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        *augmentation,
        layers.Conv2D(16, 3, activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(32, 3, activation="relu"),
        layers.MaxPooling2D(),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ], name="augmented" if augment else "plain")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="directory with the MNIST IDX .gz files")
    parser.add_argument("--train-samples", type=int, default=1000)
    parser.add_argument("--val-samples", type=int, default=5000,
                        help="validation images, from MNIST's test set")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()

    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data(path=args.data)
    # (n, 28, 28) uint8 -> (n, 28, 28, 1) float32 in [0, 1].
    x_train = x_train[:args.train_samples, ..., np.newaxis].astype("float32") / 255
    y_train = y_train[:args.train_samples]
    x_val = x_test[:args.val_samples, ..., np.newaxis].astype("float32") / 255
    y_val = y_test[:args.val_samples]

    results = {}
    for augment in (False, True):
        keras.utils.set_random_seed(0)               # same initial weights and batches
        model = build_model(augment)
        print(f"training the {model.name} model on {len(x_train)} images ...")
        model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs,
                  verbose=0)
        # Both accuracies on unaltered images: evaluate() runs the model with training=False.
        _, train_accuracy = model.evaluate(x_train, y_train, verbose=0)
        _, val_accuracy = model.evaluate(x_val, y_val, verbose=0)
        results[model.name] = (train_accuracy, val_accuracy)

    print(f"\n{'model':<10} {'train acc':>9} {'val acc':>9} {'gap':>7}")
    for name, (train_accuracy, val_accuracy) in results.items():
        print(f"{name:<10} {train_accuracy:>9.4f} {val_accuracy:>9.4f} "
              f"{train_accuracy - val_accuracy:>7.4f}")


if __name__ == "__main__":
    main()
