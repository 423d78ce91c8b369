"""Short real-data training runs (slow): accuracy floors from the issue."""
import numpy as np
import pytest

import neuropil as keras
from neuropil import layers

pytestmark = pytest.mark.slow


def test_mnist_784_256_128_10_sgd_momentum_reaches_97_5_percent(shared_datasets):
    keras.utils.set_random_seed(0)
    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data(
        path=shared_datasets / "mnist")
    x_train = x_train.reshape(-1, 784).astype("float32") / 255
    x_test = x_test.reshape(-1, 784).astype("float32") / 255
    model = keras.Sequential([
        keras.Input((784,)),
        layers.Dense(256, activation="relu"),
        layers.Dense(128, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(keras.optimizers.SGD(0.01, momentum=0.9), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=32, epochs=5, verbose=0)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert accuracy >= 0.975


def test_fashion_mnist_mlp_learns(shared_datasets):
    keras.utils.set_random_seed(0)
    (x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data(
        path=shared_datasets / "fashion-mnist")
    x_train = x_train[:20000].reshape(-1, 784).astype("float32") / 255
    model = keras.Sequential([keras.Input((784,)), layers.Dense(128, activation="relu"),
                              layers.Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train[:20000], batch_size=64, epochs=2, verbose=0)
    _, accuracy = model.evaluate(x_test.reshape(-1, 784).astype("float32") / 255, y_test,
                                 verbose=0)
    assert accuracy >= 0.80
    assert np.isfinite(accuracy)
