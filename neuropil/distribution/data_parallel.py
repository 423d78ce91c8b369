"""DataParallel: every process holds the whole model and trains on its slice of each batch.

One step, on each of n processes (ranks):
1. take the same global batch of B samples (every rank shuffles with rank 0's global random
   stream, shared at the start of ``fit``, or reads the same batch from its own copy of the
   generator), and keep the rank's contiguous slice of about B / n samples;
2. forward and backward on that slice: gradients g_r of the slice's mean loss;
3. one allreduce of all gradients packed in one contiguous buffer, each weighted by its
   slice's share n_r / B, so every rank gets the gradient of the global batch's mean loss;
4. the same optimizer update on every rank, so the weights stay identical.
The result equals one process training with batch B on the same data order (up to float32
rounding in the sum); with ``keras.utils.set_random_seed`` it is the same order too. BatchNormalization uses each rank's local batch statistics, unless
built with ``synchronized=True``: then its statistics are the global batch's
(``batch_moments``) and so are the two sums of its backward (``sum_arrays``, weighted by
``share``).

A global batch smaller than the number of ranks leaves some ranks an empty slice: such a rank
still runs the step on a stand-in sample with share 0, so that it joins every collective of
the step, and everything it contributes is multiplied by 0 (or left out).
"""
from __future__ import annotations

import numpy as np

from neuropil.backend import random

__all__ = ["DataParallel"]


class DataParallel:
    """Data parallelism over the processes of an MPI communicator.

    Args:
        device_mesh, devices: accepted for Keras compatibility (each MPI process is one
            CPU "device").
        comm: the mpi4py communicator (default ``MPI.COMM_WORLD``).

    Example (``mpiexec -n 2 python train.py``):

    ```python
    import neuropil as keras
    from neuropil import distribution
    distribution.set_distribution(distribution.DataParallel())
    model.fit(x, y, batch_size=128)   # each rank trains on 64 samples per step
    ```

    ``fit`` also takes a generator, an iterable or a ``keras.utils.PyDataset``: every rank
    reads it and keeps its slice of each batch, so each rank's source must yield the same
    batches in the same order (the same script with the same seeds does).
    """

    def __init__(self, device_mesh=None, devices=None, comm=None):
        try:
            from mpi4py import MPI
        except ImportError as error:
            raise ImportError('DataParallel needs mpi4py and an MPI library: pip install '
                              '"neuropil[mpi]"') from error
        self._mpi = MPI
        self.comm = comm if comm is not None else MPI.COMM_WORLD
        self.rank = self.comm.Get_rank()
        self.num_processes = self.comm.Get_size()
        self._buffer = None
        self.share = None  # this rank's fraction of the current global batch (set by fit)
        # (start, stop, global batch size) of this rank's slice during a training step (set
        # by fit): random layers draw for the global batch and keep it (random.batch_draw)
        self.batch_slice = None

    @property
    def is_chief(self) -> bool:
        """Rank 0 prints progress and writes files."""
        return self.rank == 0

    # ---- start of fit -----------------------------------------------------------------
    def broadcast_variables(self, variables) -> None:
        """Every rank starts from rank 0's values."""
        for variable in variables:
            data = np.ascontiguousarray(variable.data)
            self.comm.Bcast(data, root=0)
            variable.data[...] = data

    def share_global_stream(self) -> None:
        """Every rank's global random stream (``keras.utils.set_random_seed``'s) becomes
        rank 0's, so that every rank shuffles the data alike, and in the same order as one
        process would (with a seed set: the same order as a single-process run). PCG64's
        state (two 128-bit numbers and a cached half-word) travels as six 64-bit words."""
        bits = random.global_generator().bit_generator
        words = np.zeros(6, np.uint64)
        if self.is_chief:
            state = bits.state
            mask = (1 << 64) - 1
            words[:] = [state["state"]["state"] >> 64, state["state"]["state"] & mask,
                        state["state"]["inc"] >> 64, state["state"]["inc"] & mask,
                        state["has_uint32"], state["uinteger"]]
        self.comm.Bcast(words, root=0)
        if not self.is_chief:
            high, low, inc_high, inc_low, has_uint32, uinteger = (int(w) for w in words)
            state = {"state": (high << 64) | low, "inc": (inc_high << 64) | inc_low}
            bits.state = {"bit_generator": "PCG64", "state": state, "has_uint32": has_uint32,
                          "uinteger": uinteger}

    # ---- each step ----------------------------------------------------------------------
    def shard(self, batch_size: int) -> tuple:
        """(start, stop) of this rank's slice of a global batch, and its share of it."""
        bounds = np.linspace(0, batch_size, self.num_processes + 1).round().astype(int)
        start, stop = int(bounds[self.rank]), int(bounds[self.rank + 1])
        return start, stop, (stop - start) / batch_size

    def allreduce_gradients(self, grads: list, share: float) -> list:
        """sum over ranks of share_r · g_r, in one allreduce over one packed buffer."""
        sizes = [0 if g is None else g.size for g in grads]
        total = sum(sizes)
        dtype = next((g.dtype for g in grads if g is not None), np.float32)
        if self._buffer is None or self._buffer.size != total or self._buffer.dtype != dtype:
            self._buffer = np.empty(total, dtype)
        offset = 0
        for g, size in zip(grads, sizes):
            if g is not None:
                np.multiply(g.reshape(-1), share, out=self._buffer[offset:offset + size])
            offset += size
        self.comm.Allreduce(self._mpi.IN_PLACE, self._buffer, op=self._mpi.SUM)
        out, offset = [], 0
        for g, size in zip(grads, sizes):
            out.append(None if g is None else
                       self._buffer[offset:offset + size].reshape(g.shape).copy())
            offset += size
        return out

    def sum_arrays(self, arrays: list) -> list:
        """Element-wise sums across ranks (metric states; synchronized batch norm's backward
        sums), as float64, in one allreduce."""
        flat = np.concatenate([np.asarray(a, np.float64).reshape(-1) for a in arrays]) \
            if arrays else np.zeros(0)
        self.comm.Allreduce(self._mpi.IN_PLACE, flat, op=self._mpi.SUM)
        out, offset = [], 0
        for a in arrays:
            size = np.size(a)
            out.append(flat[offset:offset + size].reshape(np.shape(a)))
            offset += size
        return out

    def batch_moments(self, count: int, mean: np.ndarray, m2: np.ndarray) -> tuple:
        """Synchronized batch norm's statistics: from every rank's per-channel count, mean and
        sum of squared deviations m2, those of the global batch, as float64 (count, mean,
        m2). One allgather, then Chan et al.'s pairwise formula
        m2 = Σ m2_r + Σ n_r · (mean_r - mean)², which, unlike Σx² - N·mean², loses nothing
        when the mean is large. Every rank combines the same numbers in rank order, so all
        get bit-identical results. A rank with share 0 (a stand-in slice) adds nothing."""
        channels = np.size(mean)
        local = np.zeros((3, channels))
        if self.share != 0:
            local[0], local[1], local[2] = count, mean, m2
        every = np.empty((self.num_processes, 3, channels))
        self.comm.Allgather(local, every)
        counts, means, m2s = every[:, 0], every[:, 1], every[:, 2]
        total = counts.sum(axis=0)
        global_mean = (counts * means).sum(axis=0) / total
        m2 = m2s.sum(axis=0) + (counts * (means - global_mean) ** 2).sum(axis=0)
        return total, global_mean, m2

    def __repr__(self) -> str:
        return f"<DataParallel rank {self.rank} of {self.num_processes}>"
