"""DataParallel.share_global_stream: rank 0's global random stream reaches every rank."""
from types import SimpleNamespace

import numpy as np

import neuropil as keras
from neuropil.backend import random
from neuropil.distribution.data_parallel import DataParallel


class RecordingComm:
    """Bcast between ranks run one after the other in this process: the root's buffer is
    recorded, the others receive it."""

    def __init__(self, rank, shared):
        self.rank, self.shared = rank, shared

    def Bcast(self, buffer, root=0):
        if self.rank == root:
            self.shared["words"] = buffer.copy()
        else:
            buffer[...] = self.shared["words"]


def rank(number, shared):
    parallel = DataParallel.__new__(DataParallel)  # no mpi4py needed for this method
    parallel._mpi = SimpleNamespace()
    parallel.comm, parallel.rank, parallel.num_processes = RecordingComm(number, shared), number, 2
    return parallel


def test_every_rank_continues_rank_0s_stream():
    shared = {}
    keras.utils.set_random_seed(3)
    random.global_generator().random(3)  # anywhere in the stream, not just after a seed
    random.global_generator().integers(0, 2**16, dtype=np.uint32)  # a cached half-word too
    rank(0, shared).share_global_stream()
    expected = random.global_generator().random(5)  # what rank 0 draws next

    keras.utils.set_random_seed(99)  # "rank 1", whose stream started elsewhere
    rank(1, shared).share_global_stream()
    np.testing.assert_array_equal(random.global_generator().random(5), expected)
