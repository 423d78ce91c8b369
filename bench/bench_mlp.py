"""neuropil against PyTorch on a 784-256-128-10 ReLU MLP, both measured in one run.

    python bench/bench_mlp.py                    # 20000 samples, 7 repeats, 2 threads, b128 + b32
    python bench/bench_mlp.py --samples 60000 --repeats 5 --batch-sizes 128
    python bench/bench_mlp.py --threads 1        # steadier on a small shared VM

Workload: Dense(256, relu) -> Dense(128, relu) -> Dense(10, softmax), SGD(0.01, momentum=0.9),
sparse categorical cross-entropy (``--loss categorical``: one-hot labels), random float32 inputs
in [0, 1), random labels. PyTorch runs the same network with the standard loop (zero_grad,
forward, F.cross_entropy on the logits, backward, step).

Each framework lives in its own child process with the same thread limit (in one process
their thread pools fight over the cores; see bench/_common.py). The children take turns: one
untimed warm-up round, then ``--repeats`` timed rounds, each side running one round of a
workload while the other waits. Each row is the median of the rounds.

Rows:
  train bN fit   neuropil ``model.fit(x, y, batch_size=N, epochs=1, verbose=0)``: one epoch
  train bN loop  neuropil ``model.train_on_batch`` over a shuffled epoch, by hand
                 (torch: the same standard loop in both rows)
  predict b1000  ``model.predict(x, batch_size=1000, verbose=0)`` over all samples; torch:
                 batches under ``torch.inference_mode()`` + softmax, concatenated to one array
  call b1000     ``model(x)`` on one batch of 1000 (a direct call records the autodiff graph);
                 "no_grad": the same inside ``neuropil.autodiff.no_grad()``
  import         ``import neuropil`` / ``import torch`` in a fresh interpreter

ratio = neuropil speed / torch speed: above 1 neuropil is faster. Nothing is asserted.
"""
from __future__ import annotations

import argparse
import math
import sys
import time

from _common import (Worker, blas_threads, import_time, limit_threads, median, noisy,
                     print_table, serve, take_turns)

INFER_BATCH = 1000
CALLS = 20  # one b1000 call takes milliseconds: each timed round makes this many


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds per row (median)")
    parser.add_argument("--samples", type=int, default=20000,
                        help="synthetic training samples; one timed round = one epoch")
    parser.add_argument("--threads", type=int, default=2, help="BLAS/OpenMP threads for both")
    parser.add_argument("--batch-sizes", default="128,32",
                        help="training batch sizes, comma-separated (default 128,32)")
    parser.add_argument("--loss", choices=("sparse", "categorical"), default="sparse",
                        help="integer labels (default) or one-hot labels")
    parser.add_argument("--accuracy", action="store_true",
                        help='compile neuropil with metrics=["accuracy"] (torch computes none)')
    parser.add_argument("--import-repeats", type=int, default=5,
                        help="fresh interpreters per import time (0 skips the import row)")
    parser.add_argument("--worker", choices=("neuropil", "torch"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.batch_sizes = [int(b) for b in args.batch_sizes.split(",") if b.strip()]
    return args


def synthetic_data(args):
    import numpy as np
    rng = np.random.default_rng(0)
    x = rng.random((args.samples, 784), dtype=np.float32)
    labels = rng.integers(0, 10, args.samples)
    return x, (labels if args.loss == "sparse" else np.eye(10, dtype=np.float32)[labels]), rng


# ---- the two workers: build everything, then time one round per request ----------------
def neuropil_tasks(args):
    import numpy as np

    import neuropil as keras
    from neuropil.autodiff import no_grad

    x, y, rng = synthetic_data(args)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input(shape=(784,)),
        keras.layers.Dense(256, activation="relu"),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01, momentum=0.9),
                  loss=("sparse_" if args.loss == "sparse" else "") + "categorical_crossentropy",
                  metrics=["accuracy"] if args.accuracy else None)

    def fit(batch):
        return lambda: model.fit(x, y, batch_size=batch, epochs=1, verbose=0)

    def loop(batch):
        def run():
            order = rng.permutation(args.samples)
            for start in range(0, args.samples, batch):
                index = order[start:start + batch]
                model.train_on_batch(x[index], y[index])
        return run

    x1000 = x[:INFER_BATCH]

    def call():  # each output (and the graph it holds) is dropped before the next call
        for _ in range(CALLS):
            model(x1000)

    def call_no_grad():
        with no_grad():
            for _ in range(CALLS):
                model(x1000)

    tasks = {"predict": lambda: model.predict(x, batch_size=INFER_BATCH, verbose=0),
             "call": call, "call_no_grad": call_no_grad}
    for batch in args.batch_sizes:
        tasks[f"fit{batch}"], tasks[f"loop{batch}"] = fit(batch), loop(batch)
    info = f"neuropil {keras.__version__} ({keras.__file__}), numpy {np.__version__}, " \
           f"BLAS threads {blas_threads()}"
    return info, tasks


def torch_tasks(args):
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    x_np, y_np, _ = synthetic_data(args)
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                              torch.nn.Linear(256, 128), torch.nn.ReLU(),
                              torch.nn.Linear(128, 10))
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)

    def loop(batch):
        def run():
            order = torch.randperm(args.samples)
            for start in range(0, args.samples, batch):
                index = order[start:start + batch]
                opt.zero_grad()
                loss = F.cross_entropy(net(x[index]), y[index])
                loss.backward()
                opt.step()
        return run

    def predict():
        with torch.inference_mode():
            return torch.cat([torch.softmax(net(x[s:s + INFER_BATCH]), -1)
                              for s in range(0, args.samples, INFER_BATCH)]).numpy()

    x1000 = x[:INFER_BATCH]

    def call():
        with torch.inference_mode():
            for _ in range(CALLS):
                torch.softmax(net(x1000), -1)

    tasks = {"predict": predict, "call": call}
    for batch in args.batch_sizes:
        tasks[f"loop{batch}"] = loop(batch)
    return f"torch {torch.__version__}, threads {torch.get_num_threads()}", tasks


def measure(args, argv: list) -> tuple:
    """Starts both workers and runs the rounds, workload group by workload group."""
    mine, theirs = Worker(__file__, "neuropil", argv), Worker(__file__, "torch", argv)
    try:
        times = {}
        for batch in args.batch_sizes:
            times.update(take_turns([(mine, [f"fit{batch}", f"loop{batch}"]),
                                     (theirs, [f"loop{batch}"])], args.repeats))
        times.update(take_turns([(mine, ["predict", "call", "call_no_grad"]),
                                 (theirs, ["predict", "call"])], args.repeats))
    finally:
        mine.close()
        theirs.close()
    return mine.info, theirs.info, times


# ---- the report ----------------------------------------------------------------------
def cell(times: list, items: int, steps: int) -> str:
    """Samples per second and ms per step from the median; "~" marks a noisy row."""
    seconds = median(times)
    mark = "~" if noisy(times) else " "
    return f"{items / seconds:,.0f}/s  {seconds / steps * 1e3:.3f} ms{mark}"


def ratio(mine: list, theirs: list) -> list:
    """Median over median, then fastest over fastest (the latter shrugs off slow spells)."""
    return [f"{median(theirs) / median(mine):.2f}", f"{min(theirs) / min(mine):.2f}"]


def report(args, times: dict) -> None:
    def row(label, task, torch_task, items, steps):
        mine, theirs = times[("neuropil", task)], times[("torch", torch_task)]
        return [label, cell(mine, items, steps), cell(theirs, items, steps),
                *ratio(mine, theirs)]

    rows, step_ms = [], {}
    for batch in args.batch_sizes:
        steps = math.ceil(args.samples / batch)
        for name in ("fit", "loop"):
            rows.append(row(f"train b{batch} {name}", f"{name}{batch}", f"loop{batch}",
                            args.samples, steps))
        step_ms[batch] = {key: median(times[(who, f"{task}{batch}")]) / steps * 1e3
                          for key, who, task in (("fit", "neuropil", "fit"),
                                                 ("loop", "neuropil", "loop"),
                                                 ("torch", "torch", "loop"))}
    rows.append(row("predict b1000", "predict", "predict", args.samples,
                    math.ceil(args.samples / INFER_BATCH)))
    rows.append(row("call b1000 model(x)", "call", "call", INFER_BATCH * CALLS, CALLS))
    rows.append(row("call b1000 no_grad", "call_no_grad", "call", INFER_BATCH * CALLS, CALLS))
    if args.import_repeats > 0:
        a, b = (import_time(m, args.import_repeats) for m in ("neuropil", "torch"))
        if isinstance(a, float) and isinstance(b, float):
            rows.append([f"import (fresh process, median of {args.import_repeats})",
                         f"{a * 1e3:.0f} ms ", f"{b * 1e3:.0f} ms ", f"{b / a:.2f}", ""])
        else:
            print(f"import time not measured: {a if isinstance(a, str) else b}\n")

    print_table(["workload", "neuropil", "torch", "ratio", "best"], rows)
    print("\ncells: samples per second, then ms per step (train) or per batch of 1000 "
          "(predict, call), medians;\nratio = neuropil speed / torch speed (> 1: neuropil "
          "faster); best = the same from each side's fastest round;\n~ = that side's rounds "
          "differ by more than 25% (a slow spell on the machine: trust 'best', or run again).")
    if 32 in step_ms and 128 in step_ms:  # ms/step = fixed + per-sample * batch, two points
        print("\nfixed cost per step (intercept of ms/step against batch size, b32 and b128):")
        for key, label in (("fit", "neuropil fit"), ("loop", "neuropil train_on_batch"),
                           ("torch", "torch loop")):
            per_sample = (step_ms[128][key] - step_ms[32][key]) / (128 - 32)
            fixed = step_ms[32][key] - 32 * per_sample
            print(f"  {label:<24} {fixed:6.3f} ms + {per_sample * 1e3:5.2f} us/sample")


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    limit_threads(args.threads)  # before NumPy and torch load their thread pools
    if args.worker:
        serve(*(neuropil_tasks if args.worker == "neuropil" else torch_tasks)(args))
        return
    started = time.perf_counter()
    print(f"workload: 784-256-128-10 relu MLP, softmax output, SGD(0.01, momentum=0.9), "
          f"{args.loss} cross-entropy; {args.samples} random samples; {args.threads} threads; "
          f"median of {args.repeats}; neuropil metrics: "
          f"{'accuracy' if args.accuracy else 'none'}")
    mine, theirs, times = measure(args, argv)
    print(f"{mine}\n{theirs}, Python {sys.version.split()[0]}\n")
    report(args, times)
    print(f"\nwhole run: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
