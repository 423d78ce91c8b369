"""Fashion-MNIST: Zalando article images, a drop-in replacement for MNIST.

Loaded from the four original IDX files; each file's SHA-256 is checked
before it is parsed.
"""

from __future__ import annotations

from typing import Optional, Tuple

from neuropil.data.download import StrPath
from neuropil.datasets._mnist_layout import Split, load_mnist_layout

# SHA-256 of the original distribution files (same as shared/datasets/fashion-mnist/SHA256SUMS).
_SHA256 = {
    "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
}
# Tried in order: the bucket Keras downloads from, then the authors' repository.
_BASE_URLS = [
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
]


def load_data(path: Optional[StrPath] = None) -> Tuple[Split, Split]:
    """Loads the Fashion-MNIST data set.

    60,000 training and 10,000 test grayscale images of clothing articles,
    28x28 pixels each, in 10 balanced categories. Same sizes and format as
    MNIST, so it can replace it in any program. The classes are:

    | Label | Description |
    |:-----:|-------------|
    |   0   | T-shirt/top |
    |   1   | Trouser     |
    |   2   | Pullover    |
    |   3   | Dress       |
    |   4   | Coat        |
    |   5   | Sandal      |
    |   6   | Shirt       |
    |   7   | Sneaker     |
    |   8   | Bag         |
    |   9   | Ankle boot  |

    The files are looked for in `path`, then in `$NEUROPIL_DATA` (either
    directly or in its `fashion-mnist/` subdirectory), and otherwise
    downloaded once into `~/.neuropil/datasets/fashion-mnist/`.

    Args:
        path: Optional directory holding the four original files
            (`train-images-idx3-ubyte.gz`, `train-labels-idx1-ubyte.gz`,
            `t10k-images-idx3-ubyte.gz`, `t10k-labels-idx1-ubyte.gz`),
            directly or in a `fashion-mnist/` subdirectory. An extension:
            Keras's version takes no argument.

    Returns:
        Tuple of NumPy arrays: `(x_train, y_train), (x_test, y_test)`.

        **`x_train`**: uint8 array of grayscale images, shape
        `(60000, 28, 28)`, pixel values 0 to 255.

        **`y_train`**: uint8 array of labels (integers 0-9), shape `(60000,)`.

        **`x_test`**: uint8 array of shape `(10000, 28, 28)`.

        **`y_test`**: uint8 array of shape `(10000,)`.

    Raises:
        ValueError: If a file's SHA-256, counts or labels are not as expected.
        FileNotFoundError: If `path` lacks some of the files.
        OSError: If the files must be downloaded and no mirror answers.

    Example:

    ```python
    (x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
    assert x_train.shape == (60000, 28, 28)
    assert y_test.shape == (10000,)
    ```

    License:
        The copyright of Fashion-MNIST is held by Zalando SE (2017), which
        releases it under the MIT licence; keep the copyright and permission
        notice when redistributing. Authors: Han Xiao, Kashif Rasul and
        Roland Vollgraf, "Fashion-MNIST: a Novel Image Dataset for
        Benchmarking Machine Learning Algorithms", arXiv:1708.07747.
    """
    return load_mnist_layout(_SHA256, "fashion-mnist", _BASE_URLS, path)

