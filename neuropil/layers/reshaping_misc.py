"""Layers that rearrange or copy the axes of each sample: Permute and RepeatVector.

(Kept apart from reshaping.py, the padding / cropping / upsampling family.)"""
from __future__ import annotations

from neuropil import ops
from neuropil.layers.input_spec import InputSpec
from neuropil.layers.layer import Layer

__all__ = ["Permute", "RepeatVector"]


class Permute(Layer):
    """Reorders the axes of each sample; the batch axis stays first.

    Args:
        dims: a tuple with each of 1, 2, ..., rank - 1 once: output axis i + 1 is input
            axis ``dims[i]`` (axes count from 1, the first after the batch). ``(2, 1)``
            swaps the two axes of a sequence (batch, steps, features) into
            (batch, features, steps).

    Input shape: (batch, d1, ..., dn), n = len(dims).
    Output shape: (batch, d[dims[0]], ..., d[dims[n - 1]]).

    Example:
    >>> import neuropil as keras
    >>> x = keras.Input(shape=(10, 64))
    >>> keras.layers.Permute((2, 1))(x).shape
    (None, 64, 10)
    """

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        try:
            self.dims = tuple(dims)
            valid = sorted(self.dims) == list(range(1, len(self.dims) + 1))
        except TypeError:
            valid = False
        if not valid or any(isinstance(d, bool) for d in self.dims):
            raise ValueError("Invalid permutation argument `dims` for Permute layer: it must "
                             "hold each of 1, 2, ..., n once (axis 0, the batch, is not "
                             f"listed). Received: dims={dims!r}")
        self.input_spec = InputSpec(ndim=len(self.dims) + 1)

    def call(self, inputs):
        return ops.transpose(inputs, (0,) + self.dims)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def get_config(self):
        return {**super().get_config(), "dims": self.dims}


class RepeatVector(Layer):
    """Repeats each sample's vector ``n`` times: (batch, features) -> (batch, n, features),
    e.g. to feed one encoding to every step of a sequence decoder.

    Args:
        n: a positive integer, the number of copies.

    Input shape: (batch, features). Output shape: (batch, n, features).

    Example:
    >>> import neuropil as keras
    >>> keras.layers.RepeatVector(3)(np.array([[1.0, 2.0]], "float32")).numpy()
    array([[[1., 2.],
            [1., 2.],
            [1., 2.]]], dtype=float32)
    """

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"RepeatVector: expected an integer value for `n`. Received: "
                            f"n={n!r} of type {type(n).__name__}")
        if n <= 0:
            raise ValueError(f"RepeatVector: argument `n` should be a positive integer. "
                             f"Received: n={n}")
        self.n = n
        self.input_spec = InputSpec(ndim=2)

    def call(self, inputs):
        batch, features = inputs.shape
        # A new axis of size 1, repeated n times: the gradient sums the n copies back.
        return ops.repeat(ops.reshape(inputs, (batch, 1, features)), self.n, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self):
        return {**super().get_config(), "n": self.n}
