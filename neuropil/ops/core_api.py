"""``keras.ops`` core: converting to and from tensors, dtypes, and Python control flow.

Every Keras-named wrapper in ``numpy_api``, ``shape_api`` and ``nn_api`` turns its arguments
into tensors here, with Keras's dtype rules rather than NumPy's:

- Python floats become ``floatx()`` (float32) and Python ints int32, as in Keras;
  NumPy arrays and tensors keep their dtype.
- A Python number next to a tensor takes the tensor's dtype when it fits ("weak typing"):
  ``int32_tensor + 1`` stays int32, ``float32_tensor * 2.5`` stays float32, and
  ``int_tensor * 0.5`` becomes floatx.
- Functions that only make sense on reals (exp, sqrt, mean, the activations...) turn int and
  bool inputs into floatx first.
"""
from __future__ import annotations

import builtins
import numbers

import numpy as np

from neuropil import backend
from neuropil.autodiff import Tensor
from neuropil.ops import elementwise
from neuropil.ops.shape import getitem, stack

__all__ = ["convert_to_tensor", "convert_to_numpy", "cast", "dtype", "shape", "is_tensor",
           "stop_gradient", "unstack", "slice", "slice_update", "cond", "fori_loop",
           "while_loop", "map", "switch", "vectorized_map"]

# Keras's names for Python types (Keras: ``standardize_dtype``).
_PYTHON_DTYPES = {bool: "bool", int: "int64", float: "float32", complex: "complex64"}


def standardize_dtype(dtype) -> str:
    """A dtype's canonical name: None -> floatx, Python ``float`` -> "float32" as in Keras."""
    if dtype is None:
        return backend.floatx()
    if isinstance(dtype, type) and dtype in _PYTHON_DTYPES:
        return _PYTHON_DTYPES[dtype]
    return np.dtype(dtype).name


def is_python_number(x) -> bool:
    return isinstance(x, numbers.Number) and not isinstance(x, np.generic)


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None) -> Tensor:
    """``x`` as a Tensor: tensors pass through (cast if ``dtype`` is given), NumPy arrays
    keep their dtype, Python floats become floatx and Python ints int32.

    Example:
    >>> convert_to_tensor([1.0, 2.0]).dtype, convert_to_tensor([1, 2]).dtype
    (dtype('float32'), dtype('int32'))
    """
    if sparse or ragged:
        raise ValueError("neuropil has no sparse or ragged tensors; pass sparse=None, "
                         "ragged=None.")
    if isinstance(x, Tensor):
        return x if dtype is None else cast(x, dtype)
    if hasattr(x, "_keras_history"):  # a KerasTensor (layers level, not importable here)
        raise TypeError(f"keras.ops received the symbolic tensor {x.name} (shape {x.shape}): "
                        "neuropil's ops compute on values and cannot yet be recorded into a "
                        "functional model. Wrap the computation in a layer, e.g. "
                        "keras.layers.Lambda(lambda t: keras.ops.relu(t))(x), or write a "
                        "Layer subclass.")
    if dtype is not None:
        return Tensor(np.asarray(x, dtype=standardize_dtype(dtype)))
    if isinstance(x, (np.ndarray, np.generic)):
        return Tensor(np.asarray(x))
    array = np.asarray(x)
    if array.dtype == np.float64:
        array = array.astype(backend.floatx())
    elif array.dtype == np.int64 and (array.size == 0 or (
            array.min() >= np.iinfo(np.int32).min and array.max() <= np.iinfo(np.int32).max)):
        array = array.astype(np.int32)
    return Tensor(array)


def convert_to_numpy(x) -> np.ndarray:
    """The values as a NumPy array (a copy, so changing it leaves the tensor alone)."""
    return np.array(x.data if isinstance(x, Tensor) else x)


def as_operand(x) -> Tensor:
    """``x`` as a tensor for an engine op: tensors as they are, the rest converted."""
    return x if isinstance(x, Tensor) else convert_to_tensor(x)


def _weak(value, other_dtype: np.dtype) -> Tensor:
    """A Python number in the dtype of the tensor it meets, when that dtype can hold it."""
    kind = other_dtype.kind
    if isinstance(value, bool):
        dtype = other_dtype
    elif isinstance(value, numbers.Integral):
        dtype = other_dtype if kind in "iuf" else np.dtype("int32")
    elif isinstance(value, numbers.Real):
        dtype = other_dtype if kind == "f" else np.dtype(backend.floatx())
    else:
        dtype = None
    return Tensor(np.asarray(value, dtype=dtype))


def operands(x1, x2) -> tuple:
    """Two operands of a binary function, with Keras's weak typing of Python numbers, and
    Keras's (JAX's) promotion of an int or bool tensor met by a float one: to that float
    dtype (NumPy would make int32 * float32 a float64)."""
    if not (isinstance(x1, Tensor) and isinstance(x2, Tensor)):
        if is_python_number(x1) and not is_python_number(x2):
            x2 = as_operand(x2)
            x1 = _weak(x1, x2.dtype)
        elif is_python_number(x2) and not is_python_number(x1):
            x1 = as_operand(x1)
            x2 = _weak(x2, x1.dtype)
        else:
            x1, x2 = as_operand(x1), as_operand(x2)
    if x1.dtype != x2.dtype:
        if x1.dtype.kind == "f" and x2.dtype.kind in "biu":
            x2 = Tensor(x2.data.astype(x1.dtype))
        elif x2.dtype.kind == "f" and x1.dtype.kind in "biu":
            x1 = Tensor(x1.data.astype(x2.dtype))
    return x1, x2


def floating(x) -> Tensor:
    """``x`` as a tensor, with int and bool values turned into floatx (Keras does this for
    every function that only makes sense on reals)."""
    x = as_operand(x)
    if x.dtype.kind in "biu":
        return Tensor(x.data.astype(backend.floatx()))
    return x


def constant(array) -> Tensor:
    """A result that carries no gradient (comparisons, argmax, ...)."""
    return Tensor(np.asarray(array))


def cast(x, dtype) -> Tensor:
    """``x`` in ``dtype``. Float to float keeps the gradient; to int or bool it is cut."""
    x = as_operand(x)
    dtype = np.dtype(standardize_dtype(dtype))
    if x.dtype == dtype:
        return x
    if x.requires_grad and dtype.kind == "f" and x.dtype.kind == "f":
        return elementwise.cast(x, dtype)
    return Tensor(x.data.astype(dtype))


def dtype(x) -> str:
    """The dtype's name, e.g. ``"float32"``."""
    return np.dtype(x.dtype if hasattr(x, "dtype") else np.asarray(x).dtype).name


def shape(x) -> tuple:
    """The shape as a tuple of ints."""
    return tuple(np.shape(x.data if isinstance(x, Tensor) else x))


def is_tensor(x) -> bool:
    return isinstance(x, Tensor)


def stop_gradient(variable) -> Tensor:
    """The same values, cut from the graph: nothing flows back through the result."""
    return Tensor(np.asarray(variable.data if isinstance(variable, Tensor) else variable))


def unstack(x, num=None, axis=0) -> list:
    """The slices of ``x`` along ``axis``, as a list (each differentiable)."""
    x = as_operand(x)
    axis = axis % x.ndim
    count = x.shape[axis]
    if num is not None and num != count:
        raise ValueError(f"unstack: num={num} but x has {count} entries along axis {axis}.")
    lead = (builtins.slice(None),) * axis
    return [getitem(x, lead + (i,)) for i in range(count)]


def slice(inputs, start_indices, shape):  # noqa: A001 - Keras's name
    """The block of ``shape`` starting at ``start_indices`` (one start per axis)."""
    index = tuple(builtins.slice(int(s), int(s) + int(n)) for s, n in zip(start_indices, shape))
    return getitem(as_operand(inputs), index)


def slice_update(inputs, start_indices, updates):
    """``inputs`` with the block at ``start_indices`` replaced by ``updates``; differentiable
    in both: the kept part of ``inputs`` plus ``updates`` padded into place."""
    from neuropil.ops.pool import pad
    inputs, updates = as_operand(inputs), as_operand(updates)
    starts = [int(s) for s in start_indices]
    widths = [(s, n - s - u) for s, n, u in zip(starts, inputs.shape, updates.shape)]
    keep = np.ones(inputs.shape, dtype=inputs.dtype)
    keep[tuple(builtins.slice(s, s + u) for s, u in zip(starts, updates.shape))] = 0
    return elementwise.add(elementwise.multiply(inputs, keep), pad(updates, widths))


# ---- control flow: define-by-run makes these plain Python --------------------------------
def cond(pred, true_fn, false_fn):
    """``true_fn()`` if ``pred`` else ``false_fn()``."""
    return true_fn() if bool(np.asarray(pred)) else false_fn()


def switch(index, branches, *operands):
    """``branches[index](*operands)``, with ``index`` clamped to the valid range."""
    index = builtins.min(builtins.max(int(np.asarray(index)), 0), len(branches) - 1)
    return branches[index](*operands)


def fori_loop(lower, upper, body_fun, init_val):
    """``val = body_fun(i, val)`` for i in [lower, upper)."""
    value = init_val
    for i in range(int(lower), int(upper)):
        value = body_fun(i, value)
    return value


def while_loop(cond, body, loop_vars, maximum_iterations=None):
    """Runs ``loop_vars = body(*loop_vars)`` while ``cond(*loop_vars)``; a tuple in, a tuple
    out (a single non-tuple value is passed and returned as is)."""
    single = not isinstance(loop_vars, (list, tuple))
    values = (loop_vars,) if single else tuple(loop_vars)
    steps = 0
    while bool(np.asarray(cond(*values))) and (maximum_iterations is None or
                                               steps < maximum_iterations):
        result = body(*values)
        values = (result,) if single else tuple(result)
        steps += 1
    return values[0] if single else type(loop_vars)(values)


def map(f, xs):  # noqa: A001 - Keras's name
    """``f`` applied to each slice of ``xs`` along axis 0, the results stacked."""
    return stack([f(x) for x in unstack(xs)], axis=0)


def vectorized_map(function, elements):
    """As :func:`map` (there is no vectorizing compiler here)."""
    return map(function, elements)
