"""Running an op's batch chunks on several threads, with BLAS single-threaded meanwhile.

A convolution is built from small pieces per chunk of a few images: copy the chunk's
windows into columns (im2col, a NumPy copy), multiply them by the kernel (a BLAS GEMM),
scatter gradients back (a compiled loop). Each piece is too short for BLAS's own threads:
on this project's 2-core VM, a chunk loop whose GEMMs ran on OpenBLAS's two threads took
37 ms for ResNet-20's first-stage convolution (128x32x32x16), against 11 ms with BLAS on
one thread and 5.8 ms with the chunks shared by two threads, each calling a one-thread BLAS
(the other thread of the pool wakes and sleeps around every short GEMM, and the chunk's
copy runs meanwhile on one core). NumPy's copies, BLAS and the compiled loops release the
GIL, so Python threads run them side by side.

- ``workers()``: how many threads the chunk loops use. By default as many as the BLAS
  library's own pool (``OPENBLAS_NUM_THREADS`` / ``OMP_NUM_THREADS`` therefore bound
  neuropil too, as they bound NumPy), read once through ``threadpoolctl``; 1 when it is
  not installed (``pip install neuropil[fast]``), and then every chunk runs in the calling
  thread. ``set_num_threads(n)`` overrides it.
- ``map_chunks(fn, items)``: ``[fn(item) for item in items]``, shared by the workers (each
  takes the next item when it is free), with BLAS limited to one thread until all are done.
  The other workers are ``spin.Helper`` threads when numba is installed: they take a task
  in ~5 us instead of a thread pool's 30-80 us, which is what lets LeNet-5's chunks of
  0.1-0.5 ms gain from a second thread (its training step, 2 threads: 8.5 -> 6.3 ms).
- ``region()``: a forward pass (the outermost ``Layer.__call__``) or a backward pass runs
  inside one. If the previous region used the workers, BLAS stays on one thread for the
  whole region, not just inside each ``map_chunks``: OpenBLAS's idle threads spin for a
  while after every multi-threaded GEMM (a dense layer's, say) and then compete for the
  cores with the workers (LeNet-5's training step: 12.3 ms with BLAS switched per chunk
  loop, 9.3 ms with BLAS on one thread throughout). A network that never uses the workers
  (dense layers only) keeps BLAS's own threads, which serve its GEMMs best; inside a
  one-thread region ``matmul`` shares large GEMMs among the workers instead.

Example:
>>> from neuropil.backend import threads
>>> threads.map_chunks(lambda part: part.stop - part.start, [slice(0, 3), slice(3, 5)])
[3, 2]
"""
from __future__ import annotations

import contextvars
import functools
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from neuropil.backend import spin

__all__ = ["workers", "set_num_threads", "controls_blas", "map_chunks", "split", "region",
           "matmul"]

_state = {"workers": None, "controller": None, "pool": None, "helpers": None, "limiter": None,
          "depth": 0, "parallel_calls": 0, "last_region_parallel": False}
_lock = threading.Lock()  # guards the BLAS limit shared by concurrent map_chunks calls
_inside = threading.local()  # set in worker threads: nested calls run serially


def _controller():
    """threadpoolctl's controller of NumPy's BLAS, or None: without threadpoolctl, or when
    it recognizes no BLAS library in the process (then its thread count is unknown)."""
    if _state["controller"] is None:
        try:
            from threadpoolctl import ThreadpoolController
            blas = ThreadpoolController().select(user_api="blas")
            _state["controller"] = blas if blas.info() else False
        except ImportError:
            _state["controller"] = False
    return _state["controller"] or None


def workers() -> int:
    """How many threads ``map_chunks`` uses (see the module's docstring)."""
    if _state["workers"] is None:
        controller = _controller()
        count = 1
        if controller is not None:
            count = max(info["num_threads"] for info in controller.info())
        _state["workers"] = max(1, min(count, os.cpu_count() or 1))
    return _state["workers"]


def controls_blas() -> bool:
    """Whether BLAS's thread count can be set here (threadpoolctl is installed and knows
    NumPy's BLAS). Without it, a chunk loop's GEMMs use BLAS's own threads, which serve
    whole-batch GEMMs best."""
    return _controller() is not None


def set_num_threads(count: int | None) -> None:
    """How many threads neuropil's chunk loops use from now on; None: back to the default
    (the BLAS library's thread count, read again)."""
    if count is not None and (isinstance(count, bool) or int(count) != count or count < 1):
        raise ValueError(f"set_num_threads expects an integer >= 1 or None. Received: {count!r}")
    _state["workers"] = None if count is None else int(count)


def _limit_blas(enter: bool) -> None:
    """One BLAS thread while any map_chunks call runs; the original count after the last."""
    with _lock:
        if enter:
            _state["depth"] += 1
            if _state["depth"] == 1 and _controller() is not None:
                _state["limiter"] = _controller().limit(limits=1)
        else:
            _state["depth"] -= 1
            if _state["depth"] == 0 and _state["limiter"] is not None:
                _state["limiter"].restore_original_limits()
                _state["limiter"] = None


def _pool(size: int) -> ThreadPoolExecutor:
    pool = _state["pool"]
    if pool is None or pool._max_workers < size:
        if pool is not None:  # more workers were asked for: the old threads may end
            pool.shutdown(wait=False)
        pool = _state["pool"] = ThreadPoolExecutor(size, thread_name_prefix="neuropil")
    return pool


def map_chunks(fn, items) -> list:
    """``[fn(item) for item in items]``, computed by ``workers()`` threads (the caller is
    one of them). ``fn`` must be safe to run on different items at once (each writes its
    own part of the output). The first exception raised by any item is re-raised after
    every thread has stopped."""
    items = list(items)
    count = min(workers(), len(items))
    if getattr(_inside, "active", False) or len(items) <= 1:
        return [fn(item) for item in items]
    if count <= 1:  # one worker chosen (set_num_threads(1)): BLAS on one thread too
        _limit_blas(True)
        try:
            return [fn(item) for item in items]
        finally:
            _limit_blas(False)
    results = [None] * len(items)
    queue = iter(range(len(items)))
    queue_lock = threading.Lock()
    errors = []

    def drain():
        _inside.active = True
        try:
            while not errors:
                with queue_lock:
                    index = next(queue, None)
                if index is None:
                    return
                try:
                    results[index] = fn(items[index])
                except BaseException as error:  # noqa: BLE001 - re-raised in the caller
                    errors.append(error)
        finally:
            _inside.active = False

    _state["parallel_calls"] += 1
    _limit_blas(True)
    try:
        _share(drain, count - 1)
    finally:
        _limit_blas(False)
    if errors:
        raise errors[0]
    return results


def _share(drain, count: int) -> None:
    """Runs ``drain`` on ``count`` helper threads and in this thread, and returns when all
    have finished. Each helper runs it in a copy of the caller's context, so that settings
    kept in context variables (NumPy's errstate) hold there too.

    Spinning helpers (``spin``: they take a task in ~5 us) when numba is there and no
    other thread is using them; else the thread pool (30-80 us to wake a thread here)."""
    helpers = _spinning_helpers(count)
    if helpers is not None and _helpers_lock.acquire(blocking=False):
        try:
            for helper in helpers:
                helper.start(functools.partial(contextvars.copy_context().run, drain))
            drain()
        finally:
            for helper in helpers:
                helper.join()
            _helpers_lock.release()
        return
    futures = [_pool(count).submit(contextvars.copy_context().run, drain)
               for _ in range(count)]
    drain()
    for future in futures:
        future.result()


_helpers_lock = threading.Lock()  # one map_chunks at a time hands work to the helpers


def _spinning_helpers(count: int):
    """``count`` spinning helpers (made once, grown on demand), or None without numba."""
    helpers = _state["helpers"]
    if helpers is None:
        if not spin.available():
            return None
        helpers = _state["helpers"] = []
    while len(helpers) < count:
        helpers.append(spin.Helper())
    return helpers[:count]


_regions = threading.local()  # this thread's region nesting depth


def _after_fork_in_child() -> None:
    """A forked child (a multiprocessing worker, say) has none of the parent's threads:
    forget the pool, so that the next chunk loop starts its own instead of waiting forever
    for threads that do not exist, and any BLAS limit the parent held at the fork."""
    global _lock, _helpers_lock
    _lock, _helpers_lock = threading.Lock(), threading.Lock()
    _state.update(pool=None, helpers=None, limiter=None, depth=0)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class region:
    """Context manager around a forward or backward pass (see the module's docstring);
    nested regions belong to the outermost one."""

    __slots__ = ("limited", "calls_before")

    def __enter__(self):
        depth = getattr(_regions, "depth", 0)
        _regions.depth = depth + 1
        self.limited = depth == 0 and _state["last_region_parallel"] and workers() > 1
        self.calls_before = _state["parallel_calls"]
        if self.limited:
            _limit_blas(True)
        return self

    def __exit__(self, *exc_info):
        _regions.depth -= 1
        if _regions.depth == 0:
            _state["last_region_parallel"] = _state["parallel_calls"] > self.calls_before
        if self.limited:
            _limit_blas(False)
        return False


def split(n: int, bytes_per_item: int, chunk_bytes: int = 512 << 10,
          min_bytes: int = 1 << 20, serial_too: bool = False) -> list:
    """``range(n)`` cut into slices of about ``chunk_bytes`` of work each (at least one
    item, and at least one slice per worker), for ``map_chunks``: a chunk stays in the
    core's cache across an op's passes. One slice of everything when the work is under
    ``min_bytes`` (waking a worker would cost more), or when there is one worker, unless
    ``serial_too`` (a convolution's chunks pay off on one thread as well).

    The slices come in a multiple of the workers' number and of near-equal sizes: 128
    images in chunks of 55 made 55 + 55 + 18, one worker doing 73 while the other did 55."""
    count_workers = workers()
    if n * bytes_per_item < min_bytes or (count_workers == 1 and not serial_too):
        return [slice(0, n)]
    step = max(1, min(chunk_bytes // max(bytes_per_item, 1), -(-n // count_workers)))
    count = -(-n // step)
    count = min(n, -(-count // count_workers) * count_workers)
    bounds = [n * i // count for i in range(count + 1)]
    return [slice(start, stop) for start, stop in zip(bounds, bounds[1:])]


SPLIT_MACS = 1 << 23  # multiply-adds from which a GEMM is shared by the workers (~0.2 ms)


def matmul(a, b):
    """``a @ b`` for 2-D arrays. While BLAS is held to one thread (inside a region or a
    ``map_chunks``) a large product is cut into one block of rows (or columns) per worker;
    otherwise this is ``np.matmul``, whose BLAS uses its own threads."""
    if _state["depth"] == 0:  # BLAS has its own threads: nothing to share
        return np.matmul(a, b)
    (m, k), n = a.shape, b.shape[1]
    count = workers()
    if count == 1 or m * k * n < SPLIT_MACS or getattr(_inside, "active", False):
        return np.matmul(a, b)
    out = np.empty((m, n), np.result_type(a, b))
    bounds = [max(m, n) * i // count for i in range(count + 1)]
    parts = [slice(lo, hi) for lo, hi in zip(bounds, bounds[1:])]
    if m >= n:  # one block of rows per worker
        map_chunks(lambda rows: np.matmul(a[rows], b, out=out[rows]), parts)
    else:  # one block of columns per worker
        map_chunks(lambda cols: np.matmul(a, b[:, cols], out=out[:, cols]), parts)
    return out
