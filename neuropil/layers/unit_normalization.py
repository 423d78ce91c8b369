"""UnitNormalization: each sample scaled to L2 norm 1."""
from __future__ import annotations

from neuropil import ops
from neuropil.layers.layer import Layer
from neuropil.layers.normalization_utils import _axis_in_bounds

__all__ = ["UnitNormalization"]


class UnitNormalization(Layer):
    """Scales each sample to Euclidean (L2) norm 1 over ``axis``: x / ||x||.

    The norm is floored at 1e-12, as in Keras, so an all-zero sample stays zero instead of
    dividing by zero. The layer has no weights and behaves the same in training and
    inference.

    Args:
        axis: an int or a list of ints, the axes the norm is taken over (default -1).

    Input shape: any. Output shape: the same.

    Example:
    >>> import neuropil as keras
    >>> keras.layers.UnitNormalization()(np.array([[3.0, 4.0]], "float32")).numpy()
    array([[0.6, 0.8]], dtype=float32)
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            axis = list(axis)
        if not all(isinstance(a, int) and not isinstance(a, bool)
                   for a in (axis if isinstance(axis, list) else [axis])):
            raise TypeError("UnitNormalization: `axis` must be an int or a list/tuple of "
                            f"ints. Received: axis={axis!r}")
        self.axis = axis
        self.supports_masking = True
        self.built = True  # no weights: built from the start, as in Keras

    def call(self, inputs):
        axis = tuple(self.axis) if isinstance(self.axis, list) else self.axis
        return ops.normalize(inputs, axis=axis, order=2, epsilon=1e-12)

    def compute_output_shape(self, input_shape):
        _axis_in_bounds(self, self.axis, input_shape)
        return input_shape

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
