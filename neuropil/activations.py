"""``keras.activations``: the activation functions by their Keras names.

Each accepts a NumPy array or a tensor and returns a tensor (use ``np.asarray`` or
``.numpy()`` to get an array back). ``get`` turns a name into the function.

Example:
>>> import neuropil as keras
>>> round(float(keras.activations.sigmoid(-1.0)), 3)  # the lecture's sigmoid(-1)
0.269
"""
from __future__ import annotations

from neuropil import ops
from neuropil._naming import unknown_identifier

__all__ = ["linear", "relu", "relu6", "leaky_relu", "elu", "selu", "gelu", "sigmoid",
           "hard_sigmoid", "tanh", "softmax", "log_softmax", "softplus", "softsign", "silu",
           "swish", "exponential", "mish", "hard_silu", "hard_swish", "get", "serialize",
           "deserialize"]


def linear(x):
    """The identity, g(z) = z (also the activation used when none is given)."""
    return _as_tensor(x)


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """max(z, 0), with Keras's optional slope below ``threshold`` and cap ``max_value``."""
    return ops.relu(x, negative_slope, max_value, threshold)


def relu6(x):
    return ops.relu(x, max_value=6.0)


def leaky_relu(x, negative_slope=0.2):
    """z for z >= 0, negative_slope·z below (the lecture's leaky ReLU uses a small slope)."""
    return ops.leaky_relu(x, negative_slope)


def elu(x, alpha=1.0):
    return ops.elu(x, alpha)


def selu(x):
    return ops.selu(x)


def gelu(x, approximate=False):
    return ops.gelu(x, approximate)


def sigmoid(x):
    """1 / (1 + e^-z)."""
    return ops.sigmoid(x)


def hard_sigmoid(x):
    """Piecewise-linear sigmoid: relu6(z + 3) / 6."""
    return ops.relu(ops.add(x, 3.0), max_value=6.0) / 6.0


def tanh(x):
    return ops.tanh(x)


def softmax(x, axis=-1):
    """e^z_i / Σ_j e^z_j along ``axis``: turns scores into probabilities that sum to 1."""
    return ops.softmax(x, axis)


def log_softmax(x, axis=-1):
    return ops.log_softmax(x, axis)


def softplus(x):
    return ops.softplus(x)


def softsign(x):
    return ops.divide(x, ops.add(ops.abs(x), 1.0))


def silu(x):
    return ops.silu(x)


swish = silu


def exponential(x):
    return ops.exp(x)


def mish(x):
    return ops.multiply(x, ops.tanh(ops.softplus(x)))


def hard_silu(x):
    return ops.multiply(x, hard_sigmoid(x))


hard_swish = hard_silu


def _as_tensor(x):
    from neuropil.autodiff import Tensor
    return x if isinstance(x, Tensor) else Tensor(x)


_BY_NAME = {f.__name__: f for f in (linear, relu, relu6, leaky_relu, elu, selu, gelu, sigmoid,
                                    hard_sigmoid, tanh, softmax, log_softmax, softplus,
                                    softsign, silu, exponential, mish, hard_silu)}
_BY_NAME.update(swish=silu, hard_swish=hard_silu)


def get(identifier):
    """A name (``"relu"``), None (linear) or a callable -> the activation function."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        if identifier not in _BY_NAME:
            raise unknown_identifier("activation", identifier, _BY_NAME)
        return _BY_NAME[identifier]
    if isinstance(identifier, dict):  # Keras's serialized form
        return get(identifier.get("config", identifier).get("name", identifier.get("class_name")))
    if callable(identifier):
        return identifier
    raise TypeError(f"Could not interpret activation identifier: {identifier!r}. Pass a name "
                    "such as 'relu', a callable, or None.")


def serialize(activation) -> str:
    """The Keras name of an activation function (what ``get_config`` stores)."""
    for name, fn in _BY_NAME.items():
        if fn is activation:
            return name
    return getattr(activation, "__name__", str(activation))


def deserialize(config, custom_objects=None):
    if custom_objects and config in custom_objects:
        return custom_objects[config]
    return get(config)
