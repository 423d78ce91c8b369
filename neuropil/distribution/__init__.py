"""``keras.distribution`` for CPUs: data-parallel training over MPI processes.

Run the same script on several processes (``mpiexec -n 4 python train.py``); after

    neuropil.distribution.set_distribution(neuropil.distribution.DataParallel())

an unchanged ``fit`` shards every global batch across the processes, averages the gradients
with one allreduce per step, starts from rank 0's weights, averages the metrics, and lets
only rank 0 print progress. Without a distribution set, nothing MPI-related is imported.
Needs the ``mpi`` extra: ``pip install "neuropil[mpi]"`` (mpi4py and the MPICH wheel).
"""
from __future__ import annotations

from neuropil import backend
from neuropil.distribution.data_parallel import DataParallel

__all__ = ["DataParallel", "set_distribution", "distribution", "list_devices", "initialize"]


def set_distribution(value) -> None:
    """Makes ``value`` (a ``DataParallel``, or None to switch off) the distribution that
    ``fit`` uses."""
    if value is not None and not isinstance(value, DataParallel):
        raise TypeError("set_distribution expects a neuropil.distribution.DataParallel or "
                        f"None. Received: {type(value).__name__}")
    backend.set_distribution(value)


def distribution():
    """The distribution set with ``set_distribution`` (None if none)."""
    return backend.distribution()


def list_devices(device_type=None) -> list:
    """One "cpu:<rank>" entry per MPI process (just "cpu:0" without MPI)."""
    if device_type not in (None, "cpu", "CPU"):
        return []
    try:
        from mpi4py import MPI
    except ImportError:
        return ["cpu:0"]
    return [f"cpu:{rank}" for rank in range(MPI.COMM_WORLD.Get_size())]


def initialize(job_addresses=None, num_processes=None, process_id=None) -> None:
    """Accepted for Keras compatibility: ``mpiexec`` has already started and connected the
    processes, so there is nothing to initialize."""
