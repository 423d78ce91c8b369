"""UCI handwritten digits (8x8), the one data set bundled inside neuropil.

Small enough to ship with the package, so a first training run needs no
download and no network.
"""

from __future__ import annotations

import gzip
import numbers
import os
from typing import Optional, Tuple

import numpy as np

from neuropil.data.download import StrPath, verify_file

# The packaged copy of shared/datasets/digits/digits.csv.gz and its SHA-256,
# checked on every load so a damaged installation is reported, not learned from.
_BUNDLED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "digits.csv.gz")
_SHA256 = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"

_SIDE = 8
_MAX_PIXEL = 16
_NUM_CLASSES = 10

Split = Tuple[np.ndarray, np.ndarray]


def load_data(
    test_split: float = 0.2, seed: Optional[int] = 113, path: Optional[StrPath] = None
) -> Tuple[Split, Split]:
    """Loads the UCI handwritten digits data set (bundled, no download).

    1,797 grayscale images of handwritten digits, 8x8 pixels each, with
    intensities 0 to 16, labelled 0-9. Each pixel counts the ink in a 4x4
    block of the original 32x32 bitmap.

    The rows are shuffled with `numpy.random.default_rng(seed)` and split
    like Keras's `boston_housing.load_data`: the first
    `int(n * (1 - test_split))` rows train, the rest test.

    Args:
        test_split: Fraction of the data kept for testing, in `[0, 1)`.
            Defaults to `0.2` (1437 training and 360 test images).
        seed: Seed of the shuffle; the same seed gives the same split.
        path: Optional CSV file (gzip-compressed if it ends in `.gz`) in the
            same layout, read instead of the bundled copy: one row per image,
            64 pixel columns (row-major) then the label, no header.

    Returns:
        Tuple of NumPy arrays: `(x_train, y_train), (x_test, y_test)`.

        **`x_train`, `x_test`**: uint8 arrays of shape `(n, 8, 8)`, pixel
        values 0 to 16.

        **`y_train`, `y_test`**: uint8 arrays of shape `(n,)`, labels 0-9.

    Raises:
        ValueError: If `test_split` is outside `[0, 1)`, the bundled file's
            SHA-256 does not match, or the CSV is not in the layout above.

    Example:

    ```python
    (x_train, y_train), (x_test, y_test) = keras.datasets.digits.load_data()
    assert x_train.shape == (1437, 8, 8) and x_test.shape == (360, 8, 8)
    ```

    License:
        The test set of "Optical Recognition of Handwritten Digits" from the
        UCI Machine Learning Repository, by E. Alpaydin and C. Kaynak (1998),
        as redistributed with scikit-learn; licensed CC BY 4.0.
    """
    test_split = _check_test_split(test_split)
    if path is None:
        verify_file(_BUNDLED, _SHA256, "sha256")
        source = _BUNDLED
    else:
        source = os.fspath(path)
    x, y = _read_csv(source)
    order = np.random.default_rng(seed).permutation(len(x))
    x, y = x[order], y[order]
    n_train = int(len(x) * (1 - test_split))
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])


def _check_test_split(test_split: float) -> float:
    if (
        isinstance(test_split, bool)
        or not isinstance(test_split, numbers.Real)
        or not 0 <= test_split < 1
    ):
        raise ValueError(
            "`test_split` must be a number in [0, 1), the fraction of rows kept for "
            f"testing. Received: test_split={test_split!r}"
        )
    return float(test_split)


def _read_csv(source: str) -> Split:
    columns = _SIDE * _SIDE + 1
    opener = gzip.open if source.endswith(".gz") else open
    try:
        with opener(source, "rt") as f:
            table = np.loadtxt(f, delimiter=",", dtype=np.int64, ndmin=2)
    except (ValueError, EOFError, gzip.BadGzipFile) as err:
        raise ValueError(
            f"{source!r} is not a digits CSV ({columns} comma-separated integers per row): {err}"
        ) from err
    if table.shape[1] != columns:
        raise ValueError(
            f"{source!r} has {table.shape[1]} columns; expected {columns} "
            f"({columns - 1} pixels, then the label)."
        )
    pixels, labels = table[:, :-1], table[:, -1]
    _check_range(pixels, _MAX_PIXEL, "pixel", source)
    _check_range(labels, _NUM_CLASSES - 1, "label", source)
    x = pixels.reshape(-1, _SIDE, _SIDE).astype(np.uint8)
    return x, labels.astype(np.uint8)


def _check_range(values: np.ndarray, high: int, what: str, source: str) -> None:
    bad = (values < 0) | (values > high)
    if bad.any():
        row = int(np.flatnonzero(bad.reshape(len(values), -1).any(axis=1))[0])
        raise ValueError(
            f"{source!r}, row {row + 1}: a {what} value lies outside 0..{high}."
        )
