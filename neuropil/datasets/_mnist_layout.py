"""What MNIST and Fashion-MNIST share: four IDX files in the same layout (60,000 + 10,000
28x28 uint8 images, labels 0-9), found or downloaded by ``locate_files``."""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import numpy as np

from neuropil.data.download import StrPath, locate_files
from neuropil.data.formats import read_idx_examples

Split = Tuple[np.ndarray, np.ndarray]

_COUNTS = {"train": 60000, "t10k": 10000}


def load_mnist_layout(sha256: Dict[str, str], dataset_dir: str, base_urls: List[str],
                      path: Optional[StrPath]) -> Tuple[Split, Split]:
    """``(x_train, y_train), (x_test, y_test)`` from the four checked IDX files."""
    files = locate_files(sha256, dataset_dir=dataset_dir, base_urls=base_urls, path=path,
                         cache_subdir=f"datasets/{dataset_dir}")
    return _read_split(files, "train"), _read_split(files, "t10k")


def _read_split(files: Dict[str, str], prefix: str) -> Split:
    return read_idx_examples(
        files[f"{prefix}-images-idx3-ubyte.gz"],
        files[f"{prefix}-labels-idx1-ubyte.gz"],
        count=_COUNTS[prefix],
        example_shape=(28, 28),
        num_classes=10,
    )
