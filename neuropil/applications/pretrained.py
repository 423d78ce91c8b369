"""Where an application's ``weights=`` come from: a name of the weights shipped with
neuropil, a local ``.weights.h5`` / ``.keras`` file, or (ResNet18) a ``.safetensors`` file
in torchvision's naming.

Shipped weights live in ``neuropil/applications/weights/`` (package data) and are checked
against their SHA-256 before loading: a damaged or swapped file is refused, never half
loaded. Files are loaded with a layer-by-layer shape check (the error names the file, the
layer and both shapes). Pickle-based formats (``.pth``, ``.pt``, ...) are refused: loading
them can run arbitrary code.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SHIPPED", "Shipped", "check_weights_argument", "shipped_path", "verify_sha256",
           "load_into"]

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
_PICKLED = (".pth", ".pt", ".pkl", ".pickle", ".ckpt", ".bin", ".tar")


@dataclass(frozen=True)
class Shipped:
    """One set of weights in the package, and what it needs of the model."""
    builder: str
    filename: str
    sha256: str
    input_shape: tuple
    include_top: bool
    built_with: dict          # builder arguments the weights were trained with
    about: str


SHIPPED = {
    "mnist_0to4": Shipped(
        builder="LeNet5", filename="lenet5_mnist_0to4.weights.h5",
        # tools/train_pretrained_base.py, seed 0: 99.63% on the test images of digits 0-4
        sha256="5ab877d65b7e22ac2ccb8809f92516ba47ab7897da69f15322c329da87d59ccf",
        input_shape=(28, 28, 1), include_top=False,
        built_with={"activation": "relu", "pooling": "max"},
        about="LeNet-5's convolutional base trained on MNIST digits 0-4"),
}


def check_weights_argument(builder: str, weights, safetensors: bool = False) -> None:
    """Raises early unless ``weights`` is None, a name shipped for ``builder`` or the path
    of an existing file in a format ``builder`` can load."""
    if weights is None:
        return
    names = [name for name, entry in SHIPPED.items() if entry.builder == builder]
    if isinstance(weights, str) and weights in SHIPPED:
        if weights not in names:
            raise ValueError(f"{builder}(weights={weights!r}): these weights are for "
                             f"{SHIPPED[weights].builder}. Shipped for {builder}: "
                             f"{names or 'none'}.")
        return
    if weights == "imagenet":
        raise ValueError(
            f"{builder}(weights='imagenet'): neuropil has no download of pretrained weights "
            "(it works offline and never fetches model files). Pass weights=None for random "
            "initialization, or the local path of a weights file saved for this architecture "
            "(`.weights.h5` or `.keras`), e.g. weights='resnet50.weights.h5'.")
    if not isinstance(weights, (str, os.PathLike)):
        raise ValueError(f"{builder}: `weights` must be None, a shipped name or a file path. "
                         f"Received: weights={weights!r}")
    path = os.fspath(weights)
    if path.lower().endswith(_PICKLED):
        fix = ("convert the state dict once with PyTorch, e.g. `safetensors.torch.save_file("
               "torch.load(f, weights_only=True), 'resnet18.safetensors')`, and pass the "
               ".safetensors file" if safetensors else
               "pass a `.weights.h5` or `.keras` file (model.save_weights / model.save)")
        raise ValueError(f"{builder}(weights={path!r}): pickle-based files (.pth, .pt, ...) "
                         f"are refused, since loading them can run arbitrary code; {fix}.")
    if path.endswith(".safetensors") and not safetensors:
        raise ValueError(f"{builder}(weights={path!r}): only ResNet18 reads `.safetensors` "
                         "(torchvision's naming). Pass a `.weights.h5` or `.keras` file.")
    if not os.path.isfile(path):
        shipped = f" or one of the shipped names {names}" if names else ""
        raise ValueError(f"{builder}: the `weights` argument should be either `None` (random "
                         f"initialization), the path to the weights file to be loaded"
                         f"{shipped}. Received: weights={weights!r} (no such file)")


def check_shipped_fits(builder: str, name: str, include_top: bool, input_shape,
                       **arguments) -> None:
    """The shipped weights ``name`` fit only the model they were trained as."""
    entry = SHIPPED[name]
    if include_top != entry.include_top:
        raise ValueError(f"{builder}(weights={name!r}): {entry.about} ships without a top; "
                         f"use include_top={entry.include_top} and put your own layers on "
                         f"it. Received: include_top={include_top}")
    if tuple(input_shape) != entry.input_shape:
        raise ValueError(f"{builder}(weights={name!r}) needs input_shape="
                         f"{entry.input_shape} (MNIST's 28x28 grayscale). Received: "
                         f"input_shape={tuple(input_shape)}")
    for key, value in entry.built_with.items():
        if arguments.get(key, value) != value:
            raise ValueError(f"{builder}(weights={name!r}) was trained with {key}={value!r}. "
                             f"Received: {key}={arguments[key]!r}")


def shipped_path(name: str) -> Path:
    return WEIGHTS_DIR / SHIPPED[name].filename


def verify_sha256(path, expected: str) -> None:
    """Raises if the file's SHA-256 is not ``expected``."""
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    if digest != expected:
        raise ValueError(f"{path}: SHA-256 {digest} does not match the recorded {expected}; "
                         "the shipped weights file is damaged or was replaced. Reinstall "
                         "neuropil (or rerun tools/train_pretrained_base.py and record the "
                         "new checksum in neuropil/applications/pretrained.py).")


def load_into(model, weights, safetensors_loader=None):
    """Loads ``weights`` (already checked by ``check_weights_argument``) into ``model``."""
    if weights is None:
        return model
    if isinstance(weights, str) and weights in SHIPPED:
        path = shipped_path(weights)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: the shipped weights {weights!r} are missing "
                                    "from this installation; reinstall neuropil.")
        verify_sha256(path, SHIPPED[weights].sha256)
        model.load_weights(path)
    elif os.fspath(weights).endswith(".safetensors"):
        safetensors_loader(model, weights)
    else:
        model.load_weights(weights)
    return model
