"""neuropil's BatchNormalization and LayerNormalization against PyTorch CPU, in one run.

    python bench/bench_norm.py                   # 9 repeats, 2 threads
    python bench/bench_norm.py --repeats 15 --threads 1
    NEUROPIL_DISABLE_NUMBA=1 python bench/bench_norm.py   # batch norm's NumPy path

Workloads (float32, random inputs, the layer alone):
  bn lenet1   BatchNormalization on (128, 28, 28, 6): the output of LeNet's first conv
  bn lenet2   BatchNormalization on (128, 10, 10, 16): the output of LeNet's second conv
  bn resnet1  BatchNormalization on (128, 32, 32, 16): ResNet-20's first stage (CIFAR-10)
  bn resnet2  BatchNormalization on (128, 16, 16, 32): ResNet-20's second stage
  bn resnet3  BatchNormalization on (128, 8, 8, 64): ResNet-20's third stage
  ln mlp      LayerNormalization on (128, 256)
Rows: "train fwd+bwd" calls the layer with ``training=True`` (batch statistics, moving
averages updated) and runs backward with a fixed random output gradient to the input, gamma
and beta; "infer fwd" is ``training=False`` under ``no_grad`` (moving statistics).
torch runs ``nn.BatchNorm2d`` (train() / eval()) on NCHW tensors, its own layout, with the
same momentum and epsilon; ``nn.LayerNorm`` for the last row.

Each framework lives in its own child process with the same thread limit; the two take
turns round by round (see bench/_common.py). Each round repeats a workload for ~20 ms;
a cell is the median of the rounds in ms per call. ratio = torch time / neuropil time:
above 1 neuropil is faster. Nothing is asserted.

``--no-trim`` starts both workers with glibc's MALLOC_TRIM_THRESHOLD_ and
MALLOC_MMAP_THRESHOLD_ raised to 256 MB. By default glibc hands a freed multi-megabyte block
back to the kernel, and the next step's arrays page-fault their memory in again; on this kind
of VM that costs ~1 ms per 2.4 MB array, more than the arithmetic of a whole batch-norm step
on (128, 28, 28, 6). The flag shows the two regimes (both frameworks get the same setting).
Inside a whole training step the next layers reuse the freed blocks, so the no-trim rows are
the representative ones there (a LeNet-5 fit step measured the same with and without it).
"""
from __future__ import annotations

import argparse
import os
import sys

from _common import (Worker, blas_threads, limit_threads, median, noisy, print_table, serve,
                     take_turns)

BATCH_NORMS = [("bn lenet1", (128, 28, 28, 6)), ("bn lenet2", (128, 10, 10, 16)),
               ("bn resnet1", (128, 32, 32, 16)), ("bn resnet2", (128, 16, 16, 32)),
               ("bn resnet3", (128, 8, 8, 64))]
LAYER_NORMS = [("ln mlp", (128, 256))]
STEPS = ("train", "infer")
ROUND = 0.02  # seconds of calls per timed round


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=9, help="timed rounds per row (median)")
    parser.add_argument("--threads", type=int, default=2, help="BLAS/OpenMP threads for both")
    parser.add_argument("--no-trim", action="store_true",
                        help="keep freed memory in the process (glibc malloc settings)")
    parser.add_argument("--worker", choices=("neuropil", "torch"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def inputs(np):
    rng = np.random.default_rng(0)
    for name, shape in BATCH_NORMS + LAYER_NORMS:
        x = (rng.standard_normal(shape, dtype=np.float32) * 2 + 0.5).astype(np.float32)
        yield name, x, rng.standard_normal(shape, dtype=np.float32)


def repeated(run):
    """``run`` made into one round: as many calls as fill ~20 ms (counted once, up front)."""
    import time
    start = time.perf_counter()
    run()
    calls = max(1, int(ROUND / max(time.perf_counter() - start, 1e-6)))

    def round_():
        for _ in range(calls):
            run()
    round_.calls = calls
    return round_


# ---- the two workers ----------------------------------------------------------------------
def neuropil_tasks(args):
    import numpy as np

    import neuropil as keras
    from neuropil.autodiff import Tensor, no_grad

    tasks, calls = {}, {}
    for name, x, grad in inputs(np):
        layer = (keras.layers.BatchNormalization() if name.startswith("bn")
                 else keras.layers.LayerNormalization())
        layer.build(x.shape)

        def train(layer=layer, x=x, grad=grad):
            layer(Tensor(x, requires_grad=True), training=True).backward(grad)
            for w in layer.trainable_weights:
                w.grad = None

        def infer(layer=layer, x=x):
            with no_grad():
                layer(x, training=False)

        for step, run in (("train", train), ("infer", infer)):
            tasks[f"{name} {step}"] = repeated(run)
            calls[f"{name} {step}"] = tasks[f"{name} {step}"].calls
    info = {"text": f"neuropil {keras.__version__}, numpy {np.__version__}, BLAS threads "
                    f"{blas_threads()}", "calls": calls}
    return info, tasks


def torch_tasks(args):
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    tasks, calls = {}, {}
    for name, x, grad in inputs(np):
        if name.startswith("bn"):
            to_torch = lambda a: torch.from_numpy(a.transpose(0, 3, 1, 2).copy())  # noqa: E731
            layer = torch.nn.BatchNorm2d(x.shape[-1], eps=1e-3, momentum=0.01)
        else:
            to_torch = torch.from_numpy  # noqa: E731
            layer = torch.nn.LayerNorm(x.shape[-1], eps=1e-3)
        xt, gt = to_torch(x), to_torch(grad)

        def train(layer=layer, xt=xt, gt=gt):
            layer.train()
            layer(xt.detach().requires_grad_(True)).backward(gt)
            layer.zero_grad(set_to_none=True)

        def infer(layer=layer, xt=xt):
            layer.eval()
            with torch.no_grad():
                layer(xt)

        for step, run in (("train", train), ("infer", infer)):
            tasks[f"{name} {step}"] = repeated(run)
            calls[f"{name} {step}"] = tasks[f"{name} {step}"].calls
    info = {"text": f"torch {torch.__version__}, threads {torch.get_num_threads()}",
            "calls": calls}
    return info, tasks


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    limit_threads(args.threads)  # before NumPy and torch load their thread pools
    if args.worker:
        serve(*(neuropil_tasks if args.worker == "neuropil" else torch_tasks)(args))
        return
    if args.no_trim:  # read by glibc when a process starts: the workers inherit it
        os.environ["MALLOC_TRIM_THRESHOLD_"] = os.environ["MALLOC_MMAP_THRESHOLD_"] = \
            str(256 * 2**20)
    mine, theirs = Worker(__file__, "neuropil", argv), Worker(__file__, "torch", argv)
    try:
        names = [f"{n} {s}" for n, _ in BATCH_NORMS + LAYER_NORMS for s in STEPS]
        times = take_turns([(mine, names), (theirs, names)], args.repeats)
    finally:
        mine.close()
        theirs.close()
    print(f"{mine.info['text']}\n{theirs.info['text']}, Python {sys.version.split()[0]}; "
          f"{args.threads} threads; medians of {args.repeats} rounds; glibc trims freed "
          f"memory: {'no' if args.no_trim else 'yes (default)'}\n")
    rows = []
    for name in names:
        ours = [t / mine.info["calls"][name] for t in times[("neuropil", name)]]
        torch_s = [t / theirs.info["calls"][name] for t in times[("torch", name)]]
        mark = lambda ts: "~" if noisy(ts) else " "  # noqa: E731
        label = name.replace("train", "train fwd+bwd").replace("infer", "infer fwd")
        rows.append([label, f"{median(ours) * 1e3:.3f}{mark(ours)}",
                     f"{median(torch_s) * 1e3:.3f}{mark(torch_s)}",
                     f"{median(torch_s) / median(ours):.2f}", f"{min(torch_s) / min(ours):.2f}"])
    print_table(["workload", "neuropil ms", "torch ms", "ratio", "best"], rows)
    print("\nratio = torch time / neuropil time (> 1: neuropil faster), from the medians; "
          "best = from each\nside's fastest round; ~ = that side's rounds differ by more than "
          "25% (a busy machine).")


if __name__ == "__main__":
    main()
