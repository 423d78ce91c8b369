"""Data-parallel fit over MPI equals one process with the same global batch and data order:
from arrays, a generator or a PyDataset, with local or synchronized BatchNormalization."""
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
    result = run([sys.executable, "-c", "import sys, numpy as np, neuropil as keras; "
                  "m = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3), "
                  "keras.layers.BatchNormalization(synchronized=True), keras.layers.Dense(1)]); "
                  "m.compile('sgd', 'mse'); m.fit(np.ones((4, 2)), np.ones((4, 1)), verbose=0); "
                  "print('mpi4py' in sys.modules)"])
    assert result.stdout.strip() == "False", result.stderr


def mpiexec():
    pytest.importorskip("mpi4py")
    path = shutil.which("mpiexec")
    if path is None:
        pytest.skip("mpiexec not found (pip install mpich)")
    return path


def fit_both_ways(tmp_path, model, feed, model_single=None):
    """Rank 0's results and rank 1's weights from `mpiexec -n 2`, and one process's."""
    options = ["--model", model, "--feed", feed]
    single = run([sys.executable, str(SCRIPT), str(tmp_path / "single.npz"), "--model",
                  model_single or model, "--feed", feed])
    assert single.returncode == 0, single.stderr
    parallel = run([mpiexec(), "-n", "2", sys.executable, str(SCRIPT), str(tmp_path / "mpi.npz"),
                    *options, "--distributed"])
    assert parallel.returncode == 0, parallel.stdout + parallel.stderr
    return (np.load(tmp_path / "single.npz"), np.load(tmp_path / "mpi.npz"),
            np.load(tmp_path / "mpi.npz.rank1.npz"))


def weight_keys(results) -> list:
    return [key for key in results.files if key.startswith("arr_")]


@pytest.mark.slow
@pytest.mark.parametrize("model, feed", [
    ("mlp", "arrays"), ("mlp", "shuffled"), ("mlp", "generator"), ("mlp", "pydataset"),
    ("mlp-lazy", "generator"), ("dropout", "shuffled"), ("dropout", "generator"),
    ("bn", "arrays"), ("bn", "generator")])
def test_two_ranks_match_one_process(tmp_path, model, feed):
    """Weights (with BatchNormalization(synchronized=True): its moving mean and variance
    too), loss and accuracy. The generator and PyDataset feeds end each epoch with a batch of
    1 sample, which leaves rank 0 an empty slice; "mlp-lazy" has no Input, so fit builds it
    from the generator's first batch; "shuffled" shuffles each epoch, which every rank must
    do in the single process's order (rank 0's global random stream is shared at the start
    of fit); "dropout" draws masks and noise, which every rank draws for the whole global
    batch, keeping its slice. Measured: max difference ≤ 1e-6."""
    single, rank0, rank1 = fit_both_ways(tmp_path, model, feed)
    keys = weight_keys(single)
    # Dense x2, and BN's gamma, beta, moving mean and moving variance
    assert len(keys) == (8 if model.startswith("bn") else 4)
    for key in keys + ["loss", "accuracy"]:
        # float32 sums in a different order: equal to rounding, not bit for bit
        np.testing.assert_allclose(rank0[key], single[key], rtol=1e-4, atol=1e-5, err_msg=key)
    for key in keys:  # every rank ends with the same weights, moving statistics included
        np.testing.assert_array_equal(rank1[key], rank0[key], err_msg=key)
    # the ranks shared the work: each trained on its own slices, together on every sample
    assert int(rank0["seen"]) + int(rank1["seen"]) == int(single["seen"]) == 3 * 256
    assert 0 < int(rank0["seen"]) < int(single["seen"])


@pytest.mark.slow
def test_local_batch_norm_statistics_do_not_match_one_process(tmp_path):
    """synchronized=False (the default): each rank normalizes its half batch by its own
    statistics, so the weights leave the one-process run and the moving statistics differ
    between ranks (this is what the synchronized test above rules out)."""
    single, rank0, rank1 = fit_both_ways(tmp_path, "bn-local", "arrays", model_single="bn")
    keys = weight_keys(single)
    gap = max(np.abs(rank0[key] - single[key]).max() for key in keys)
    assert gap > 1e-2, gap  # measured ~0.8, against ≤ 1e-6 synchronized
    moving = keys[-2:]  # get_weights: the 6 trainable, then moving mean and variance
    assert all(np.abs(rank0[key] - rank1[key]).max() > 1e-2 for key in moving)
