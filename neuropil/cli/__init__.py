"""The ``neuropil`` command: ``neuropil train`` trains a dense network on the bundled digits;
``neuropil explain`` shows a model's weights, shapes and one forward pass with the numbers.

``python -m neuropil`` is the same command. Sub-commands are small functions built on the
public Keras-style API only, so each one doubles as an example of that API.
"""
from __future__ import annotations

import argparse
import sys
import textwrap
import time
from typing import Optional, Sequence


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text}")
    return value


def _build_parser() -> argparse.ArgumentParser:
    from neuropil import __version__

    parser = argparse.ArgumentParser(
        prog="neuropil",
        description="neuropil: a deep-learning library on NumPy with the Keras API.",
    )
    parser.add_argument("--version", action="version", version=f"neuropil {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    train = commands.add_parser(
        "train",
        help="train a network and report its test accuracy (default: MLP on bundled digits)",
        description="Trains a network, printing per-epoch progress and the final test "
                    "accuracy. The default job (a dense network on the UCI digits that ship "
                    "with neuropil) needs no download.",
    )
    train.add_argument("--model", choices=("mlp", "lenet5"), default="mlp",
                       help="mlp: dense ReLU network; lenet5: the course's LeNet-5 "
                            "(default: mlp)")
    train.add_argument("--dataset", choices=("digits", "mnist", "fashion_mnist"),
                       default="digits", help="default: digits (bundled, 8x8 images)")
    train.add_argument("--data", metavar="PATH", default=None,
                       help="directory holding the dataset's IDX .gz files (default: "
                            "$NEUROPIL_DATA, else download once into ~/.neuropil)")
    train.add_argument("--epochs", type=_positive_int, default=None,
                       help="default: 30 for digits, 5 otherwise")
    train.add_argument("--batch-size", type=_positive_int, default=32, help="default: 32")
    train.add_argument("--learning-rate", type=float, default=1e-3, help="default: 0.001")
    train.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    train.add_argument("--distributed", action="store_true",
                       help="data-parallel over the processes of `mpiexec -n N neuropil train "
                            "--distributed` (needs: pip install \"neuropil[mpi]\")")
    train.add_argument("--verbose", type=int, choices=(0, 1, 2), default=2,
                       help="0 silent, 1 progress bar, 2 one line per epoch (default)")
    train.add_argument("--plot", metavar="PNG", default=None,
                       help="write the training curves (loss, accuracy) to this PNG file "
                            "(needs matplotlib: pip install \"neuropil[plot]\")")
    train.set_defaults(handler=_train)

    explain = commands.add_parser(
        "explain",
        help="show a model's weight formulas, output shapes and a forward pass in numbers",
        description="Prints the model's summary, each layer's parameter count as a formula, "
                    "the output-shape arithmetic, and a forward pass of one digits sample "
                    "with every layer's numbers written out.",
    )
    explain.add_argument("model_path", metavar="MODEL", nargs="?", default=None,
                         help="a model saved with model.save('name.keras')")
    explain.add_argument("--builtin", choices=("mlp", "lenet5"), default=None,
                         help="explain one of the models `neuropil train` builds, for the "
                              "8x8 digits, instead of a file")
    explain.add_argument("--epochs", type=int, default=0,
                         help="with --builtin: train this many epochs on the digits first "
                              "(default: 0, the initial weights)")
    explain.add_argument("--sample", type=int, default=0,
                         help="which test image of the digits to trace (default: 0)")
    explain.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    explain.set_defaults(handler=_explain)
    return parser


def _load(dataset: str, path: Optional[str]):
    """(x_train, y_train), (x_test, y_test) as float32 images in [0, 1], (n, h, w, 1)."""
    from neuropil import datasets

    if dataset == "digits":
        (x_train, y_train), (x_test, y_test) = datasets.digits.load_data()
        scale = 16.0  # ink counts 0..16
    else:
        loader = datasets.mnist if dataset == "mnist" else datasets.fashion_mnist
        (x_train, y_train), (x_test, y_test) = loader.load_data(path=path)
        scale = 255.0
    as_images = lambda x: (x[..., None].astype("float32") / scale)  # noqa: E731
    return (as_images(x_train), y_train), (as_images(x_test), y_test)


def _build_model(kind: str, image_shape: tuple):
    import neuropil as keras

    if kind == "lenet5":
        if image_shape[0] < 28:  # digits are 8x8: pad them to LeNet-5's smallest input
            margin = ((28 - image_shape[0]) // 2, (28 - image_shape[1]) // 2)
            return keras.Sequential([
                keras.Input(shape=image_shape),
                keras.layers.ZeroPadding2D(margin),
                keras.applications.LeNet5(input_shape=(28, 28, 1)),
            ], name="padded_lenet5")
        return keras.applications.LeNet5(input_shape=image_shape)
    return keras.Sequential([
        keras.Input(shape=image_shape),
        keras.layers.Flatten(),
        keras.layers.Dense(64 if image_shape[0] <= 8 else 256, activation="relu"),
        keras.layers.Dense(32 if image_shape[0] <= 8 else 128, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ], name="mlp")


def _matplotlib_missing() -> bool:
    import importlib.util

    return importlib.util.find_spec("matplotlib") is None


def _train(args: argparse.Namespace) -> int:
    import neuropil as keras
    from neuropil.explain import diagnose

    if args.plot and _matplotlib_missing():  # fail before training, not after
        print('neuropil train --plot needs matplotlib: pip install "neuropil[plot]"',
              file=sys.stderr)
        return 2
    keras.utils.set_random_seed(args.seed)
    chief = True
    if args.distributed:
        from neuropil import distribution

        distribution.set_distribution(distribution.DataParallel())
        chief = distribution.distribution().is_chief
        args.verbose = args.verbose if chief else 0
    (x_train, y_train), (x_test, y_test) = _load(args.dataset, args.data)
    epochs = args.epochs or (30 if args.dataset == "digits" else 5)
    model = _build_model(args.model, x_train.shape[1:])
    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    if args.verbose:
        print(f"{args.dataset}: {len(x_train)} training and {len(x_test)} test images of "
              f"{x_train.shape[1]}x{x_train.shape[2]} pixels")
        model.summary()
    start = time.perf_counter()
    history = model.fit(x_train, y_train, batch_size=args.batch_size, epochs=epochs,
                        validation_split=0.1, verbose=args.verbose)
    seconds = time.perf_counter() - start
    if not chief:  # every rank trained; rank 0 reports
        return 0
    if args.plot:
        from neuropil import plot
        plot.history(history, path=args.plot, title=f"{model.name} on {args.dataset}")
        print(f"training curves written to {args.plot}")
    print(textwrap.fill(str(diagnose(history)), width=100))
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"test accuracy: {accuracy:.4f} (test loss {loss:.4f}; trained in {seconds:.1f} s)")
    return 0


def _digits_sample(shape: tuple, index: int):
    """One digits test image shaped for a model's input (without the batch axis), with its
    label; None when the shape is not an 8x8 image's."""
    (_, _), (x_test, y_test) = _load("digits", None)
    if not 0 <= index < len(x_test):
        raise SystemExit(f"neuropil explain: --sample must be in 0..{len(x_test) - 1}")
    image = x_test[index]
    for candidate in (image, image[..., 0], image.reshape(-1)):
        if tuple(candidate.shape) == tuple(shape):
            return candidate, int(y_test[index])
    return None, None


def _explain(args: argparse.Namespace) -> int:
    import numpy as np

    import neuropil as keras
    from neuropil import explain

    if (args.model_path is None) == (args.builtin is None):
        print("neuropil explain: give a saved model (MODEL.keras) or --builtin mlp|lenet5 "
              "(one of the two).", file=sys.stderr)
        return 2
    keras.utils.set_random_seed(args.seed)
    if args.builtin:
        (x_train, y_train), _ = _load("digits", None)
        model = _build_model(args.builtin, x_train.shape[1:])
        if args.epochs > 0:
            model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                          metrics=["accuracy"])
            model.fit(x_train, y_train, epochs=args.epochs, verbose=0)
    else:
        try:
            model = keras.models.load_model(args.model_path)
        except (OSError, ValueError, ImportError) as error:
            print(f"neuropil explain: could not load {args.model_path}: {error}",
                  file=sys.stderr)
            return 1
    model.summary()
    print()
    print(explain.count_weights(model))
    print()
    try:
        print(explain.output_shapes(model))
        print()
    except ValueError as error:
        print(error)
    shape = tuple(model.inputs[0].shape[1:]) if getattr(model, "inputs", None) else None
    sample, label = _digits_sample(shape, args.sample) if shape else (None, None)
    if sample is None:
        if shape is None or None in shape:
            print("(no forward pass: the model's input shape is not fixed)")
            return 0
        sample = np.random.default_rng(args.seed).uniform(0, 1, shape).astype("float32")
        print(f"(the input {shape} is not an 8x8 digit: tracing a random input instead)")
    else:
        print(f"digits test image {args.sample}, labelled {label}:")
    record = explain.trace(model, sample)
    print(record)
    out = np.asarray(record.outputs)[0]
    if out.ndim == 1 and out.size > 1:
        print(f"\nprediction: class {int(np.argmax(out))} (probability "
              f"{float(np.max(out)):.3f})" + ("" if label is None else f"; label {label}"))
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs the ``neuropil`` command line with ``argv`` (default: ``sys.argv[1:]``)."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    return args.handler(args)
