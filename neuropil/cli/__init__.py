"""The ``neuropil`` command: ``neuropil train`` trains a dense network on the bundled digits.

``python -m neuropil`` is the same command. Sub-commands are small functions built on the
public Keras-style API only, so each one doubles as an example of that API.
"""
from __future__ import annotations

import argparse
import sys
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
        help="train a dense network on the bundled UCI digits and report test accuracy",
        description="Trains a 64-64-32-10 ReLU network with Adam on the UCI digits data set "
                    "that ships with neuropil (no download), printing per-epoch progress and "
                    "the final test accuracy.",
    )
    train.add_argument("--epochs", type=_positive_int, default=30, help="default: 30")
    train.add_argument("--batch-size", type=_positive_int, default=32, help="default: 32")
    train.add_argument("--learning-rate", type=float, default=1e-3, help="default: 0.001")
    train.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    train.add_argument("--verbose", type=int, choices=(0, 1, 2), default=2,
                       help="0 silent, 1 progress bar, 2 one line per epoch (default)")
    train.set_defaults(handler=_train)
    return parser


def _train(args: argparse.Namespace) -> int:
    import neuropil as keras
    from neuropil.datasets import digits

    keras.utils.set_random_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = digits.load_data()
    # Pixels are ink counts 0..16; scale them to [0, 1] and flatten each 8x8 image.
    x_train = x_train.reshape(len(x_train), -1).astype("float32") / 16.0
    x_test = x_test.reshape(len(x_test), -1).astype("float32") / 16.0

    model = keras.Sequential([
        keras.Input(shape=(64,)),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(32, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ], name="digits_mlp")
    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    if args.verbose:
        print(f"UCI digits: {len(x_train)} training and {len(x_test)} test images of 8x8 pixels")
        model.summary()
    start = time.perf_counter()
    model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs,
              validation_split=0.1, verbose=args.verbose)
    seconds = time.perf_counter() - start
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"test accuracy: {accuracy:.4f} (test loss {loss:.4f}; trained in {seconds:.1f} s)")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs the ``neuropil`` command line with ``argv`` (default: ``sys.argv[1:]``)."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    return args.handler(args)
