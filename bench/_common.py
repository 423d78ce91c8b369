"""Shared by the benchmarks: thread limits, timing, import time, the printed table.

Standard library only at import time, so ``limit_threads`` can run before NumPy or torch is
imported (BLAS reads its thread count from the environment when it loads).
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the repository: bench/ measures this tree

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def limit_threads(threads: int) -> None:
    """Caps every BLAS / OpenMP pool at ``threads``. Call before importing numpy or torch."""
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def blas_threads() -> str:
    """What the BLAS pools really use, via threadpoolctl when it is installed."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed; limited through *_NUM_THREADS"
    return ", ".join(f"{p['internal_api']}={p['num_threads']}" for p in threadpool_info())


def interleaved_medians(runs: dict, repeats: int, warmup: int = 1) -> dict:
    """Median wall time (s) of each ``runs[name]()``, after ``warmup`` untimed rounds.

    The runs take turns within each round (A B C, A B C, ...), so a slow spell on the
    machine lands on every framework instead of on whichever happened to run then.
    """
    for _ in range(warmup):
        for run in runs.values():
            run()
    times: dict = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def import_time(module: str, repeats: int) -> float:
    """Median seconds of ``import module`` in a fresh interpreter (same thread limits)."""
    code = f"import time; t = time.perf_counter(); import {module}; " \
           "print(time.perf_counter() - t)"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT),
                                                                     os.environ.get("PYTHONPATH")])))
    times = [float(subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, check=True,
                                  capture_output=True, text=True).stdout)
             for _ in range(repeats)]
    return statistics.median(times)


def print_table(header: list, rows: list) -> None:
    """A plain fixed-width table: first column left-aligned, the rest right-aligned."""
    cells = [header] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    line = lambda row: "  ".join(c.ljust(w) if i == 0 else c.rjust(w)  # noqa: E731
                                 for i, (c, w) in enumerate(zip(row, widths)))
    print(line(cells[0]))
    print("  ".join("-" * w for w in widths))
    for row in cells[1:]:
        print(line(row))
