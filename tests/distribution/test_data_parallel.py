"""Data-parallel fit over MPI equals one process with the same global batch and data order."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).with_name("mpi_fit.py")
ROOT = Path(__file__).resolve().parents[2]


def run(args, **kwargs):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=240, **kwargs)


def test_without_a_distribution_nothing_mpi_is_imported():
    result = run([sys.executable, "-c", "import sys, neuropil as keras; "
                  "keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]); "
                  "print('mpi4py' in sys.modules)"])
    assert result.stdout.strip() == "False", result.stderr


@pytest.mark.slow
def test_two_ranks_match_one_process(tmp_path):
    pytest.importorskip("mpi4py")
    mpiexec = shutil.which("mpiexec")
    if mpiexec is None:
        pytest.skip("mpiexec not found (pip install mpich)")
    single = run([sys.executable, str(SCRIPT), str(tmp_path / "single.npz")])
    assert single.returncode == 0, single.stderr
    parallel = run([mpiexec, "-n", "2", sys.executable, str(SCRIPT), str(tmp_path / "mpi.npz"),
                    "--distributed"])
    assert parallel.returncode == 0, parallel.stdout + parallel.stderr
    a, b = np.load(tmp_path / "single.npz"), np.load(tmp_path / "mpi.npz")
    for key in a.files:
        # float32 sums in a different order: equal to rounding, not bit for bit
        np.testing.assert_allclose(a[key], b[key], rtol=1e-4, atol=1e-5, err_msg=key)
