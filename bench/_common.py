"""Shared by the benchmarks: thread limits, framework workers that take turns, the table.

Each framework runs in its own child process: in one process, torch's OpenMP workers and
NumPy's OpenBLAS workers spin-wait after each parallel region and steal each other's cores.
The parent asks the children, one at a time, to run one timed round of a workload, so a slow
spell on the machine is shared by both frameworks instead of landing on one of them.

Standard library only at import time, so ``limit_threads`` can run before NumPy or torch is
imported (BLAS reads its thread count from the environment when it loads).
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the repository: bench/ measures this tree

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
HANDOFF_PAUSE = 0.2  # s between turns: long enough for the idle side's spinning threads to sleep


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
        return "limited through *_NUM_THREADS (threadpoolctl not installed)"
    return ", ".join(f"{p['internal_api']}={p['num_threads']}" for p in threadpool_info())


# ---- worker side -------------------------------------------------------------------------
def serve(info: str, tasks: dict) -> None:
    """The child's loop: announce ``info``, then time ``tasks[name]()`` once per name read."""
    reply = sys.stdout
    sys.stdout = sys.stderr  # nothing a library prints can break the protocol
    print(json.dumps(info), file=reply, flush=True)
    for line in sys.stdin:
        run = tasks[line.strip()]
        start = time.perf_counter()
        run()
        print(json.dumps(time.perf_counter() - start), file=reply, flush=True)


# ---- parent side -------------------------------------------------------------------------
def wait_for_idle_cores(limit_s: float, busy_cores: float = 0.2) -> float:
    """Waits (up to ``limit_s``) until other processes use under ``busy_cores`` cores,
    measured over 0.5 s from /proc/stat; returns the cores they used last (Linux only)."""
    def jiffies():
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:]]
        return sum(values), values[3] + values[4]  # total, idle + iowait

    deadline, busy = time.monotonic() + limit_s, 0.0
    try:
        while True:
            (total0, idle0), _ = jiffies(), time.sleep(0.5)
            total1, idle1 = jiffies()
            busy = (1 - (idle1 - idle0) / max(total1 - total0, 1)) * (os.cpu_count() or 1)
            if busy < busy_cores or time.monotonic() > deadline:
                return busy
    except OSError:
        return busy


class Worker:
    """A child process running ``script --worker name`` and answering one round per request."""

    def __init__(self, script: str, name: str, argv: list):
        self.name = name
        self.process = subprocess.Popen([sys.executable, script, "--worker", name] + argv,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True, bufsize=1)
        self.info = self._read()

    def _read(self):
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.name} worker exited early (see its error above)")
        return json.loads(line)

    def time(self, task: str) -> float:
        self.process.stdin.write(task + "\n")
        return self._read()

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait()


def take_turns(plan: list, repeats: int, warmup: int = 1) -> dict:
    """Times of ``plan = [(worker, [task, ...]), ...]``: each round runs every worker's tasks,
    workers in turn (the first worker alternates between rounds), ``warmup`` rounds untimed.

    Returns ``{(worker name, task): [seconds, ...]}``.
    """
    times: dict = {(w.name, t): [] for w, tasks in plan for t in tasks}
    for round_ in range(warmup + repeats):
        order = plan if round_ % 2 == 0 else plan[::-1]
        for worker, tasks in order:
            time.sleep(HANDOFF_PAUSE)
            for task in tasks:
                seconds = worker.time(task)
                if round_ >= warmup:
                    times[(worker.name, task)].append(seconds)
    return times


def median(values: list) -> float:
    return statistics.median(values)


def noisy(values: list, tolerance: float = 1.25) -> bool:
    """True when the slowest repeat took ``tolerance`` times the fastest or longer."""
    return max(values) > tolerance * min(values)


def import_time(module: str, repeats: int):
    """Median seconds of ``import module`` in a fresh interpreter (same thread limits), or the
    last line of its error when the import fails."""
    code = f"import time; t = time.perf_counter(); import {module}; " \
           "print(time.perf_counter() - t)"
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    times = []
    for _ in range(repeats):
        done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                              text=True, env=dict(os.environ, PYTHONPATH=path))
        if done.returncode:
            return (done.stderr.strip().splitlines() or ["import failed"])[-1]
        times.append(float(done.stdout))
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
