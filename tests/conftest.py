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


@pytest.fixture
def clean_registry():
    """The saving registry's custom objects as they were before the test, afterwards."""
    from neuropil.saving import registry
    before = dict(registry._GLOBAL_CUSTOM_OBJECTS), dict(registry._GLOBAL_CUSTOM_NAMES)
    yield
    for table, saved in zip((registry._GLOBAL_CUSTOM_OBJECTS, registry._GLOBAL_CUSTOM_NAMES),
                            before):
        table.clear()
        table.update(saved)
