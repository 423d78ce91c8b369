"""Trains ResNet-20 on CIFAR-10 and reports the test accuracy.

    python examples/resnet20_cifar10.py --data DIR --epochs 3 --train-samples 5000

DIR holds cifar-10-binary.tar.gz (directly or in a cifar10/ subdirectory); without --data
the archive is read from $NEUROPIL_DATA or downloaded once (170 MB, SHA-256 checked) into
~/.neuropil/datasets/cifar10. The network is keras.applications.ResNet20 (0.27 M weights,
residual blocks of convolutions, batch norm and a shortcut added back); when neuropil has
the augmentation layers RandomFlip and RandomTranslation, each training image is randomly
mirrored and shifted by up to 4 pixels (the paper's pad-and-crop), in a small model that
runs only in training and feeds the ResNet nested as a layer. SGD with momentum 0.9, a
cosine-decaying learning rate from 0.1 and weight decay 5e-4.

Time: on 2 CPU cores a training step of 128 images takes a few seconds in NumPy (see
bench/bench_resnet20.py), so an epoch of the full 50,000 images takes about half an hour;
the defaults train on a subset. The paper reaches 91.25% test accuracy after 64,000 steps.
"""
import argparse
import time

import numpy as np

import neuropil as keras

# CIFAR-10's per-channel mean and standard deviation over the training images (RGB, 0-255).
MEAN = np.array([125.3, 123.0, 113.9], "float32")
STD = np.array([63.0, 62.1, 66.7], "float32")


def augmentation():
    """Random flips and shifts, if this neuropil has the layers (they act only in training)."""
    layers = keras.layers
    if not (hasattr(layers, "RandomFlip") and hasattr(layers, "RandomTranslation")):
        return None
    return [layers.RandomFlip("horizontal", name="flip"),
            layers.RandomTranslation(0.125, 0.125, fill_mode="constant", name="shift")]


def build_model(augment: bool):
    network = keras.applications.ResNet20(input_shape=(32, 32, 3), classes=10)
    steps = augmentation() if augment else None
    if not steps:
        return network, False
    inputs = keras.Input((32, 32, 3), name="image")
    x = inputs
    for layer in steps:
        x = layer(x)
    return keras.Model(inputs, network(x), name="augmented_resnet20"), True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="directory with cifar-10-binary.tar.gz")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--train-samples", type=int, default=5000,
                        help="train on the first N images (50000 = all)")
    parser.add_argument("--test-samples", type=int, default=10000)
    parser.add_argument("--no-augmentation", action="store_true")
    args = parser.parse_args()

    keras.utils.set_random_seed(0)
    (x_train, y_train), (x_test, y_test) = keras.datasets.cifar10.load_data(path=args.data)
    x_train = (x_train[:args.train_samples].astype("float32") - MEAN) / STD
    y_train = y_train[:args.train_samples]
    x_test = (x_test[:args.test_samples].astype("float32") - MEAN) / STD
    y_test = y_test[:args.test_samples]

    model, augmented = build_model(not args.no_augmentation)
    print(f"ResNet-20, {model.count_params():,} weights; augmentation: "
          f"{'random flips and shifts' if augmented else 'none'}")
    steps = args.epochs * int(np.ceil(len(x_train) / args.batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(0.1, decay_steps=max(steps, 1))
    model.compile(optimizer=keras.optimizers.SGD(schedule, momentum=0.9, weight_decay=5e-4),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs, verbose=2)
    print(f"training: {time.perf_counter() - start:.0f} s")
    loss, accuracy = model.evaluate(x_test, y_test, batch_size=500, verbose=0)
    print(f"test accuracy: {accuracy:.4f} (loss {loss:.4f}) on {len(x_test)} images")


if __name__ == "__main__":
    main()
