"""Keras-compatible data sets: `mnist`, `fashion_mnist`, `cifar10`, and the bundled `digits`.

Each module has a `load_data()` returning `(x_train, y_train), (x_test, y_test)`
as NumPy arrays. Importing reads no file: data is read only by `load_data()`.
"""

from neuropil.datasets import cifar10, digits, fashion_mnist, mnist

__all__ = ["cifar10", "digits", "fashion_mnist", "mnist"]
