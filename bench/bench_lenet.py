"""neuropil against PyTorch on LeNet-5 (and LeNet-5 with batch norm + dropout), in one run.

    python bench/bench_lenet.py                    # 5120 samples, 7 repeats, 2 threads
    python bench/bench_lenet.py --variants plain --repeats 11
    python bench/bench_lenet.py --threads 1        # steadier on a small shared VM

Workloads, on synthetic 28×28×1 float32 images in [0, 1) with random labels:
  plain  ``keras.applications.LeNet5()`` as the course builds it: Conv2D(6, 5, 'same', relu),
         MaxPooling2D(2), Conv2D(16, 5, relu), MaxPooling2D(2), Flatten, Dense(120, relu),
         Dense(84, relu), Dense(10, softmax).
  bn     the same with BatchNormalization after each convolution's relu and Dropout(0.5)
         before the last Dense.
Both compile with Adam() (lr 1e-3, epsilon 1e-7) and sparse categorical cross-entropy. PyTorch
runs the same network on NCHW tensors (its native layout): nn.Conv2d(1, 6, 5, padding=2),
nn.MaxPool2d(2), ..., nn.BatchNorm2d(momentum=0.01, eps=1e-3) (Keras's 0.99 / 1e-3),
nn.Dropout(0.5), logits into F.cross_entropy, torch.optim.Adam(lr=1e-3, eps=1e-7), the
standard loop (zero_grad, forward, loss, backward, step).

Rows, per variant:
  train b128 fit   neuropil ``model.fit(x, y, batch_size=128, epochs=1, verbose=0)``, one
                   epoch of ``--samples``; torch: the standard loop over a shuffled epoch
  train b128 loop  neuropil ``train_on_batch`` over a shuffled epoch, by hand
  predict b1000    ``model.predict(x, batch_size=1000)``; torch: batches of 1000 under
                   ``torch.inference_mode()`` + softmax, concatenated to one array
Peak RSS: the high-water mark of each worker's resident memory (VmHWM, what
``getrusage().ru_maxrss`` reports in the child) after its setup (interpreter, framework,
data, model), after the training rounds, and after the predict rounds. Each variant runs in
its own pair of workers, so the peaks do not mix.

How it measures (see bench/_common.py): each framework in its own child process with the same
thread limit; the children take turns, one round each, a warm-up round first; a cell is the
median of the rounds. Before each group of rounds the script waits (up to ``--wait`` s) until
other processes use under 0.2 cores. ratio = neuropil speed / torch speed (> 1: neuropil
faster); "best" compares each side's fastest round. Nothing is asserted.
"""
from __future__ import annotations

import argparse
import math
import sys
import time

from _common import (Worker, blas_threads, limit_threads, median, noisy, print_table, serve,
                     take_turns, wait_for_idle_cores)

BATCH, INFER_BATCH = 128, 1000
VARIANTS = ("plain", "bn")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds per row (median)")
    parser.add_argument("--samples", type=int, default=5120,
                        help="synthetic samples; one timed training round = one epoch")
    parser.add_argument("--threads", type=int, default=2, help="BLAS/OpenMP threads for both")
    parser.add_argument("--variants", default="plain,bn",
                        help="comma-separated: plain (LeNet-5), bn (+ batch norm, dropout)")
    parser.add_argument("--wait", type=float, default=30,
                        help="seconds to wait, before each group, for other processes to idle")
    parser.add_argument("--worker", choices=("neuropil", "torch"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = set(args.variants) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variant(s) {sorted(unknown)}; choose from {VARIANTS}")
    return args


def synthetic_data(samples: int):
    import numpy as np
    rng = np.random.default_rng(0)
    return rng.random((samples, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, samples), rng


# ---- the two workers: build everything, then time one round per request ----------------
def neuropil_model(keras, variant: str):
    if variant == "plain":
        return keras.applications.LeNet5()
    layers = keras.layers
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(6, 5, padding="same", activation="relu"), layers.BatchNormalization(),
        layers.MaxPooling2D(2),
        layers.Conv2D(16, 5, activation="relu"), layers.BatchNormalization(),
        layers.MaxPooling2D(2),
        layers.Flatten(), layers.Dense(120, activation="relu"),
        layers.Dense(84, activation="relu"), layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ])


def neuropil_tasks(args, variant: str):
    import numpy as np

    import neuropil as keras

    x, y, rng = synthetic_data(args.samples)
    keras.utils.set_random_seed(0)
    model = neuropil_model(keras, variant)
    model.compile(optimizer=keras.optimizers.Adam(), loss="sparse_categorical_crossentropy")

    def loop():
        order = rng.permutation(args.samples)
        for start in range(0, args.samples, BATCH):
            index = order[start:start + BATCH]
            model.train_on_batch(x[index], y[index])

    tasks = {"fit": lambda: model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0),
             "loop": loop,
             "predict": lambda: model.predict(x, batch_size=INFER_BATCH, verbose=0)}
    info = f"neuropil {keras.__version__} ({keras.__file__}), numpy {np.__version__}, " \
           f"BLAS threads {blas_threads()}"
    return info, tasks


def torch_model(nn, variant: str):
    bn = variant == "bn"
    norm = (lambda c: [nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)]) if bn else (lambda c: [])
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), *norm(6), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), *norm(16), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
        *([nn.Dropout(0.5)] if bn else []), nn.Linear(84, 10))


def torch_tasks(args, variant: str):
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    x_np, y_np, _ = synthetic_data(args.samples)
    x = torch.from_numpy(x_np.transpose(0, 3, 1, 2).copy())  # NCHW, torch's own layout
    y = torch.from_numpy(y_np)
    torch.manual_seed(0)
    net = torch_model(torch.nn, variant)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)

    def loop():
        net.train()
        order = torch.randperm(args.samples)
        for start in range(0, args.samples, BATCH):
            index = order[start:start + BATCH]
            opt.zero_grad()
            loss = F.cross_entropy(net(x[index]), y[index])
            loss.backward()
            opt.step()

    def predict():
        net.eval()
        with torch.inference_mode():
            return torch.cat([torch.softmax(net(x[s:s + INFER_BATCH]), -1)
                              for s in range(0, args.samples, INFER_BATCH)]).numpy()

    info = f"torch {torch.__version__}, threads {torch.get_num_threads()}"
    return info, {"loop": loop, "predict": predict}


# ---- parent side ---------------------------------------------------------------------------
def peak_rss_mb(worker: Worker):
    """The worker's resident-memory high-water mark so far, in MB (Linux /proc), or None."""
    try:
        with open(f"/proc/{worker.process.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def measure(args, argv: list, variant: str) -> dict:
    """Both workers of one variant: training rounds, then predict rounds, peaks after each."""
    child_argv = argv + ["--variants", variant]
    result = {"busy": [], "rss": {}}
    mine = Worker(__file__, "neuropil", child_argv)
    theirs = Worker(__file__, "torch", child_argv)
    try:
        result["info"] = (mine.info, theirs.info)
        result["rss"]["setup"] = (peak_rss_mb(mine), peak_rss_mb(theirs))
        result["busy"].append(wait_for_idle_cores(args.wait))
        times = take_turns([(mine, ["fit", "loop"]), (theirs, ["loop"])], args.repeats)
        result["rss"]["train"] = (peak_rss_mb(mine), peak_rss_mb(theirs))
        result["busy"].append(wait_for_idle_cores(args.wait))
        times.update(take_turns([(mine, ["predict"]), (theirs, ["predict"])], args.repeats))
        result["rss"]["predict"] = (peak_rss_mb(mine), peak_rss_mb(theirs))
    finally:
        mine.close()
        theirs.close()
    result["times"] = times
    return result


def cell(times: list, items: int, steps: int) -> str:
    """Samples per second and ms per step from the median; "~" marks a noisy row."""
    seconds = median(times)
    return f"{items / seconds:,.0f}/s  {seconds / steps * 1e3:.2f} ms{'~' if noisy(times) else ' '}"


def report(args, results: dict) -> None:
    rows = []
    train_steps = math.ceil(args.samples / BATCH)
    infer_steps = math.ceil(args.samples / INFER_BATCH)
    for variant, result in results.items():
        times = result["times"]
        for label, task, torch_task, steps in (
                (f"train b{BATCH} fit", "fit", "loop", train_steps),
                (f"train b{BATCH} loop", "loop", "loop", train_steps),
                (f"predict b{INFER_BATCH}", "predict", "predict", infer_steps)):
            mine, theirs = times[("neuropil", task)], times[("torch", torch_task)]
            rows.append([f"{variant} {label}", cell(mine, args.samples, steps),
                         cell(theirs, args.samples, steps),
                         f"{median(theirs) / median(mine):.2f}",
                         f"{min(theirs) / min(mine):.2f}"])
    print_table(["workload", "neuropil", "torch", "ratio", "best"], rows)
    print("\ncells: samples per second, then ms per step (train: batch of 128, predict: batch "
          "of 1000), medians;\nratio = neuropil speed / torch speed (> 1: neuropil faster); "
          "best = the same from each side's fastest round;\n~ = that side's rounds differ by "
          "more than 25% (a slow spell on the machine: trust 'best', or run again).")

    def mb(value):
        return "n/a" if value is None else f"{value:.0f} MB"

    rss_rows = [[f"{variant} after {stage}", mb(ours), mb(theirs)]
                for variant, result in results.items()
                for stage, (ours, theirs) in result["rss"].items()]
    print("\npeak resident memory (VmHWM) of each worker process, cumulative:")
    print_table(["worker peak", "neuropil", "torch"], rss_rows)
    if {"plain", "bn"} <= results.keys():
        print("\nbn variant / plain variant, time per training step (issue 5):")
        for who, task in (("neuropil", "fit"), ("torch", "loop")):
            bn, plain = (median(results[v]["times"][(who, task)]) for v in ("bn", "plain"))
            print(f"  {who:<9} {bn / plain:.2f}x")
    busy = [b for r in results.values() for b in r["busy"]]
    print(f"\nother processes before each group of rounds: "
          f"{', '.join(f'{b:.2f}' for b in busy)} cores busy"
          + (" (noisy: compare ratios with care)" if max(busy) > 0.2 else ""))


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    limit_threads(args.threads)  # before NumPy and torch load their thread pools
    if args.worker:
        make = neuropil_tasks if args.worker == "neuropil" else torch_tasks
        serve(*make(args, args.variants[0]))
        return
    started = time.perf_counter()
    print(f"workload: LeNet-5 ({', '.join(args.variants)}), Adam(1e-3), sparse cross-entropy, "
          f"batch {BATCH}; {args.samples} random 28x28x1 samples; {args.threads} threads; "
          f"median of {args.repeats}")
    results = {}
    for variant in args.variants:
        results[variant] = measure(args, _without_variants(argv), variant)
    mine, theirs = next(iter(results.values()))["info"]
    print(f"{mine}\n{theirs}, Python {sys.version.split()[0]}\n")
    report(args, results)
    print(f"\nwhole run: {time.perf_counter() - started:.0f} s")


def _without_variants(argv: list) -> list:
    """argv minus ``--variants X`` / ``--variants=X`` (each worker gets its own)."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--variants":
            skip = True
        elif not a.startswith("--variants="):
            out.append(a)
    return out


if __name__ == "__main__":
    main()
