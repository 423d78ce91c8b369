"""What on-the-fly augmentation costs next to the training step it feeds, in one run.

    python bench/bench_augment.py                 # 9 rounds, 2 threads
    python bench/bench_augment.py --threads 1 --repeats 15

Workloads (float32, random 28×28×1 images in [0, 1], batch 128 by default):
  flip / rotation / zoom   RandomFlip(), RandomRotation(0.1), RandomZoom(0.1) alone, each
                           called with training=True (new random parameters every call)
  augmentation             the three in a row, as they sit in front of a model
  lenet-5 step             keras.applications.LeNet5() compiled with adam and sparse
                           categorical cross-entropy: one train_on_batch on 128 images
The augmentation rows are printed as a percentage of the LeNet-5 step (goal: the three
together under 20%). Rounds alternate between the workloads, so a slow spell on a shared
machine hits all of them; each row is the median over rounds of ms per call (each round
repeats a call for about 50 ms). Nothing is asserted.
"""
from __future__ import annotations

import argparse
import time

from _common import blas_threads, limit_threads, median, noisy, print_table, wait_for_idle_cores


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=9, help="timed rounds (median)")
    parser.add_argument("--threads", type=int, default=2, help="BLAS/OpenMP threads")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--wait", type=float, default=30,
                        help="seconds to wait, first, for other processes to idle")
    return parser.parse_args(argv)


def time_round(run, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        run()
    return (time.perf_counter() - start) / calls


def main(argv=None) -> None:
    args = parse_args(argv)
    limit_threads(args.threads)
    import numpy as np

    import neuropil as keras

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (args.batch_size, 28, 28, 1)).astype("float32")
    y = rng.integers(0, 10, args.batch_size)

    flip = keras.layers.RandomFlip()
    rotation = keras.layers.RandomRotation(0.1)
    zoom = keras.layers.RandomZoom(0.1)

    def augment():
        return zoom(rotation(flip(x, training=True), training=True), training=True)

    lenet = keras.applications.LeNet5()
    lenet.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    tasks = {
        "flip": lambda: flip(x, training=True),
        "rotation": lambda: rotation(x, training=True),
        "zoom": lambda: zoom(x, training=True),
        "augmentation": augment,
        "lenet-5 step": lambda: lenet.train_on_batch(x, y),
    }
    calls = {}
    for name, run in tasks.items():  # warm up, and size each round to ~50 ms
        start = time.perf_counter()
        run()
        calls[name] = max(1, int(0.05 / max(time.perf_counter() - start, 1e-6)))

    busy = wait_for_idle_cores(args.wait)
    times = {name: [] for name in tasks}
    for _ in range(args.repeats):
        for name, run in tasks.items():
            times[name].append(time_round(run, calls[name]))

    step, best_step = median(times["lenet-5 step"]), min(times["lenet-5 step"])
    rows = []
    for name, values in times.items():
        shares = ["", ""] if name == "lenet-5 step" else [
            f"{100 * median(values) / step:.1f}%", f"{100 * min(values) / best_step:.1f}%"]
        rows.append([name + (" ~" if noisy(values) else ""), f"{1e3 * median(values):.2f}",
                     f"{1e3 * min(values):.2f}", *shares])
    print(f"batch {args.batch_size} x 28 x 28 x 1, float32; {args.threads} thread(s): "
          f"{blas_threads()}; other processes used {busy:.1f} cores before the run")
    print_table(["workload", "ms (median)", "ms (best)", "% of step (median)",
                 "% (best)"], rows)
    share = 100 * median(times["augmentation"]) / step
    best_share = 100 * min(times["augmentation"]) / best_step
    verdict = "under" if max(share, best_share) < 20 else "over"
    print(f"\nRandomFlip + RandomRotation(0.1) + RandomZoom(0.1): {share:.1f}% of one LeNet-5 "
          f"training step by medians, {best_share:.1f}% by best rounds ({verdict} the 20% "
          "goal).\n'~': rounds more than 25% apart; on a busy machine trust the best rounds.")


if __name__ == "__main__":
    main()
