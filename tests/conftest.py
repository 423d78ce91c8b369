from pathlib import Path

import numpy as np
import pytest

SHARED_DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


@pytest.fixture(autouse=True)
def _numpy_errors_raise():
    """NumPy floating-point problems (overflow, invalid, divide) fail the test."""
    with np.errstate(all="raise", under="ignore"):
        yield


@pytest.fixture
def shared_datasets() -> Path:
    if not SHARED_DATASETS.is_dir():
        pytest.skip(f"shared data sets not found at {SHARED_DATASETS}")
    return SHARED_DATASETS
