"""CIFAR-10 small images classification data set.

Loaded from the binary version of the original distribution (`cifar-10-binary.tar.gz`:
fixed-size records, no pickle), read straight out of the archive; its SHA-256 is checked
before anything is parsed.
"""

from __future__ import annotations

import tarfile
from typing import Optional, Tuple

import numpy as np

from neuropil.data.download import StrPath, locate_files
from neuropil.data.formats import read_cifar_records

_ARCHIVE = "cifar-10-binary.tar.gz"
# SHA-256 of the archive (170,052,171 bytes), as TensorFlow Datasets records it in
# url_checksums/cifar10.txt; the CIFAR page publishes its MD5, c32a1d4ab5d03f1284b67883e8d87530.
_SHA256 = {_ARCHIVE: "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"}
_BASE_URLS = ["https://www.cs.toronto.edu/~kriz/"]
_FOLDER = "cifar-10-batches-bin"
_TRAIN_BATCHES = [f"data_batch_{i}.bin" for i in range(1, 6)]
_TEST_BATCH = "test_batch.bin"
_RECORDS_PER_BATCH = 10000
_IMAGE_SHAPE = (3, 32, 32)  # as stored: channels first

Split = Tuple[np.ndarray, np.ndarray]


def load_data(path: Optional[StrPath] = None) -> Tuple[Split, Split]:
    """Loads the CIFAR-10 data set.

    50,000 training and 10,000 test colour images, 32x32 pixels, in 10 classes
    of 6,000 images each. See the CIFAR home page,
    https://www.cs.toronto.edu/~kriz/cifar.html. The classes are:

    | Label | Description |
    |:-----:|-------------|
    |   0   | airplane    |
    |   1   | automobile  |
    |   2   | bird        |
    |   3   | cat         |
    |   4   | deer        |
    |   5   | dog         |
    |   6   | frog        |
    |   7   | horse       |
    |   8   | ship        |
    |   9   | truck       |

    The archive is looked for in `path`, then in `$NEUROPIL_DATA` (either
    directly or in its `cifar10/` subdirectory), and otherwise downloaded
    once into `~/.neuropil/datasets/cifar10/` (or `$NEUROPIL_HOME/...`).

    Args:
        path: Optional directory holding `cifar-10-binary.tar.gz`, directly or
            in a `cifar10/` subdirectory.

    Returns:
        Tuple of NumPy arrays: `(x_train, y_train), (x_test, y_test)`, as Keras
        returns them.

        **`x_train`**: uint8 array of RGB images, shape `(50000, 32, 32, 3)`
        (channels last), pixel values 0 to 255.

        **`y_train`**: uint8 array of labels (integers 0-9), shape `(50000, 1)`.

        **`x_test`**: uint8 array of shape `(10000, 32, 32, 3)`.

        **`y_test`**: uint8 array of shape `(10000, 1)`.

    Raises:
        ValueError: If the archive's SHA-256, a batch's size or a label is not
            as expected, or the archive lacks a batch file.
        FileNotFoundError: If `path` lacks the archive.
        OSError: If the archive must be downloaded and the download fails.

    Example:

    ```python
    (x_train, y_train), (x_test, y_test) = keras.datasets.cifar10.load_data()
    assert x_train.shape == (50000, 32, 32, 3)
    assert y_train.shape == (50000, 1)
    ```

    License:
        Collected by Alex Krizhevsky, Vinod Nair and Geoffrey Hinton; cite
        "Learning Multiple Layers of Features from Tiny Images", Alex
        Krizhevsky, 2009, when using it.
    """
    files = locate_files(_SHA256, dataset_dir="cifar10", base_urls=_BASE_URLS, path=path,
                         cache_subdir="datasets/cifar10")
    return _read_archive(files[_ARCHIVE])


def _read_archive(archive: str) -> Tuple[Split, Split]:
    with tarfile.open(archive, "r:gz") as tar:
        train = [_read_batch(tar, archive, name) for name in _TRAIN_BATCHES]
        x_test, y_test = _read_batch(tar, archive, _TEST_BATCH)
    x_train = np.concatenate([x for x, _ in train])
    y_train = np.concatenate([y for _, y in train])
    return (x_train, y_train.reshape(-1, 1)), (x_test, y_test.reshape(-1, 1))


def _read_batch(tar: tarfile.TarFile, archive: str, name: str) -> Split:
    member_name = f"{_FOLDER}/{name}"
    try:
        member = tar.getmember(member_name)
    except KeyError:
        raise ValueError(f"{archive!r} has no {member_name!r}: it is not the CIFAR-10 binary "
                         "archive (cifar-10-binary.tar.gz).") from None
    expected = _RECORDS_PER_BATCH * (1 + int(np.prod(_IMAGE_SHAPE)))
    if not member.isfile() or member.size != expected:
        raise ValueError(f"{archive!r}: {member_name!r} holds {member.size} bytes; expected "
                         f"{expected} ({_RECORDS_PER_BATCH} records).")
    data = tar.extractfile(member).read()
    return read_cifar_records(data, f"{archive}:{member_name}", image_shape=_IMAGE_SHAPE,
                              count=_RECORDS_PER_BATCH, num_classes=10)
