"""LeNet-5 as the course trains it (slow): accuracy floors on MNIST and Fashion-MNIST.

The recipe (examples/lenet5_mnist.py): ``keras.applications.LeNet5()``, Adam with its
default learning rate, sparse categorical cross-entropy, Keras's default batch size (32),
all 60,000 training images scaled to [0, 1], seed 0.

Issue 4 asked for 98.8% (MNIST, 3 epochs) and 89% (Fashion-MNIST, 5 epochs). Measured on
the project's VM (the batch size decides it; PyTorch with the same network, init and Adam
gives the same picture):

=================  ==============================  ===============================
                   batch 32 (Keras's default)      batch 128
=================  ==============================  ===============================
MNIST, 3 epochs    98.85% (seed 0), 98.59% (1)     98.48-98.56, 98.14% (torch 98.42-98.73)
Fashion, 5 epochs  89.12% (seed 0)                 88.00-88.18% (torch 88.44-88.52)
=================  ==============================  ===============================

Seed 0 reaches both of the issue's figures at Keras's default batch size; the floors sit
~0.3 points under it, so that the test fails on a real regression, not on the rounding
differences between the NumPy and compiled (numba) paths or the number of threads.
"""
import os

import numpy as np
import pytest

import neuropil as keras

pytestmark = pytest.mark.slow


def train_lenet(load, path, epochs: int) -> float:
    """Test accuracy of LeNet-5 after ``epochs`` epochs of the course's recipe."""
    keras.utils.set_random_seed(0)
    (x_train, y_train), (x_test, y_test) = load(path=path)
    x_train = x_train[..., np.newaxis].astype("float32") / 255
    x_test = x_test[..., np.newaxis].astype("float32") / 255
    model = keras.applications.LeNet5()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=epochs, verbose=0)  # Keras's default batch, 32
    _, accuracy = model.evaluate(x_test, y_test, batch_size=1000, verbose=0)
    return accuracy


def test_lenet5_mnist_3_epochs(shared_datasets):
    accuracy = train_lenet(keras.datasets.mnist.load_data, shared_datasets / "mnist", 3)
    assert accuracy >= 0.985, f"test accuracy {accuracy:.4f}"


@pytest.mark.skipif(not os.environ.get("NEUROPIL_LONG_TESTS"),
                    reason="~40 s on 2 cores; set NEUROPIL_LONG_TESTS=1 to run it")
def test_lenet5_fashion_mnist_5_epochs(shared_datasets):
    accuracy = train_lenet(keras.datasets.fashion_mnist.load_data,
                           shared_datasets / "fashion-mnist", 5)
    assert accuracy >= 0.888, f"test accuracy {accuracy:.4f}"
