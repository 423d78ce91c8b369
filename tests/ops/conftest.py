"""Fixtures for the op tests."""
import pytest

from neuropil.ops import accel


@pytest.fixture(params=["numpy", "numba"])
def kernels_path(request):
    """Runs a test once on the NumPy code and once on the compiled loops (``ops.accel``),
    which must compute the same numbers; the numba run is skipped when numba is missing."""
    if request.param == "numba":
        pytest.importorskip("numba")
    accel.set_enabled(request.param == "numba")
    yield request.param
    accel.set_enabled(None)
