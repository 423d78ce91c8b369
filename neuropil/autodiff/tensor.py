"""Tensor: an array that remembers which op made it, and Variable: a named, assignable leaf.

``loss.backward()`` walks the recorded graph once, in reverse topological order, and adds
each gradient into ``.grad`` of the leaves that require it (weights, or any tensor created
with ``requires_grad=True``). Intermediate gradients live only during the walk.
"""
from __future__ import annotations

import numpy as np

from neuropil import backend
from neuropil.backend import threads

__all__ = ["Tensor", "Variable", "as_array"]


def _ops():
    # Operator sugar (``a + b``) is defined in terms of neuropil.ops, one level up; importing it
    # at call time keeps the engine free of a load-time dependency on its own users.
    import neuropil.ops as ops
    return ops


class Tensor:
    """An n-dimensional array that can take part in automatic differentiation.

    Args:
        data: array-like. NumPy arrays keep their dtype; Python floats become ``floatx()``.
        requires_grad: whether ``backward`` should compute a gradient for this tensor.
        dtype: optional dtype to cast ``data`` to.

    Example:
    >>> x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> x.grad
    array([2., 4., 6.], dtype=float32)
    """

    __slots__ = ("data", "grad", "requires_grad", "_producer", "__weakref__")
    # Makes ``ndarray + Tensor`` call ``Tensor.__radd__`` instead of NumPy's own loop.
    __array_priority__ = 100

    def __init__(self, data, requires_grad: bool = False, dtype=None):
        self.data = as_array(data, dtype)
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._producer = None

    # ---- array-like surface --------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def size(self) -> int:
        return self.data.size

    def numpy(self) -> np.ndarray:
        """The values, as a NumPy array (not a copy)."""
        return self.data

    def item(self):
        return self.data.item()

    def __array__(self, dtype=None, copy=None):
        if dtype is None:
            return self.data if not copy else self.data.copy()
        return self.data.astype(dtype, copy=bool(copy))

    def __len__(self) -> int:
        return len(self.data)

    def __float__(self) -> float:
        return float(self.data)

    def __int__(self) -> int:
        return int(self.data)

    def __bool__(self) -> bool:
        return bool(self.data)

    def __round__(self, ndigits=None):
        """``round(model.optimizer.learning_rate, 5)``: a scalar rounds as a Python float;
        other shapes give the rounded array."""
        if self.data.ndim == 0:
            return round(self.data.item(), ndigits)
        return np.round(self.data, ndigits or 0)

    def __format__(self, format_spec: str) -> str:
        """``f"{lr:.4f}"`` formats the value (of a one-element tensor) like a NumPy number."""
        if format_spec and self.data.size == 1:
            return format(self.data.reshape(()).item(), format_spec)
        return format(str(self), format_spec)

    def __repr__(self) -> str:
        grad = ", requires_grad=True" if self.requires_grad else ""
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        return f"tensor({body}, shape={self.shape}, dtype={self.dtype}{grad})"

    def detach(self) -> "Tensor":
        """The same values, cut from the graph."""
        return Tensor(self.data)

    # ---- autodiff ------------------------------------------------------------------
    def backward(self, grad=None, retain_graph: bool = False) -> None:
        """Computes the gradient of this tensor with respect to every leaf that requires one.

        Args:
            grad: the gradient flowing in; defaults to 1 for a single-element tensor.
            retain_graph: keep the graph so that ``backward`` can run through it again.
        """
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not require a gradient: no "
                               "op that produced it had an input with requires_grad=True, or "
                               "it was computed under no_grad().")
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError("backward() without a gradient needs a single-element "
                                   f"tensor; this one has shape {self.shape}. Pass grad=.")
            grad = np.ones_like(self.data)
        else:
            grad = as_array(grad, self.dtype)
            if grad.shape != self.shape:
                raise ValueError(f"backward(grad=...) expects shape {self.shape}, "
                                 f"received {grad.shape}.")
        with threads.region():  # see backend/threads.py: who owns the cores
            self._run_backward(grad, retain_graph)

    def _run_backward(self, grad, retain_graph: bool) -> None:
        pending = {id(self): grad}
        for tensor in reversed(_topological_order(self)):
            g = pending.pop(id(tensor), None)
            if g is None:
                continue
            op = tensor._producer
            if op is None:
                tensor.grad = g if tensor.grad is None else tensor.grad + g
                continue
            for inp, needed, g_in in zip(op.inputs, op.needs_grad, op.backward(g)):
                if not needed or g_in is None:
                    continue
                if g_in.shape != inp.data.shape:  # a wrong shape would otherwise spread silently
                    raise RuntimeError(f"{type(op).__name__}.backward returned a gradient of "
                                       f"shape {g_in.shape} for an input of shape {inp.shape}.")
                key = id(inp)
                # Out of place: an op may hand the same array to several inputs.
                pending[key] = g_in if key not in pending else pending[key] + g_in
            if not retain_graph:
                op.release()
                tensor._producer = _RELEASED

    # ---- operator sugar (each calls one op) ----------------------------------------
    def __add__(self, other): return _ops().add(self, other)
    def __radd__(self, other): return _ops().add(other, self)
    def __sub__(self, other): return _ops().subtract(self, other)
    def __rsub__(self, other): return _ops().subtract(other, self)
    def __mul__(self, other): return _ops().multiply(self, other)
    def __rmul__(self, other): return _ops().multiply(other, self)
    def __truediv__(self, other): return _ops().divide(self, other)
    def __rtruediv__(self, other): return _ops().divide(other, self)
    def __pow__(self, other): return _ops().power(self, other)
    def __rpow__(self, other): return _ops().power(other, self)
    def __matmul__(self, other): return _ops().matmul(self, other)
    def __rmatmul__(self, other): return _ops().matmul(other, self)
    def __neg__(self): return _ops().negative(self)
    def __pos__(self): return self
    def __abs__(self): return _ops().abs(self)
    def __getitem__(self, index): return _ops().getitem(self, index)

    # Comparisons give plain boolean arrays: they have no gradient. == and != compare values
    # element by element, as Keras tensors do (``ops.cast(a, "int32") == b`` in a metric);
    # hashing stays by identity, so tensors can still be dict keys and set members.
    def __eq__(self, other): return self.data == as_array(getattr(other, "data", other))
    def __ne__(self, other): return self.data != as_array(getattr(other, "data", other))
    def __lt__(self, other): return self.data < as_array(other)
    def __le__(self, other): return self.data <= as_array(other)
    def __gt__(self, other): return self.data > as_array(other)
    def __ge__(self, other): return self.data >= as_array(other)

    __hash__ = object.__hash__

    def reshape(self, *shape): return _ops().reshape(self, shape[0] if len(shape) == 1 else shape)
    def transpose(self, *axes):  # x.transpose(1, 0) and x.transpose((1, 0)), as in NumPy
        if len(axes) == 1 and not isinstance(axes[0], int):
            axes = axes[0]
        return _ops().transpose(self, axes or None)
    @property
    def T(self): return _ops().transpose(self)
    def sum(self, axis=None, keepdims=False): return _ops().sum(self, axis, keepdims)
    def mean(self, axis=None, keepdims=False): return _ops().mean(self, axis, keepdims)
    def max(self, axis=None, keepdims=False): return _ops().max(self, axis, keepdims)
    def min(self, axis=None, keepdims=False): return _ops().min(self, axis, keepdims)
    def exp(self): return _ops().exp(self)
    def log(self): return _ops().log(self)


class Variable(Tensor):
    """A named leaf tensor holding state: a layer's weight, a metric's total, a step counter.

    ``trainable`` decides whether it receives gradients. ``assign`` changes the values in place,
    keeping the same array object, so views and optimizer slots stay attached.

    Example:
    >>> v = Variable(np.zeros((2,)), name="bias")
    >>> v.assign([1.0, 2.0])
    >>> v.numpy()
    array([1., 2.], dtype=float32)
    """

    __slots__ = ("name", "path", "regularizer", "constraint", "intrinsic_trainable")

    def __init__(self, initializer, shape=None, dtype=None, trainable: bool = True,
                 name: str = "variable", regularizer=None, constraint=None):
        dtype = backend.standardize_dtype(dtype)
        value = initializer(shape, dtype=dtype) if callable(initializer) else initializer
        if shape is not None and np.shape(value) != tuple(shape):
            raise ValueError(f"Variable {name!r}: initial value has shape {np.shape(value)}, "
                             f"expected {tuple(shape)}.")
        super().__init__(np.array(value, dtype=dtype), requires_grad=trainable)
        self.name = name
        self.path = name
        self.regularizer = regularizer
        self.constraint = constraint
        # Whether the weight is meant to be trained at all (a moving mean is not); a frozen
        # layer turns requires_grad off without forgetting this.
        self.intrinsic_trainable = bool(trainable)

    @property
    def trainable(self) -> bool:
        return self.intrinsic_trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self.intrinsic_trainable = self.requires_grad = bool(value)

    @property
    def value(self) -> np.ndarray:
        return self.data

    def assign(self, value) -> None:
        value = np.asarray(value)
        if value.shape != self.data.shape:
            raise ValueError(f"Variable {self.path!r} has shape {self.data.shape}; cannot "
                             f"assign a value of shape {value.shape}.")
        self.data[...] = value

    def assign_add(self, value) -> None:
        self.data += np.asarray(value, dtype=self.data.dtype)

    def assign_sub(self, value) -> None:
        self.data -= np.asarray(value, dtype=self.data.dtype)

    def __repr__(self) -> str:
        return f"<Variable path={self.path}, shape={self.shape}, dtype={self.dtype}>"


def as_array(data, dtype=None) -> np.ndarray:
    """An ndarray view of ``data``: tensors unwrapped, Python floats as ``floatx()``."""
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, np.ndarray):
        return data if dtype is None or data.dtype == dtype else data.astype(dtype)
    if isinstance(data, np.generic):  # a NumPy scalar keeps its precision
        return np.asarray(data, dtype=dtype)
    array = np.asarray(data, dtype=dtype)
    if dtype is None and array.dtype == np.float64:
        array = array.astype(backend.floatx())  # Python floats carry no precision intent
    return array


class _Released:
    """Stands in for an op whose saved arrays a ``backward()`` has freed.

    Without it the op's output would look like a leaf, and a second ``backward()`` through the
    same graph would silently add nothing to the real leaves.
    """

    inputs = needs_grad = ()

    def backward(self, grad):
        raise RuntimeError("backward() through a graph a second time: the first backward() "
                           "released what the ops had saved. Pass retain_graph=True to the "
                           "first call, or run the forward pass again.")


_RELEASED = _Released()


def _topological_order(root: Tensor) -> list:
    """Tensors reachable from ``root`` through recorded ops, inputs before outputs."""
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        tensor, expanded = stack.pop()
        if expanded:
            order.append(tensor)
            continue
        if id(tensor) in visited:
            continue
        visited.add(id(tensor))
        stack.append((tensor, True))
        if tensor._producer is not None:
            for inp in tensor._producer.inputs:
                if inp.requires_grad and id(inp) not in visited:
                    stack.append((inp, False))
    return order
