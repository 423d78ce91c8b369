"""Data-parallel scaling on this machine: LeNet-5 epoch time with 1 and 2 MPI ranks.

    python bench/bench_mpi.py [--samples 6000] [--batch-size 128]

Each rank runs on one thread (OMP/OpenBLAS limited to 1), so 2 ranks use both cores. Prints
the epoch time per rank count, the speed-up, the share of a step spent in the gradient
allreduce, and a paper estimate of scaling to 8 and 64 machines from the measured sizes.
Never asserts: this machine is shared and noisy.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def worker(samples: int, batch_size: int) -> None:
    import numpy as np

    import neuropil as keras
    from neuropil import distribution

    distribution.set_distribution(distribution.DataParallel())
    dist = distribution.distribution()
    allreduce_seconds = [0.0]
    original = dist.allreduce_gradients

    def timed(grads, share):
        start = time.perf_counter()
        out = original(grads, share)
        allreduce_seconds[0] += time.perf_counter() - start
        return out

    dist.allreduce_gradients = timed
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.random((samples, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, samples)
    model = keras.applications.LeNet5()
    model.compile(keras.optimizers.SGD(0.01, momentum=0.9), "sparse_categorical_crossentropy")
    model.fit(x[:batch_size * dist.num_processes], y[:batch_size * dist.num_processes],
              batch_size=batch_size, epochs=1, verbose=0)  # warm-up
    allreduce_seconds[0] = 0.0
    start = time.perf_counter()
    model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
    seconds = time.perf_counter() - start
    if dist.is_chief:
        gradient_bytes = sum(w.data.nbytes for w in model.trainable_weights)
        print(json.dumps({"ranks": dist.num_processes, "epoch_seconds": seconds,
                          "allreduce_seconds": allreduce_seconds[0],
                          "steps": -(-samples // batch_size),
                          "gradient_bytes": gradient_bytes}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=6000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.samples, args.batch_size)
        return
    mpiexec = shutil.which("mpiexec")
    if mpiexec is None:
        sys.exit('mpiexec not found: pip install "neuropil[mpi]"')
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONPATH=str(ROOT))
    results = []
    for ranks in (1, 2):
        out = subprocess.run([mpiexec, "-n", str(ranks), sys.executable, __file__, "--worker",
                              "--samples", str(args.samples), "--batch-size",
                              str(args.batch_size)], env=env, capture_output=True, text=True,
                             check=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    base = results[0]["epoch_seconds"]
    print(f"LeNet-5, {args.samples} samples, global batch {args.batch_size}, 1 thread per rank")
    print(f"{'ranks':>5} {'epoch s':>8} {'speed-up':>8} {'allreduce share':>16}")
    for r in results:
        print(f"{r['ranks']:>5} {r['epoch_seconds']:>8.2f} {base / r['epoch_seconds']:>8.2f} "
              f"{r['allreduce_seconds'] / r['epoch_seconds']:>15.1%}")
    two = results[1]
    step = two["epoch_seconds"] / two["steps"]
    size = two["gradient_bytes"]
    compute = step - two["allreduce_seconds"] / two["steps"]
    print(f"\nper step: {step * 1e3:.1f} ms with 2 ranks; gradients {size / 1e3:.0f} KB "
          "(one allreduce per step)")
    # Ring allreduce: 2(n-1)/n of the buffer crosses each link, in 2(n-1) latency-bound hops.
    for machines, bandwidth, latency in ((8, 10e9 / 8, 50e-6), (64, 10e9 / 8, 50e-6)):
        comm = 2 * (machines - 1) / machines * size / bandwidth + 2 * (machines - 1) * latency
        per_rank = compute * 2 / machines  # the same global batch split n ways
        print(f"estimate, {machines} machines on 10 Gb/s, 50 us latency: compute "
              f"{per_rank * 1e3:.2f} ms + allreduce {comm * 1e3:.2f} ms per step -> "
              f"speed-up {compute * 2 / (per_rank + comm):.1f}x over one machine "
              "(larger global batches scale better)")


if __name__ == "__main__":
    main()
