"""Keeping freed memory in the process, for loops that reallocate the same large arrays.

A training step of a convolutional network allocates multi-megabyte arrays (a convolution's
columns, feature maps, their gradients) and frees them all by the end of the step; the next
step asks for the same sizes again. glibc's malloc serves large blocks with ``mmap`` and
hands freed memory at the top of its heap back to the kernel once more than about twice its
largest recent block is free. Either way the next step's arrays land on pages the kernel
must fault in and zero one 4 KB page at a time: on this project's 2-core VM, LeNet-5's step
took 2,000-4,000 page faults, 6-11 ms of kernel time (torch's step: none).

``keep_freed_memory`` sets both thresholds once (``mallopt``): blocks up to 32 MB come from
the heap, and up to 64 MB of free heap stays in the process, so the same pages are reused
from step to step. The price is that much resident memory kept after a peak.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

__all__ = ["keep_freed_memory"]

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameter numbers
_MMAP_THRESHOLD_MAX = 32 << 20  # glibc's largest (64-bit): HEAP_MAX_SIZE / 2
_applied = None


def keep_freed_memory(trim_threshold: int = 64 << 20) -> bool:
    """Asks glibc to serve blocks up to 32 MB from its heap and to keep up to
    ``trim_threshold`` bytes of free heap instead of returning it to the kernel.

    Runs once per process (later calls return the first answer). Returns whether the
    setting is in force. Does nothing, and returns False, when the C library is not glibc,
    when ``NEUROPIL_KEEP_FREED_MEMORY=0``, or when the user already chose with glibc's own
    ``MALLOC_TRIM_THRESHOLD_`` / ``MALLOC_MMAP_THRESHOLD_`` environment variables.
    """
    global _applied
    if _applied is not None:
        return _applied
    _applied = False
    if (not sys.platform.startswith("linux")
            or os.environ.get("NEUROPIL_KEEP_FREED_MEMORY", "1") == "0"
            or "MALLOC_TRIM_THRESHOLD_" in os.environ or "MALLOC_MMAP_THRESHOLD_" in os.environ):
        return _applied
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt, gnu_version = libc.mallopt, libc.gnu_get_libc_version  # glibc only
    except (OSError, AttributeError):
        return _applied
    del gnu_version
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    _applied = bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_MAX)
                    and mallopt(_M_TRIM_THRESHOLD, int(trim_threshold)))
    return _applied
