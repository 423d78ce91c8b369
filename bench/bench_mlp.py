"""neuropil against PyTorch on a 784-256-128-10 ReLU MLP, measured side by side in one run.

    python bench/bench_mlp.py                     # defaults: 60000 samples, 5 repeats, 2 threads
    python bench/bench_mlp.py --samples 20000 --repeats 3 --batch-sizes 128

Workload: Dense(256, relu) -> Dense(128, relu) -> Dense(10, softmax), SGD(0.01, momentum=0.9),
sparse categorical cross-entropy (``--loss categorical`` for one-hot labels), random float32
inputs in [0, 1) and random labels. PyTorch runs the same network with the standard loop
(zero_grad, forward, F.cross_entropy on logits, backward, step).

Rows (each the median of ``--repeats`` timed rounds after one untimed warm-up round; within a
round the frameworks take turns):
  train bN fit   neuropil ``model.fit(x, y, batch_size=N, epochs=1, verbose=0)``, one epoch
  train bN loop  neuropil ``model.train_on_batch`` over a shuffled epoch, by hand
                 (torch: the same standard loop in both rows)
  predict b1000  ``model.predict(x, batch_size=1000)`` over all samples; torch batches under
                 ``torch.inference_mode()`` with softmax, concatenated to one array
  call b1000     ``model(x)`` on one batch of 1000 (neuropil records the autodiff graph, as a
                 direct call does); "no_grad" runs it inside ``neuropil.autodiff.no_grad()``
  import         ``import neuropil`` / ``import torch`` in a fresh interpreter

ratio = neuropil speed / torch speed: above 1 neuropil is faster. Nothing is asserted.
"""
from __future__ import annotations

import argparse
import math
import platform
import sys
import time

from _common import blas_threads, import_time, interleaved_medians, limit_threads, print_table


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds per row (median)")
    parser.add_argument("--samples", type=int, default=60000,
                        help="synthetic training samples; one timed round = one epoch")
    parser.add_argument("--threads", type=int, default=2, help="BLAS/OpenMP threads for both")
    parser.add_argument("--batch-sizes", default="128,32",
                        help="training batch sizes, comma-separated (default 128,32)")
    parser.add_argument("--loss", choices=("sparse", "categorical"), default="sparse",
                        help="integer labels (default) or one-hot labels")
    parser.add_argument("--accuracy", action="store_true",
                        help='compile neuropil with metrics=["accuracy"] (torch computes none)')
    parser.add_argument("--import-repeats", type=int, default=5,
                        help="fresh interpreters per import time (0 skips the import rows)")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    limit_threads(args.threads)  # before NumPy and torch load their thread pools
    import numpy as np
    import torch
    import torch.nn.functional as F

    import neuropil as keras
    from neuropil.autodiff import no_grad

    torch.set_num_threads(args.threads)
    batch_sizes = [int(b) for b in args.batch_sizes.split(",") if b.strip()]
    started = time.perf_counter()

    print(f"neuropil {keras.__version__} ({keras.__file__})")
    print(f"torch {torch.__version__}, numpy {np.__version__}, Python {platform.python_version()}"
          f", {platform.machine()}")
    print(f"threads: torch={torch.get_num_threads()}, BLAS: {blas_threads()}")
    print(f"workload: 784-256-128-10 relu MLP, softmax output, SGD(0.01, momentum=0.9), "
          f"{args.loss} cross-entropy, {args.samples} samples, median of {args.repeats}, "
          f"neuropil metrics: {'accuracy' if args.accuracy else 'none'}\n")

    rng = np.random.default_rng(0)
    x = rng.random((args.samples, 784), dtype=np.float32)
    labels = rng.integers(0, 10, args.samples)
    y_np = labels if args.loss == "sparse" else np.eye(10, dtype=np.float32)[labels]
    x_t, y_t = torch.from_numpy(x), torch.from_numpy(y_np)

    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input(shape=(784,)),
        keras.layers.Dense(256, activation="relu"),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01, momentum=0.9),
                  loss=f"{'sparse_' if args.loss == 'sparse' else ''}categorical_crossentropy",
                  metrics=["accuracy"] if args.accuracy else None)

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                              torch.nn.Linear(256, 128), torch.nn.ReLU(),
                              torch.nn.Linear(128, 10))
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)

    def neuropil_fit(batch):
        return lambda: model.fit(x, y_np, batch_size=batch, epochs=1, verbose=0)

    def neuropil_loop(batch):
        def run():
            order = rng.permutation(args.samples)
            for start in range(0, args.samples, batch):
                index = order[start:start + batch]
                model.train_on_batch(x[index], y_np[index])
        return run

    def torch_loop(batch):
        def run():
            order = torch.randperm(args.samples)
            for start in range(0, args.samples, batch):
                index = order[start:start + batch]
                xb, yb = x_t[index], y_t[index]
                opt.zero_grad()
                loss = F.cross_entropy(net(xb), yb)
                loss.backward()
                opt.step()
        return run

    rows, step_ms = [], {}

    def cell(seconds, items, steps):
        return f"{items / seconds:,.0f}/s  {seconds / steps * 1e3:.3f} ms"

    for batch in batch_sizes:
        steps = math.ceil(args.samples / batch)
        t = interleaved_medians({"fit": neuropil_fit(batch), "loop": neuropil_loop(batch),
                                 "torch": torch_loop(batch)}, args.repeats)
        for name in ("fit", "loop"):
            rows.append([f"train b{batch} {name}", cell(t[name], args.samples, steps),
                         cell(t["torch"], args.samples, steps), f"{t['torch'] / t[name]:.2f}"])
        step_ms[batch] = {k: v / steps * 1e3 for k, v in t.items()}

    infer_batch = 1000
    steps = math.ceil(args.samples / infer_batch)
    x1000, x1000_t = x[:infer_batch], x_t[:infer_batch]

    def torch_predict():
        with torch.inference_mode():
            return torch.cat([torch.softmax(net(x_t[s:s + infer_batch]), -1)
                              for s in range(0, args.samples, infer_batch)]).numpy()

    def torch_call():
        with torch.inference_mode():
            return torch.softmax(net(x1000_t), -1)

    def neuropil_call_no_grad():
        with no_grad():
            return model(x1000)

    calls = 20  # one batch is ~ms: time 20 calls per round
    repeat = lambda f: (lambda: [f() for _ in range(calls)])  # noqa: E731
    t = interleaved_medians({
        "predict": lambda: model.predict(x, batch_size=infer_batch, verbose=0),
        "torch_predict": torch_predict,
        "call": repeat(lambda: model(x1000)),
        "call_no_grad": repeat(neuropil_call_no_grad),
        "torch_call": repeat(torch_call),
    }, args.repeats)
    rows.append(["predict b1000", cell(t["predict"], args.samples, steps),
                 cell(t["torch_predict"], args.samples, steps),
                 f"{t['torch_predict'] / t['predict']:.2f}"])
    for name, label in (("call", "call b1000 model(x)"), ("call_no_grad", "call b1000 no_grad")):
        rows.append([label, cell(t[name], infer_batch * calls, calls),
                     cell(t["torch_call"], infer_batch * calls, calls),
                     f"{t['torch_call'] / t[name]:.2f}"])

    if args.import_repeats > 0:
        mine, theirs = import_time("neuropil", args.import_repeats), \
            import_time("torch", args.import_repeats)
        rows.append([f"import (fresh process, median of {args.import_repeats})",
                     f"{mine * 1e3:.0f} ms", f"{theirs * 1e3:.0f} ms", f"{theirs / mine:.2f}"])

    print_table(["workload", "neuropil", "torch", "ratio"], rows)
    print("\ncells: samples per second, then ms per step (train) or per batch (predict, call);"
          "\nratio = neuropil speed / torch speed (> 1: neuropil faster).")

    if 32 in step_ms and 128 in step_ms:  # ms/step = fixed + per-sample * batch, two points
        print("\nfixed cost per step (intercept of ms/step against batch size, b32 and b128):")
        for key, label in (("fit", "neuropil fit"), ("loop", "neuropil train_on_batch"),
                           ("torch", "torch loop")):
            per_sample = (step_ms[128][key] - step_ms[32][key]) / (128 - 32)
            fixed = step_ms[32][key] - 32 * per_sample
            print(f"  {label:<24} {fixed:6.3f} ms + {per_sample * 1e3:6.2f} us/sample")
    print(f"\nwhole run: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
