import numpy as np
import pytest


@pytest.fixture
def data():
    rng = np.random.default_rng(1)
    return rng.uniform(-1, 1, (16, 4)).astype("float32"), rng.integers(0, 3, 16)
