"""neuropil: a deep-learning library on NumPy with the Keras API, readable end to end.

``import neuropil as keras`` and write Keras code. Underneath: a Tensor with reverse-mode
autodiff (``neuropil.autodiff``), ops with their gradients (``neuropil.ops``), layers, models
and the training loop. ``neuropil.explain`` shows the numbers inside a network.
"""
from __future__ import annotations

import importlib

from neuropil import (activations, backend, callbacks, constraints, initializers, layers,
                      losses, metrics, models, ops, optimizers, regularizers)
from neuropil.autodiff import Variable
from neuropil.layers import Input, InputSpec, Layer
from neuropil.layers.node import KerasTensor
from neuropil.losses import Loss
from neuropil.metrics import Metric
from neuropil.models import Model, Sequential
from neuropil.optimizers import Optimizer

__version__ = "0.1.0"


def version() -> str:
    """The version string, as ``keras.version()`` returns Keras's."""
    return __version__


# Loaded on first use, to keep `import neuropil` fast.
_LAZY = ("utils", "datasets", "explain", "data", "applications", "saving", "random", "distribution",
         "config", "tree")

__all__ = ["Input", "Model", "Sequential", "Layer", "InputSpec", "Variable", "KerasTensor",
           "Loss", "Metric", "Optimizer", "__version__", "activations", "backend",
           "callbacks", "constraints", "initializers", "layers", "losses", "metrics", "models", "ops",
           "optimizers", "regularizers", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        return importlib.import_module(f"neuropil.{name}")
    raise AttributeError(f"module 'neuropil' has no attribute {name!r}")
