"""LeNet-5 as the course trains it (slow): accuracy floors on MNIST and Fashion-MNIST.

The course's recipe (examples/lenet5_mnist.py): ``keras.applications.LeNet5()``, Adam with
its default learning rate, sparse categorical cross-entropy, batch 128, all 60,000 training
images scaled to [0, 1], seed 0.

Floors: issue 4 asked for 98.8% (MNIST, 3 epochs) and 89% (Fashion-MNIST, 5 epochs), but
this recipe does not reach them in PyTorch either. Measured on the project's VM:

=================  ===================================  ==================================
                   neuropil (seeds 0, 1, 2)             PyTorch, same network, init, Adam
=================  ===================================  ==================================
MNIST, 3 epochs    98.56, 98.14, 98.55% (14.5 s of fit)  98.42, 98.64, 98.73%
Fashion, 5 epochs  88.18, 88.00% (35 s of fit)           88.52, 88.44%
=================  ===================================  ==================================

(batch 64 gave MNIST 98.63, 98.26, 98.76% in neuropil, 98.81, 98.96% in PyTorch.) So each
floor sits ~0.3 points under seed 0's result: it fails on a real regression, not on the
rounding differences between the NumPy and the compiled (numba) paths.
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
    model.fit(x_train, y_train, batch_size=128, epochs=epochs, verbose=0)
    _, accuracy = model.evaluate(x_test, y_test, batch_size=1000, verbose=0)
    return accuracy


def test_lenet5_mnist_3_epochs(shared_datasets):
    accuracy = train_lenet(keras.datasets.mnist.load_data, shared_datasets / "mnist", 3)
    assert accuracy >= 0.983, f"test accuracy {accuracy:.4f}"


@pytest.mark.skipif(not os.environ.get("NEUROPIL_LONG_TESTS"),
                    reason="1-3 minutes on 2 cores; set NEUROPIL_LONG_TESTS=1 to run it")
def test_lenet5_fashion_mnist_5_epochs(shared_datasets):
    accuracy = train_lenet(keras.datasets.fashion_mnist.load_data,
                           shared_datasets / "fashion-mnist", 5)
    assert accuracy >= 0.878, f"test accuracy {accuracy:.4f}"
