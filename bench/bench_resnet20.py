"""neuropil against PyTorch on ResNet-20 (CIFAR-10's residual network), in one run.

    python bench/bench_resnet20.py                  # 3 steps a round, 5 repeats, 2 threads
    python bench/bench_resnet20.py --steps 2 --repeats 3 --threads 1
    python bench/bench_resnet20.py --profile        # where neuropil's training step goes

Workload, on synthetic 32x32x3 float32 images (standard normal) with random labels 0-9:
``keras.applications.ResNet20()`` (274,042 weights: a 3x3 convolution with 16 filters,
3 stages x 3 basic blocks of 16, 32, 64 filters with batch norm, projection shortcuts (1x1
convolution + batch norm) where a stage halves the image, global average pooling, softmax).
Training: SGD(0.1, momentum=0.9), sparse categorical cross-entropy, batch 128, through
``train_on_batch``. PyTorch runs the same network on NCHW tensors (its native layout):
Conv2d(bias=False) / BatchNorm2d(eps=1e-5, momentum=0.1) / ReLU blocks, logits into
F.cross_entropy, torch.optim.SGD(0.1, momentum=0.9), the standard loop (zero_grad, forward,
loss, backward, step).

Rows:
  train b128     ``--steps`` training steps of batch 128 (one round), per step
  predict b128   ``model.predict`` of ``--steps`` x 128 images in batches of 128; torch:
                 the same batches under ``torch.inference_mode()`` + softmax
Peak RSS: each worker's resident-memory high-water mark (VmHWM) after setup, after the
training rounds and after the predict rounds.

How it measures (see bench/_common.py and bench/README.md): each framework in its own child
process with the same thread limit, taking turns one round each after a warm-up round;
before each group of rounds the script waits (up to ``--wait`` s) for other processes to
idle. ratio = neuropil speed / torch speed (> 1: neuropil faster); "best" compares each
side's fastest round. Nothing is asserted.
"""
from __future__ import annotations

import argparse
import sys
import time

from _common import (Worker, blas_threads, limit_threads, median, noisy, print_table, serve,
                     take_turns, wait_for_idle_cores)

BATCH = 128


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds per row (median)")
    parser.add_argument("--steps", type=int, default=3, help="batches of 128 in one round")
    parser.add_argument("--threads", type=int, default=2, help="BLAS/OpenMP threads for both")
    parser.add_argument("--wait", type=float, default=30,
                        help="seconds to wait, before each group, for other processes to idle")
    parser.add_argument("--profile", action="store_true",
                        help="profile neuropil's training step (in this process) instead")
    parser.add_argument("--worker", choices=("neuropil", "torch"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def synthetic_data(steps: int):
    import numpy as np
    rng = np.random.default_rng(0)
    return (rng.standard_normal((steps * BATCH, 32, 32, 3), dtype=np.float32),
            rng.integers(0, 10, steps * BATCH))


# ---- the two workers ----------------------------------------------------------------------
def neuropil_setup(args):
    import numpy as np

    import neuropil as keras

    x, y = synthetic_data(args.steps)
    keras.utils.set_random_seed(0)
    model = keras.applications.ResNet20()
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9),
                  loss="sparse_categorical_crossentropy")

    def train():
        for start in range(0, len(x), BATCH):
            model.train_on_batch(x[start:start + BATCH], y[start:start + BATCH])

    tasks = {"train": train,
             "predict": lambda: model.predict(x, batch_size=BATCH, verbose=0)}
    info = f"neuropil {keras.__version__} ({keras.__file__}), numpy {np.__version__}, " \
           f"BLAS threads {blas_threads()}"
    return info, tasks


def torch_resnet20(nn):
    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.shortcut = nn.Sequential()
            if stride > 1:
                self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                              nn.BatchNorm2d(cout))

        def forward(self, x):
            y = self.bn1(self.conv1(x)).relu()
            return (self.bn2(self.conv2(y)) + self.shortcut(x)).relu()

    blocks = []
    cin = 16
    for filters, stride in ((16, 1), (32, 2), (64, 2)):
        for index in range(3):
            blocks.append(Block(cin, filters, stride if index == 0 else 1))
            cin = filters
    return nn.Sequential(nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
                         *blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))


def torch_setup(args):
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    x_np, y_np = synthetic_data(args.steps)
    x = torch.from_numpy(x_np.transpose(0, 3, 1, 2).copy())
    y = torch.from_numpy(y_np)
    torch.manual_seed(0)
    net = torch_resnet20(torch.nn)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)

    def train():
        net.train()
        for start in range(0, len(x), BATCH):
            opt.zero_grad()
            loss = F.cross_entropy(net(x[start:start + BATCH]), y[start:start + BATCH])
            loss.backward()
            opt.step()

    def predict():
        net.eval()
        with torch.inference_mode():
            return torch.cat([torch.softmax(net(x[s:s + BATCH]), -1)
                              for s in range(0, len(x), BATCH)]).numpy()

    params = sum(p.numel() for p in net.parameters())
    info = f"torch {torch.__version__}, threads {torch.get_num_threads()}, {params:,} params"
    return info, {"train": train, "predict": predict}


# ---- parent side ----------------------------------------------------------------------------
def peak_rss_mb(worker: Worker):
    try:
        with open(f"/proc/{worker.process.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def measure(args, argv: list) -> dict:
    result = {"busy": [], "rss": {}}
    mine = Worker(__file__, "neuropil", argv)
    theirs = Worker(__file__, "torch", argv)
    try:
        result["info"] = (mine.info, theirs.info)
        result["rss"]["setup"] = (peak_rss_mb(mine), peak_rss_mb(theirs))
        result["busy"].append(wait_for_idle_cores(args.wait))
        times = take_turns([(mine, ["train"]), (theirs, ["train"])], args.repeats)
        result["rss"]["train"] = (peak_rss_mb(mine), peak_rss_mb(theirs))
        result["busy"].append(wait_for_idle_cores(args.wait))
        times.update(take_turns([(mine, ["predict"]), (theirs, ["predict"])], args.repeats))
        result["rss"]["predict"] = (peak_rss_mb(mine), peak_rss_mb(theirs))
    finally:
        mine.close()
        theirs.close()
    result["times"] = times
    return result


def report(args, result: dict) -> None:
    rows = []
    images = args.steps * BATCH
    for label, task in ((f"train b{BATCH}", "train"), (f"predict b{BATCH}", "predict")):
        mine, theirs = result["times"][("neuropil", task)], result["times"][("torch", task)]
        rows.append([label] + [f"{images / median(t):,.0f}/s  {median(t) / args.steps * 1e3:,.0f}"
                               f" ms{'~' if noisy(t) else ' '}" for t in (mine, theirs)] +
                    [f"{median(theirs) / median(mine):.2f}", f"{min(theirs) / min(mine):.2f}"])
    print_table(["workload", "neuropil", "torch", "ratio", "best"], rows)
    print("\ncells: images per second, then ms per batch of 128 (medians); ratio = neuropil "
          "speed / torch speed;\nbest = the same from each side's fastest round; ~ = that "
          "side's rounds differ by more than 25%.")

    def mb(value):
        return "n/a" if value is None else f"{value:.0f} MB"

    print("\npeak resident memory (VmHWM) of each worker process, cumulative:")
    print_table(["worker peak", "neuropil", "torch"],
                [[f"after {stage}", mb(ours), mb(theirs)]
                 for stage, (ours, theirs) in result["rss"].items()])
    busy = result["busy"]
    print(f"\nother processes before each group of rounds: "
          f"{', '.join(f'{b:.2f}' for b in busy)} cores busy"
          + (" (noisy: compare ratios with care)" if max(busy) > 0.2 else ""))


def profile(args) -> None:
    """cProfile of neuropil's training steps: own time grouped by where the code lives."""
    import cProfile
    import pstats

    _, tasks = neuropil_setup(args)
    tasks["train"]()  # warm-up: builds the optimizer, scratch buffers, compiled kernels
    profiler = cProfile.Profile()
    profiler.enable()
    tasks["train"]()
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = stats.total_tt
    groups: dict = {}
    top: list = []
    for (filename, line, function), (_, calls, own, _, _) in stats.stats.items():
        path = filename.split("neuropil/", 1)[-1] if "/neuropil/" in filename else None
        if path is None:
            key = "NumPy / Python outside neuropil"
        elif path.startswith("ops/"):
            key = path  # an op file: its forward, backward and helpers (GEMMs included)
        elif path.startswith(("autodiff/",)):
            key = "engine (autodiff: graph recording, backward walk)"
        elif path.startswith("optimizers/"):
            key = "optimizer update"
        else:
            key = "layers, models, training loop, losses, metrics"
        groups[key] = groups.get(key, 0.0) + own
        top.append((own, calls, f"{path or filename}:{line}({function})"))
    print(f"neuropil, {args.steps} training steps of batch {BATCH}: "
          f"{total / args.steps * 1e3:.0f} ms a step (under cProfile)")
    for key, seconds in sorted(groups.items(), key=lambda item: -item[1]):
        print(f"  {seconds / total:6.1%}  {seconds / args.steps * 1e3:8.1f} ms  {key}")
    print("\nfunctions by own time (NumPy's ufuncs, matmul included, count in their caller):")
    for own, calls, where in sorted(top, reverse=True)[:10]:
        print(f"  {own / total:6.1%}  {own / args.steps * 1e3:8.1f} ms  {calls:5d} calls  {where}")


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    limit_threads(args.threads)  # before NumPy and torch load their thread pools
    if args.worker:
        serve(*(neuropil_setup if args.worker == "neuropil" else torch_setup)(args))
        return
    if args.profile:
        profile(args)
        return
    started = time.perf_counter()
    print(f"workload: ResNet-20, SGD(0.1, momentum 0.9), sparse cross-entropy, batch {BATCH}; "
          f"{args.steps} batches of random 32x32x3 images a round; {args.threads} threads; "
          f"median of {args.repeats}")
    result = measure(args, argv)
    mine, theirs = result["info"]
    print(f"{mine}\n{theirs}, Python {sys.version.split()[0]}\n")
    report(args, result)
    print(f"\nwhole run: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
