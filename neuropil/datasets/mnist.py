"""MNIST handwritten digits classification data set.

Loaded from the four original IDX files (not Keras's `mnist.npz`, which we
never unpickle); each file's SHA-256 is checked before it is parsed.
"""

from __future__ import annotations

from typing import Optional, Tuple

from neuropil.data.download import StrPath
from neuropil.datasets._mnist_layout import Split, load_mnist_layout

# SHA-256 of the original distribution files (same as shared/datasets/mnist/SHA256SUMS).
_SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
# Tried in order; the first is the mirror TensorFlow Datasets uses, the last the
# original home page (often slow or refusing scripts, hence last).
_BASE_URLS = [
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
]


def load_data(path: Optional[StrPath] = None) -> Tuple[Split, Split]:
    """Loads the MNIST data set.

    60,000 training and 10,000 test grayscale images of handwritten digits,
    28x28 pixels each, labelled with the digit they show (10 classes).
    More at the MNIST home page, http://yann.lecun.com/exdb/mnist/.

    The files are looked for in `path`, then in `$NEUROPIL_DATA` (either
    directly or in its `mnist/` subdirectory), and otherwise downloaded once
    into `~/.neuropil/datasets/mnist/` (or `$NEUROPIL_HOME/...`).

    Args:
        path: Optional directory holding `train-images-idx3-ubyte.gz`,
            `train-labels-idx1-ubyte.gz`, `t10k-images-idx3-ubyte.gz` and
            `t10k-labels-idx1-ubyte.gz`, directly or in an `mnist/`
            subdirectory. Keras's cache name `"mnist.npz"` is accepted and
            ignored.

    Returns:
        Tuple of NumPy arrays: `(x_train, y_train), (x_test, y_test)`.

        **`x_train`**: uint8 array of grayscale images, shape
        `(60000, 28, 28)`, pixel values 0 (background) to 255 (ink).

        **`y_train`**: uint8 array of digit labels (integers 0-9), shape
        `(60000,)`.

        **`x_test`**: uint8 array of shape `(10000, 28, 28)`.

        **`y_test`**: uint8 array of shape `(10000,)`.

    Raises:
        ValueError: If a file's SHA-256, counts or labels are not as expected.
        FileNotFoundError: If `path` lacks some of the files.
        OSError: If the files must be downloaded and no mirror answers.

    Example:

    ```python
    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    assert x_train.shape == (60000, 28, 28)
    assert y_test.shape == (10000,)
    ```

    License:
        Yann LeCun and Corinna Cortes hold the copyright of MNIST, a work
        derived from NIST Special Databases 1 and 3 (with Christopher J.C.
        Burges). It is available under the Creative Commons
        Attribution-Share Alike 3.0 licence (CC BY-SA 3.0): credit the
        authors and share derived data under the same licence.
    """
    return load_mnist_layout(_SHA256, "mnist", _BASE_URLS, path)

