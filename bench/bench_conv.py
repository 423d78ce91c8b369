"""neuropil's conv2d and max_pool2d against PyTorch CPU, both measured in one run.

    python bench/bench_conv.py                  # 9 repeats, 2 threads
    python bench/bench_conv.py --repeats 15 --threads 1

Workloads (float32, random inputs; the op alone, no bias or activation):
  lenet conv1   (128, 28, 28, 1) -> 6 filters 5x5 'same'. It is a first layer, so backward
                computes the kernel gradient only (the input is data), in both frameworks.
  lenet conv2   (128, 14, 14, 6) -> 16 filters 5x5 'valid'; backward: kernel and input.
  big conv      (64, 32, 32, 32) -> 64 filters 3x3 'same'; backward: kernel and input.
  pool          2x2 max pooling of each conv's output size: (128, 28, 28, 6),
                (128, 10, 10, 16), (64, 32, 32, 64).
Rows: "fwd" is inference (``no_grad`` / ``torch.no_grad``), "fwd+bwd" records the graph and
runs backward with a fixed random output gradient. torch gets NCHW tensors, its own layout.

Each framework runs in its own child process with the same thread limit: in one process
torch's OpenMP workers and OpenBLAS's threads spin against each other on the same cores.
Within a process a row's time is the median of ``--repeats`` rounds after a warm-up round;
each round makes enough calls to last ~20 ms; the table shows ms per call. The two workers
take turns ``--runs`` times (neuropil, torch, neuropil, ...) and each row keeps its best
(lowest) median over the runs: on a shared machine another process's burst can slow a whole
run 2-10x (2-thread OpenBLAS GEMMs stall in 4 ms scheduler ticks when a core is taken), and
the best run is the closest to the uncontended speed. Before each run the script waits (up
to ``--wait`` s) until other processes use under 0.2 cores, and prints what they used.
ratio = torch time / neuropil time: above 1 neuropil is faster. Nothing is asserted.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from _common import blas_threads, limit_threads, median, print_table, wait_for_idle_cores

# name, x shape (NHWC), kernel (kh, kw, out), padding, whether the input wants a gradient
CONVS = [
    ("lenet conv1", (128, 28, 28, 1), (5, 5, 6), "same", False),
    ("lenet conv2", (128, 14, 14, 6), (5, 5, 16), "valid", True),
    ("big conv", (64, 32, 32, 32), (3, 3, 64), "same", True),
]
POOLS = [("lenet pool1", (128, 28, 28, 6)), ("lenet pool2", (128, 10, 10, 16)),
         ("big pool", (64, 32, 32, 64))]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=9, help="timed rounds per row (median)")
    parser.add_argument("--threads", type=int, default=2, help="BLAS/OpenMP threads for both")
    parser.add_argument("--runs", type=int, default=3,
                        help="child processes per framework, alternating; best median kept")
    parser.add_argument("--wait", type=float, default=60,
                        help="seconds to wait, before each run, for other processes to idle")
    parser.add_argument("--worker", choices=("neuropil", "torch"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def time_per_call(run, repeats: int) -> float:
    """Median seconds per call of ``run()``; each round repeats it for about 20 ms."""
    start = time.perf_counter()
    run()  # warm-up, and a first estimate of how many calls fill a round
    calls = max(1, int(0.02 / max(time.perf_counter() - start, 1e-6)))
    rounds = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            run()
        rounds.append((time.perf_counter() - start) / calls)
    return median(rounds)


def workloads(np, rng):
    """(row name, x, kernel or pool size, padding, input wants grad) for both workers."""
    for name, x_shape, (kh, kw, out), padding, input_grad in CONVS:
        x = rng.standard_normal(x_shape, dtype=np.float32)
        kernel = rng.standard_normal((kh, kw, x_shape[-1], out), dtype=np.float32) * 0.1
        yield "conv", name, x, kernel, padding, input_grad
    for name, x_shape in POOLS:
        yield "pool", name, rng.standard_normal(x_shape, dtype=np.float32), 2, "valid", True


# ---- the two workers: each prints one JSON line of seconds per call ------------------------
def neuropil_worker(args) -> dict:
    import numpy as np

    from neuropil import ops
    from neuropil.autodiff import Tensor, no_grad

    result = {"info": f"numpy {np.__version__}, BLAS threads: {blas_threads()}"}
    for kind, name, x, w, padding, input_grad in workloads(np, np.random.default_rng(0)):
        if kind == "conv":
            fn = lambda a, k, p=padding: ops.conv2d(a, k, padding=p)  # noqa: E731
            params = [Tensor(w, requires_grad=True)]
        else:
            fn = lambda a, size=w: ops.max_pool2d(a, size)  # noqa: E731
            params = []
        with no_grad():
            out_shape = fn(Tensor(x), *params).shape
        grad = np.random.default_rng(1).standard_normal(out_shape, dtype=np.float32)

        def forward():
            with no_grad():
                fn(Tensor(x), *params)

        def train():
            fn(Tensor(x, requires_grad=input_grad), *params).backward(grad)
            for p in params:
                p.grad = None

        result[name] = {"fwd": time_per_call(forward, args.repeats),
                        "fwd+bwd": time_per_call(train, args.repeats)}
    return result


def torch_worker(args) -> dict:
    import numpy as np
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    result = {"info": f"torch {torch.__version__}, threads {torch.get_num_threads()}"}
    for kind, name, x, w, padding, input_grad in workloads(np, np.random.default_rng(0)):
        x = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())
        if kind == "conv":
            pad = w.shape[0] // 2 if padding == "same" else 0  # odd kernels: symmetric
            fn = lambda a, k, p=pad: F.conv2d(a, k, padding=p)  # noqa: E731
            params = [torch.from_numpy(w.transpose(3, 2, 0, 1).copy()).requires_grad_()]
        else:
            fn = lambda a, size=w: F.max_pool2d(a, size)  # noqa: E731
            params = []
        with torch.no_grad():
            grad = torch.from_numpy(np.random.default_rng(1).standard_normal(
                fn(x, *params).shape, dtype=np.float32))

        def forward():
            with torch.no_grad():
                fn(x, *params)

        def train():
            fn(x.detach().requires_grad_(input_grad), *params).backward(grad)
            for p in params:
                p.grad = None

        result[name] = {"fwd": time_per_call(forward, args.repeats),
                        "fwd+bwd": time_per_call(train, args.repeats)}
    return result


def run_worker(name: str, argv: list) -> dict:
    out = subprocess.run([sys.executable, __file__, "--worker", name] + argv, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    limit_threads(args.threads)  # before NumPy and torch load their thread pools
    if args.worker:
        worker = neuropil_worker if args.worker == "neuropil" else torch_worker
        print(json.dumps(worker(args)))
        return
    runs, busy = {"neuropil": [], "torch": []}, []
    for _ in range(args.runs):
        for name in runs:
            busy.append(wait_for_idle_cores(args.wait))
            runs[name].append(run_worker(name, argv))
    mine, theirs = runs["neuropil"][0], runs["torch"][0]
    print(f"{mine['info']}\n{theirs['info']}, Python {sys.version.split()[0]}; "
          f"{args.threads} threads; per row the best of {args.runs} runs' medians of "
          f"{args.repeats}\n")
    best = lambda name, row, step: min(r[row][step] for r in runs[name])  # noqa: E731
    rows = []
    for name in [c[0] for c in CONVS] + [p[0] for p in POOLS]:
        for step in ("fwd", "fwd+bwd"):
            ours, torch_s = best("neuropil", name, step), best("torch", name, step)
            rows.append([f"{name} {step}", f"{ours * 1e3:.2f}", f"{torch_s * 1e3:.2f}",
                         f"{torch_s / ours:.2f}"])
    print_table(["workload", "neuropil ms", "torch ms", "ratio"], rows)
    print("\nratio = torch time / neuropil time (> 1: neuropil faster).")
    print(f"other processes, when each run started: {', '.join(f'{b:.2f}' for b in busy)} "
          "cores busy" + (" (noisy: compare ratios with care)" if max(busy) > 0.2 else ""))


if __name__ == "__main__":
    main()
