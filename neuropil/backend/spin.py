"""Helper threads that take a task within microseconds: they spin a while before sleeping.

``threads.map_chunks`` shares a chunk loop between the calling thread and helper threads.
A helper asleep on a lock (a ``ThreadPoolExecutor``'s) takes 30-80 us to wake on this
project's 2-core VM: as long as a LeNet-5 chunk's work, so two threads barely beat one.
OpenMP's workers (PyTorch's) keep spinning for a while after a parallel region, so the
next one starts at once. These helpers do the same: after each task a helper watches its
flag in a compiled loop (numba: no GIL held, ``sched_yield`` between reads, so a runnable
thread on that core still gets it) for about ``SPIN_ROUNDS`` reads, ~2 ms, and only then
sleeps on a condition variable; the caller waits for them the same way.

Measured (2 threads, bench of ``map_chunks`` with two pieces): an empty hand-off 33-77 ->
4-7 us; two pieces of 71 us each 152-170 -> 87-95 us (one thread alone: 142).

Without numba (or with ``NEUROPIL_DISABLE_NUMBA=1``) ``available()`` is False and
``map_chunks`` keeps its thread pool.

Example:
>>> from neuropil.backend import spin
>>> if spin.available():
...     helper = spin.Helper()
...     helper.start(lambda: None)
...     helper.join()
"""
from __future__ import annotations

import ctypes
import os
import threading

import numpy as np

__all__ = ["available", "Helper", "SPIN_ROUNDS", "numba_disabled_by_env"]

SPIN_ROUNDS = 4000  # reads before sleeping: ~0.5 us each here (a sched_yield), ~2 ms in all

_state = {"kernel": None}


def numba_disabled_by_env() -> bool:
    """Whether the environment variable ``NEUROPIL_DISABLE_NUMBA`` (set, and not "0") asks for
    no compiled code at all: read here and by ``ops.accel``."""
    return os.environ.get("NEUROPIL_DISABLE_NUMBA", "") not in ("", "0")


def _compile():
    """The compiled spin loop, or False without numba or a C library's ``sched_yield``."""
    if numba_disabled_by_env():
        return False
    try:
        from numba import njit
        sched_yield = ctypes.CDLL(None).sched_yield
    except (ImportError, OSError, AttributeError, TypeError):  # no numba, or not POSIX
        return False
    sched_yield.restype, sched_yield.argtypes = ctypes.c_int, []

    # Not cached on disk: it calls a function pointer, which numba may not cache.
    @njit(nogil=True)
    def spin_while_equal(flags, index, old, rounds):
        """Reads flags[index] until it differs from ``old`` (True) or ``rounds`` reads have
        passed (False). The call to ``sched_yield`` between reads is also what makes the
        compiler read the flag again each time."""
        for _ in range(rounds):
            if flags[index] != old:
                return True
            sched_yield()
        return flags[index] != old

    try:
        spin_while_equal(np.zeros(1, np.int64), 0, 1, 1)  # compile now (~0.1 s), not mid-op
    except Exception:  # noqa: BLE001 - numba could not compile the call: use the pool
        return False
    return spin_while_equal


def available() -> bool:
    """Whether spinning helpers can be made here (numba imports and compiles the loop)."""
    if _state["kernel"] is None:
        _state["kernel"] = _compile()
    return bool(_state["kernel"])


class Helper:
    """A daemon thread that runs the tasks handed to it by ``start``, one at a time.

    Only one thread may hand it tasks at a time (``threads.map_chunks`` holds a lock).
    The flags are written only by Python code, under the GIL, so a waiter that checks a
    flag and then sleeps cannot miss the wake-up of the write after its check.
    """

    def __init__(self):
        if not available():
            raise RuntimeError("spin.Helper needs numba (pip install neuropil[fast])")
        self._spin = _state["kernel"]
        self._flags = np.zeros(2, np.int64)  # tasks posted, tasks finished
        self._cond = threading.Condition()
        self._sleepers = 0
        self._task = None
        threading.Thread(target=self._serve, name="neuropil-helper", daemon=True).start()

    def start(self, task) -> None:
        """Hands ``task`` (a callable taking no arguments) to the helper; returns at once.
        Exceptions are the task's own business: catch them inside it."""
        self._task = task
        self._flags[0] += 1
        self._wake()

    def join(self) -> None:
        """Returns when the task last started has finished."""
        self._wait_while(1, self._flags[0] - 1)

    def _serve(self) -> None:
        seen = 0
        while True:
            self._wait_while(0, seen)
            seen = int(self._flags[0])
            try:
                self._task()
            except BaseException:  # noqa: BLE001 - a helper outlives its task's failure
                pass
            finally:
                self._task = None  # the task's references (arrays, closures) go now
                self._flags[1] = seen
                self._wake()

    def _wait_while(self, index: int, old: int) -> None:
        """Returns once flags[index] != old: spinning first, then asleep."""
        if self._spin(self._flags, index, old, SPIN_ROUNDS):
            return
        with self._cond:
            self._sleepers += 1
            try:
                while self._flags[index] == old:
                    self._cond.wait()
            finally:
                self._sleepers -= 1

    def _wake(self) -> None:
        if self._sleepers:
            with self._cond:
                self._cond.notify_all()
