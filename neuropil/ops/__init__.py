"""Level 2: every differentiable function, forward and backward side by side; and
``keras.ops``.

Two layers of modules:

- the engine, one small ``Op`` class per function: ``elementwise``, ``activations``,
  ``reduce``, ``shape``, ``linalg``, ``conv`` (with ``winograd``), ``conv_transpose``,
  ``pool``, ``norm``, ``loss``, ``noise``;
- Keras's ops surface, thin wrappers with Keras's names, argument names, defaults and dtype
  rules over the engine: ``core_api`` (conversion, dtypes, control flow), ``numpy_api``
  (math, comparisons, reductions, linear algebra), ``shape_api`` (shapes, creation),
  ``array_api`` (meshgrid, tri, kron, cumprod), ``index_api`` (scatter, segment
  reductions, bincount, searchsorted) and ``nn_api`` (activations, conv, pooling,
  normalization, cross-entropies).

``import neuropil as keras; keras.ops.mean(x)`` reaches the wrappers; the engine-only
functions (``dense``, ``conv2d``, ``batch_norm``, ``softmax_cross_entropy``, ``dropout``
with a generator...) are exported too, for the layers. A Keras op that neuropil lacks raises
an AttributeError naming it and the closest one it has.

NOTE: Keras's functions ``ops.shape``, ``ops.norm`` and ``ops.conv`` shadow the engine
modules of the same name, so ``from neuropil.ops import conv`` gives the function. Import
from those modules by path: ``from neuropil.ops.conv import conv2d``.

Example:
>>> from neuropil import ops
>>> ops.softmax([[1.0, 1.0]]).numpy()
array([[0.5, 0.5]], dtype=float32)
"""
import difflib as _difflib

from neuropil.ops.array_api import *  # noqa: F401,F403
from neuropil.ops.conv import conv2d, depthwise_conv2d
from neuropil.ops.conv_transpose import conv2d_transpose
from neuropil.ops.core_api import *  # noqa: F401,F403 - each module's __all__ is its list
from neuropil.ops.elementwise import unbroadcast
from neuropil.ops.index_api import *  # noqa: F401,F403
from neuropil.ops.linalg import dense
from neuropil.ops.loss import (sigmoid_binary_cross_entropy, softmax_cross_entropy,
                               sparse_softmax_cross_entropy)
from neuropil.ops.nn_api import *  # noqa: F401,F403
from neuropil.ops.noise import alpha_dropout, dropout, gaussian_dropout, gaussian_noise
from neuropil.ops.norm import batch_norm, batch_norm_inference, layer_norm
from neuropil.ops.numpy_api import *  # noqa: F401,F403
from neuropil.ops.pool import avg_pool2d, max_pool2d
from neuropil.ops.shape import flatten, getitem
from neuropil.ops.shape_api import *  # noqa: F401,F403
from neuropil.ops import core_api as _core, nn_api as _nn, numpy_api as _np, shape_api as _shape
from neuropil.ops import array_api as _array, index_api as _index

ENGINE = ["unbroadcast", "dense", "conv2d", "conv2d_transpose", "depthwise_conv2d",
          "softmax_cross_entropy", "sparse_softmax_cross_entropy",
          "sigmoid_binary_cross_entropy", "dropout", "alpha_dropout", "gaussian_dropout",
          "gaussian_noise", "batch_norm", "batch_norm_inference", "layer_norm", "avg_pool2d",
          "max_pool2d", "getitem", "flatten"]

__all__ = [*_core.__all__, *_np.__all__, *_shape.__all__, *_array.__all__, *_index.__all__,
           *_nn.__all__, *ENGINE]


def __getattr__(name: str):
    """A Keras op neuropil does not have: say so, and suggest the closest one it has."""
    if name.startswith("__"):
        raise AttributeError(f"module 'neuropil.ops' has no attribute {name!r}")
    close = _difflib.get_close_matches(name, __all__, n=3, cutoff=0.6)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    raise AttributeError(f"neuropil.ops has no op {name!r}: neuropil implements part of "
                         f"keras.ops ({len(__all__)} functions, listed in "
                         f"neuropil.ops.__all__).{hint}")
