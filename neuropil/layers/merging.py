"""Merge layers: several tensors in, one out (residual sums, concatenated branches, ...).

Each takes a list of tensors. The element-wise ones (Add, Subtract, Multiply, Average,
Maximum, Minimum) share ``Merge``, which checks the shapes with Keras's broadcasting rule at
``build`` time; Concatenate and Dot check their own axis. Lower-case functions
(``layers.add([a, b])``) make the layer and call it in one go, as in Keras.
"""
from __future__ import annotations

from neuropil import ops
from neuropil.layers.input_spec import format_shape
from neuropil.layers.layer import Layer

__all__ = ["Merge", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum",
           "Concatenate", "Dot", "add", "subtract", "multiply", "average", "maximum",
           "minimum", "concatenate", "dot"]


def _shapes(shapes) -> str:
    return "[" + ", ".join(format_shape(s) for s in shapes) + "]"


class Merge(Layer):
    """Base of the element-wise merge layers: a list of tensors -> one tensor.

    Shapes follow Keras's broadcasting rule, aligned on the right and without the batch axis:
    each pair of sizes must be equal or one of them 1 (``None`` matches anything). Inputs of
    lower rank get size-1 axes inserted after the batch axis, e.g. (batch, 3) with
    (batch, 4, 3) gives (batch, 4, 3). Subclasses write ``_merge_function(inputs)``.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self._reshape_required = False

    def _merge_function(self, inputs):
        raise NotImplementedError

    # ---- shapes -------------------------------------------------------------------------
    def _check_list(self, input_shape) -> list:
        if not isinstance(input_shape, (list, tuple)) or not input_shape or \
                not all(isinstance(s, (list, tuple)) for s in input_shape):
            raise ValueError(f'Layer "{self.name}" ({type(self).__name__}): a merge layer '
                             "should be called on a list of inputs, e.g. "
                             f"layers.{type(self).__name__}()([a, b]). Received: "
                             f"input_shape={input_shape}")
        return [tuple(s) for s in input_shape]

    def _elementwise_shape(self, shape1, shape2, shapes) -> tuple:
        """The broadcast of two shapes without batch axis (Keras's rule), or an error."""
        if len(shape1) < len(shape2):
            shape1, shape2 = shape2, shape1
        if not shape2:
            return tuple(shape1)
        out = list(shape1[:len(shape1) - len(shape2)])
        for i, j in zip(shape1[len(shape1) - len(shape2):], shape2):
            if i is None or j is None:
                out.append(None)
            elif i == 1 or j == 1 or i == j:
                out.append(j if i == 1 else i)
            else:
                raise ValueError(
                    f'Layer "{self.name}" ({type(self).__name__}): inputs have incompatible '
                    f"shapes. Received shapes {format_shape(shape1)} and "
                    f"{format_shape(shape2)} (batch axis left out; all inputs: "
                    f"{_shapes(shapes)}). Each axis, counted from the last, must have the "
                    "same size in every input, or size 1.")
        return tuple(out)

    def _output_without_batch(self, shapes) -> tuple:
        out = shapes[0][1:]
        for shape in shapes[1:]:
            out = self._elementwise_shape(out, shape[1:], shapes)
        return out

    def build(self, input_shape):
        shapes = self._check_list(input_shape)
        batch_sizes = {s[0] for s in shapes if s} - {None}
        if len(batch_sizes) > 1:
            raise ValueError(f'Layer "{self.name}" ({type(self).__name__}): cannot merge '
                             "tensors with different batch sizes. Received tensors with "
                             f"shapes {_shapes(shapes)}")
        self._output_without_batch(shapes)
        self._reshape_required = len({len(s) for s in shapes}) > 1

    def compute_output_shape(self, input_shape):
        shapes = self._check_list(input_shape)
        batch_sizes = {s[0] for s in shapes} - {None}
        batch = batch_sizes.pop() if len(batch_sizes) == 1 else None
        return (batch,) + self._output_without_batch(shapes)

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f'Layer "{self.name}" ({type(self).__name__}): a merge layer '
                             "should be called on a list of inputs. Received one tensor of "
                             f"shape {format_shape(getattr(inputs, 'shape', ()))}")
        inputs = list(inputs)
        if self._reshape_required:
            rank = max(x.ndim for x in inputs)
            for index, x in enumerate(inputs):
                for _ in range(rank - x.ndim):
                    x = ops.expand_dims(x, 1)
                inputs[index] = x
        return self._merge_function(inputs)


class Add(Merge):
    """Adds a list of tensors element-wise: ``Add()([x1, x2])`` is ``x1 + x2``.

    The residual connection of ResNet: ``layers.Add()([shortcut, x])``.

    Input shape: a list of tensors of the same (or broadcastable) shape.
    Output shape: that shape.

    Example:
    >>> a, b = keras.Input((16,)), keras.Input((16,))
    >>> keras.layers.Add()([a, b]).shape
    (None, 16)
    """

    def _merge_function(self, inputs):
        output = inputs[0]
        for x in inputs[1:]:
            output = ops.add(output, x)
        return output


class Subtract(Merge):
    """``inputs[0] - inputs[1]`` for a list of exactly two tensors."""

    def build(self, input_shape):
        super().build(input_shape)
        if len(input_shape) != 2:
            raise ValueError(f'Layer "{self.name}": a `Subtract` layer should be called on '
                             f"exactly 2 inputs. Received: input_shape={input_shape}")

    def _merge_function(self, inputs):
        if len(inputs) != 2:
            raise ValueError(f'Layer "{self.name}": a `Subtract` layer should be called on '
                             f"exactly 2 inputs. Received {len(inputs)} inputs.")
        return ops.subtract(inputs[0], inputs[1])


class Multiply(Merge):
    """Multiplies a list of tensors element-wise (e.g. a gate: ``Multiply()([x, g])``)."""

    def _merge_function(self, inputs):
        output = inputs[0]
        for x in inputs[1:]:
            output = ops.multiply(output, x)
        return output


class Average(Merge):
    """The element-wise mean of a list of tensors (e.g. an ensemble of branches)."""

    def _merge_function(self, inputs):
        output = inputs[0]
        for x in inputs[1:]:
            output = ops.add(output, x)
        return output / len(inputs)


class Maximum(Merge):
    """The element-wise maximum of a list of tensors."""

    def _merge_function(self, inputs):
        output = inputs[0]
        for x in inputs[1:]:
            output = ops.maximum(output, x)
        return output


class Minimum(Merge):
    """The element-wise minimum of a list of tensors."""

    def _merge_function(self, inputs):
        output = inputs[0]
        for x in inputs[1:]:
            output = ops.minimum(output, x)
        return output


class Concatenate(Merge):
    """Joins a list of tensors along ``axis``; every other axis must have the same size.

    Args:
        axis: the axis to join along (default -1, the channels of an image).

    Example:
    >>> a, b = keras.Input((8, 8, 3)), keras.Input((8, 8, 5))
    >>> keras.layers.Concatenate()([a, b]).shape
    (None, 8, 8, 8)
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def _mismatch(self, shapes):
        return ValueError(f'Layer "{self.name}" (Concatenate): a `Concatenate` layer requires '
                          "inputs with matching shapes except for the concatenation axis "
                          f"{self.axis}. Received: input_shape={_shapes(shapes)}")

    def build(self, input_shape):
        shapes = self._check_list(input_shape)
        if len({len(s) for s in shapes}) != 1:
            raise self._mismatch(shapes)
        rank = len(shapes[0])
        if not -rank <= self.axis < rank:
            raise ValueError(f'Layer "{self.name}" (Concatenate): axis={self.axis} is out of '
                             f"range for inputs of rank {rank} (shapes {_shapes(shapes)}).")
        axis = self.axis % rank
        for position in range(rank):
            sizes = {s[position] for s in shapes} - {None}
            if position != axis and len(sizes) > 1:
                raise self._mismatch(shapes)

    def compute_output_shape(self, input_shape):
        shapes = self._check_list(input_shape)
        out = list(shapes[0])
        for shape in shapes[1:]:
            if out[self.axis] is None or shape[self.axis] is None:
                out[self.axis] = None
                break
            out[self.axis] += shape[self.axis]
        return tuple(out)

    def _merge_function(self, inputs):
        return ops.concatenate(inputs, axis=self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class Dot(Merge):
    """The dot product of two tensors along one axis of each, sample by sample.

    With inputs (batch, 3, 5) and (batch, 10, 3) and ``axes=(1, 2)`` the output is
    (batch, 5, 10): the remaining axes of the first input, then of the second. Two vectors
    (batch, n) give (batch, 1).

    Args:
        axes: one int for both inputs, or a pair ``(axis of input 0, axis of input 1)``;
            the two sizes must match, and the batch axis 0 cannot be used.
        normalize: L2-normalize both inputs along those axes first, so the output is the
            cosine similarity.
    """

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axes, int):
            if not isinstance(axes, (list, tuple)):
                raise TypeError("Invalid type for argument `axes`: it should be a list or an "
                                f"int. Received: axes={axes}")
            if len(axes) != 2:
                raise ValueError("Invalid format for argument `axes`: it should contain two "
                                 f"elements. Received: axes={axes}")
            if not all(isinstance(a, int) for a in axes):
                raise ValueError("Invalid format for argument `axes`: list elements should "
                                 f"be integers. Received: axes={axes}")
        self.axes = axes
        self.normalize = normalize

    def _axes(self, shape1, shape2) -> list:
        axes = [self.axes, self.axes] if isinstance(self.axes, int) else list(self.axes)
        return [axes[0] % len(shape1), axes[1] % len(shape2)]

    def build(self, input_shape):
        shapes = self._check_list(input_shape)
        if len(shapes) != 2:
            raise ValueError(f'Layer "{self.name}": a `Dot` layer should be called on a list '
                             f"of 2 inputs. Received: input_shape={_shapes(shapes)}")
        shape1, shape2 = shapes
        if len(shape1) < 2 or len(shape2) < 2:
            raise ValueError(f'Layer "{self.name}": `Dot` needs inputs of rank 2 or more '
                             f"(batch, ...). Received shapes {_shapes(shapes)}")
        axes = self._axes(shape1, shape2)
        if 0 in axes:
            raise ValueError(f'Layer "{self.name}": cannot take the dot product over the '
                             f"batch axis 0 (axes={self.axes}).")
        size1, size2 = shape1[axes[0]], shape2[axes[1]]
        if size1 is not None and size2 is not None and size1 != size2:
            raise ValueError(f'Layer "{self.name}" (Dot): incompatible input shapes: axis '
                             f"values {size1} (at axis {axes[0]}) != {size2} (at axis "
                             f"{axes[1]}). Full input shapes: {format_shape(shape1)}, "
                             f"{format_shape(shape2)}")

    def compute_output_shape(self, input_shape):
        shape1, shape2 = (list(s) for s in self._check_list(input_shape))
        axes = self._axes(shape1, shape2)
        shape1.pop(axes[0])
        shape2.pop(axes[1])
        out = shape1 + shape2[1:]
        return tuple(out + [1] if len(out) == 1 else out)

    def _merge_function(self, inputs):
        if len(inputs) != 2:
            raise ValueError(f'Layer "{self.name}": a `Dot` layer should be called on '
                             f"exactly 2 inputs. Received {len(inputs)} inputs.")
        x, y = inputs
        axes = self._axes(x.shape, y.shape)
        if self.normalize:
            x = ops.normalize(x, axis=axes[0])
            y = ops.normalize(y, axis=axes[1])
        return _batch_dot(x, y, axes)

    def get_config(self):
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def _batch_dot(x, y, axes):
    """Per sample: x's axis ``axes[0]`` against y's ``axes[1]``, as one batched matmul of
    (batch, m, k) by (batch, k, n); the result is (batch, *x's other axes, *y's other axes),
    at least (batch, 1)."""
    x_rest = [d for i, d in enumerate(x.shape) if i not in (0, axes[0])]
    y_rest = [d for i, d in enumerate(y.shape) if i not in (0, axes[1])]
    batch, k = x.shape[0], x.shape[axes[0]]
    x = ops.transpose(x, [0] + [i for i in range(1, x.ndim) if i != axes[0]] + [axes[0]])
    y = ops.transpose(y, [0, axes[1]] + [i for i in range(1, y.ndim) if i != axes[1]])
    m, n = _product(x_rest), _product(y_rest)
    out = ops.matmul(ops.reshape(x, (batch, m, k)), ops.reshape(y, (batch, k, n)))
    return ops.reshape(out, (batch, *x_rest, *y_rest) if x_rest or y_rest else (batch, 1))


def _product(sizes) -> int:
    result = 1
    for size in sizes:
        result *= size
    return result


# ---- the functional forms --------------------------------------------------------------
def add(inputs, **kwargs):
    """``Add(**kwargs)(inputs)``: the element-wise sum of a list of tensors."""
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    """``Subtract(**kwargs)(inputs)``: ``inputs[0] - inputs[1]``."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """``Multiply(**kwargs)(inputs)``: the element-wise product."""
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    """``Average(**kwargs)(inputs)``: the element-wise mean."""
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    """``Maximum(**kwargs)(inputs)``: the element-wise maximum."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    """``Minimum(**kwargs)(inputs)``: the element-wise minimum."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    """``Concatenate(axis=axis, **kwargs)(inputs)``."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes=-1, **kwargs):
    """``Dot(axes=axes, **kwargs)(inputs)``."""
    return Dot(axes=axes, **kwargs)(inputs)
