"""Preprocessing layers that live inside the model.

- ``Rescaling`` and ``Normalization`` are arithmetic on the input, written with ops so that
  gradients flow through them.
- The image layers take channels-last batches ``(batch, height, width, channels)`` or single
  images ``(height, width, channels)``: ``Resizing`` and ``CenterCrop`` always apply; the
  augmentations ``RandomFlip``, ``RandomRotation``, ``RandomZoom``, ``RandomTranslation``,
  ``RandomCrop``, ``RandomContrast`` and ``RandomBrightness`` draw new parameters for every
  image on every call in training and are the identity in inference (``predict``,
  ``evaluate``, ``training=False``; RandomCrop center-crops instead).

As in Keras 3, the image layers' ``call`` defaults to ``training=True``: called on their own,
``layer(images)`` augments; inside a model, ``fit`` passes ``training=True`` and ``predict`` /
``evaluate`` pass ``training=False``. The geometry (one transform per image, all images at
once) lives in ``neuropil.data.image``.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from neuropil import backend, ops
from neuropil.autodiff import Tensor
from neuropil.backend import random
from neuropil.data import image
from neuropil.layers.conv_utils import normalize_data_format
from neuropil.layers.layer import Layer

__all__ = ["Rescaling", "Normalization", "Resizing", "CenterCrop", "RandomFlip",
           "RandomRotation", "RandomZoom", "RandomTranslation", "RandomCrop",
           "RandomContrast", "RandomBrightness"]

_AUGMENT_FILL_MODES = ("reflect", "wrap", "constant", "nearest")


class Rescaling(Layer):
    """Computes ``inputs * scale + offset``: e.g. ``Rescaling(1/255)`` maps 0-255 pixels to
    [0, 1], ``Rescaling(1/127.5, offset=-1)`` to [-1, 1].

    Args:
        scale: a float (or a per-channel list).
        offset: a float (or a per-channel list), default 0.
    """

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale, self.offset = scale, offset

    def call(self, inputs):
        return ops.add(ops.multiply(inputs, self.scale), self.offset)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}


# ---- Normalization -----------------------------------------------------------------------
class Normalization(Layer):
    """Shifts and scales inputs to mean 0 and variance 1: ``(x - mean) / sqrt(variance)``.

    The statistics are either given (``mean`` and ``variance``, kept as plain arrays) or
    learned from data with ``adapt(data)`` (kept as the non-trainable weights ``mean``,
    ``variance`` and ``count``, so they are saved with the model).

    Args:
        axis: the axis (or axes) that keep a separate mean and variance per index, e.g. -1
            (default) for one statistic per feature / channel; ``None`` for one scalar
            mean and variance over everything.
        mean, variance: given statistics, broadcast to the kept axes' shape; both or neither.
        invert: apply the inverse, ``mean + x * sqrt(variance)`` (turns normalized values
            back into the original scale).

    The standard deviation is floored at ``keras.backend.epsilon()`` so that constant
    features do not divide by zero. The layer is differentiable with respect to its input.

    Example:
    >>> layer = keras.layers.Normalization(axis=None)
    >>> layer.adapt(np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    >>> np.asarray(layer(np.array([1.0, 2.0, 3.0])))
    array([-1.4142135 , -0.70710677,  0.        ], dtype=float32)
    """

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        elif isinstance(axis, (int, np.integer)):
            axis = (int(axis),)
        else:
            axis = tuple(axis)
        self.axis = axis
        self.input_mean, self.input_variance = mean, variance
        self.invert = bool(invert)
        self.supports_masking = True
        self._given = None                      # (mean, variance) broadcast, once built
        if (mean is None) != (variance is None):
            raise ValueError(f'Normalization "{self.name}": when setting values directly, both '
                             f"`mean` and `variance` must be set. Received: mean={mean} and "
                             f"variance={variance}")
        if mean is not None:
            if np.shape(mean) != np.shape(variance):
                raise ValueError(f'Normalization "{self.name}": `mean` and `variance` must '
                                 f"have the same shape. Received: mean shape "
                                 f"{np.shape(mean)} and variance shape {np.shape(variance)}")
            if np.ndim(mean) > len(self.axis):
                raise ValueError(f'Normalization "{self.name}": the rank of `mean` must be at '
                                 f"most the number of axes ({len(self.axis)}). Received: "
                                 f"mean shape {np.shape(mean)} for axis {self.axis}")

    def build(self, input_shape):
        ndim = len(input_shape)
        if any(a < -ndim or a >= ndim for a in self.axis):
            raise ValueError(f'Normalization "{self.name}": all `axis` values must be in the '
                             f"range [-{ndim}, {ndim}) for inputs of rank {ndim}. Received: "
                             f"axis={self.axis}, input shape {tuple(input_shape)}")
        self._keep_axis = tuple(sorted(a % ndim for a in self.axis))
        unknown = [a for a in self._keep_axis if input_shape[a] is None]
        if unknown:
            raise ValueError(f'Normalization "{self.name}": the kept axes must have a known '
                             f"size. Received: axis={self.axis}, input shape "
                             f"{tuple(input_shape)} (axis {unknown[0]} is unknown)")
        self._reduce_axis = tuple(a for a in range(ndim) if a not in self._keep_axis)
        self._broadcast_shape = tuple(input_shape[a] if a in self._keep_axis else 1
                                      for a in range(ndim))
        self._mean_and_var_shape = tuple(input_shape[a] for a in self._keep_axis)
        if self.input_mean is None:
            self.adapt_mean = self.add_weight(name="mean", shape=self._mean_and_var_shape,
                                              initializer="zeros", trainable=False)
            self.adapt_variance = self.add_weight(name="variance",
                                                  shape=self._mean_and_var_shape,
                                                  initializer="ones", trainable=False)
            self.count = self.add_weight(name="count", shape=(), dtype="int32",
                                         initializer="zeros", trainable=False)
        else:
            self._given = (self._as_broadcast(self.input_mean, ndim),
                           self._as_broadcast(self.input_variance, ndim))

    def _as_broadcast(self, value, ndim: int) -> np.ndarray:
        """A given statistic, its dimensions aligned with the last kept axes, broadcast."""
        value = np.asarray(value, dtype=self.compute_dtype)
        shape = [1] * ndim
        for i in range(1, value.ndim + 1):
            shape[self._keep_axis[-i]] = value.shape[-i]
        return np.broadcast_to(value.reshape(shape), self._broadcast_shape).copy()

    @property
    def mean(self):
        """The mean in use, shaped to broadcast against inputs (None before ``build``)."""
        return self._statistic(0)

    @property
    def variance(self):
        """The variance in use, shaped to broadcast against inputs (None before ``build``)."""
        return self._statistic(1)

    def _statistic(self, which: int):
        if self._given is not None:
            return self._given[which]
        weight = (self.adapt_mean, self.adapt_variance)[which] if self.built else None
        if weight is None:
            return None
        # Read from the weight each time, so set_weights and loading take effect at once.
        return weight.data.reshape(self._broadcast_shape).astype(self.compute_dtype)

    def finalize_state(self) -> None:
        """Keras refreshes ``mean`` / ``variance`` from the weights here; ours are always
        read from the weights, so there is nothing to do."""

    def adapt(self, data) -> None:
        """Computes the mean and variance of ``data`` over every axis but ``axis``.

        Args:
            data: a NumPy array or tensor (all samples at once), or an iterable of batches
                (a list of arrays, a generator; ``(x, y)`` tuples use ``x``), merged with
                the parallel-variance formula.
        """
        if isinstance(data, (np.ndarray, Tensor)):
            batches = None
            input_shape = tuple(np.shape(data))
        elif hasattr(data, "__iter__"):
            iterator = iter(data)
            first = next(iterator, None)
            if first is None:
                raise ValueError(f'Normalization "{self.name}": adapt() received an empty '
                                 "iterable (no batches). Pass an array, or a non-empty "
                                 "iterable of arrays, e.g. layer.adapt([x]).")
            first = first[0] if isinstance(first, tuple) else first
            if not hasattr(first, "shape"):
                raise TypeError(f'Normalization "{self.name}": adapt() expects batches that '
                                f"are arrays (with a `.shape`). Received a batch of type "
                                f"{type(first).__name__}.")
            input_shape = tuple(first.shape)
            batches = itertools.chain([first], iterator)
        else:
            raise TypeError(f'Normalization "{self.name}": adapt() supports NumPy arrays, '
                            f"tensors and iterables of batches. Received: {type(data)}")
        if self.input_mean is not None:
            raise ValueError(f'Normalization "{self.name}" was given `mean` and `variance`; '
                             "it has nothing to adapt.")
        if not self.built:
            self.build(input_shape)
        else:
            self._check_adapt_shape(input_shape)
        if batches is None:
            values = np.asarray(data, dtype="float64")
            mean = values.mean(axis=self._reduce_axis)
            variance = values.var(axis=self._reduce_axis)
        else:
            mean, variance = self._merged_statistics(batches)
        self.adapt_mean.assign(np.asarray(mean, dtype=self.adapt_mean.dtype))
        self.adapt_variance.assign(np.asarray(variance, dtype=self.adapt_variance.dtype))

    def _check_adapt_shape(self, shape) -> None:
        expected = self._build_shapes
        if any(shape[a] != expected[a] for a in self._keep_axis):
            raise ValueError(f'Normalization "{self.name}" was built with input shape '
                             f"{tuple(expected)}, but adapt() received data of incompatible "
                             f"shape {tuple(shape)}: axes {self._keep_axis} must match.")

    def _merged_statistics(self, batches):
        """Mean and variance over all batches, merged one batch at a time."""
        mean = np.zeros(self._mean_and_var_shape)
        variance = np.zeros(self._mean_and_var_shape)
        total = 0
        for batch in batches:
            batch = np.asarray(batch[0] if isinstance(batch, tuple) else batch, "float64")
            self._check_adapt_shape(batch.shape)
            count = math.prod(batch.shape[a] for a in self._reduce_axis)
            total += count
            new_weight = count / total
            batch_mean = batch.mean(axis=self._reduce_axis)
            merged = mean * (1 - new_weight) + batch_mean * new_weight
            # Each part's variance about the merged mean, weighted by its share of samples.
            variance = ((variance + (mean - merged) ** 2) * (1 - new_weight) +
                        (batch.var(axis=self._reduce_axis) + (batch_mean - merged) ** 2)
                        * new_weight)
            mean = merged
        return mean, variance

    def call(self, inputs):
        mean, variance = self.mean, self.variance
        std = np.maximum(np.sqrt(variance), backend.epsilon()).astype(self.compute_dtype)
        if self.invert:
            return ops.add(ops.multiply(inputs, std), mean)
        return ops.divide(ops.subtract(inputs, mean), std)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "invert": self.invert,
                "mean": np.array(self.input_mean).tolist(),
                "variance": np.array(self.input_variance).tolist()}


# ---- the image family ---------------------------------------------------------------------
class _ImageLayer(Layer):
    """Family base of the image layers: checks the rank, turns the input into a channels-last
    NumPy batch, hands it to ``_transform(images, training)`` and wraps the result.

    NOTE: these layers sit on the model's input, where no gradient is needed, so they
    compute in NumPy and return a Tensor that carries no gradient.
    """

    # Augmentations pass their input through in inference; Resizing and CenterCrop do not.
    _identity_in_inference = True

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = normalize_data_format(data_format, type(self).__name__)

    def call(self, inputs, training=True):
        if training is None:  # not given, and no enclosing model said: Keras's default
            training = True
        if np.ndim(inputs) not in (3, 4):
            raise ValueError(f'{type(self).__name__} "{self.name}" expects images of rank 3 '
                             "(height, width, channels) or 4 (batch, height, width, channels). "
                             f"Received input of shape {np.shape(inputs)}")
        if self._identity_in_inference and not training:
            return inputs
        images = np.asarray(inputs.data if isinstance(inputs, Tensor) else inputs,
                            dtype=self.compute_dtype)
        batched = images.ndim == 4
        if not batched:
            images = images[np.newaxis]
        if self.data_format == "channels_first":
            images = images.transpose(0, 2, 3, 1)
        out = self._transform(images, bool(training))
        if self.data_format == "channels_first":
            out = out.transpose(0, 3, 1, 2)
        if not batched:
            out = out[0]
        return Tensor(np.ascontiguousarray(out, dtype=self.compute_dtype))

    def _transform(self, images: np.ndarray, training: bool) -> np.ndarray:
        """``images``: (batch, height, width, channels) NumPy; returns a new array."""
        raise NotImplementedError

    def _resized_shape(self, input_shape, height: int, width: int) -> tuple:
        """``input_shape`` (batched or not) with the spatial sizes replaced."""
        shape = list(input_shape)
        h_axis, w_axis = (-2, -1) if self.data_format == "channels_first" else (-3, -2)
        shape[h_axis], shape[w_axis] = height, width
        return tuple(shape)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


def _positive_int(layer: str, name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{layer}: `{name}` must be a positive integer. "
                         f"Received: {name}={value!r}")
    return int(value)


def _parse_factor(layer: str, factor, bounds: tuple, name: str = "factor") -> tuple:
    """Keras's factor rule: a number f gives (max(-|f|, low), |f|); a pair is sorted.
    Raises if the number is outside ``bounds`` or the pair lies wholly outside them."""
    low, high = bounds
    message = (f"{layer}: the `{name}` argument should be a number (or a list of two "
               f"numbers) in the range [{low}, {high}]. Received: {name}={factor!r}")
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or factor[0] > high or factor[1] < low:
            raise ValueError(message)
        lower, upper = sorted(float(f) for f in factor)
    elif isinstance(factor, (int, float, np.number)) and not isinstance(factor, bool):
        if not low <= factor <= high:
            raise ValueError(message)
        factor = abs(float(factor))
        lower, upper = max(-factor, low), factor
    else:
        raise ValueError(message)
    return lower, upper


def _parse_shift_factor(layer: str, name: str, factor, zoom: bool) -> tuple:
    """Zoom and translation factors: numbers in (-1, 1] (zoom) or [-1, 1] (translation);
    a number f gives (-|f|, |f|), a pair is sorted."""
    interval = "(-1.0, 1.0]" if zoom else "[-1.0, 1.0]"

    def check(value):
        ok = isinstance(value, (int, float, np.number)) and not isinstance(value, bool) and (
            -1 < value <= 1 if zoom else -1 <= value <= 1)
        if not ok:
            raise ValueError(f"{layer}: `{name}` should be a number (or a list of two numbers) "
                             f"in the range {interval}. Received: {name}={factor!r}")

    if isinstance(factor, (tuple, list)):
        if len(factor) != 2:
            raise ValueError(f"{layer}: `{name}` should be a number or a list of two numbers. "
                             f"Received: {name}={factor!r}")
        check(factor[0])
        check(factor[1])
        return tuple(sorted(float(f) for f in factor))
    check(factor)
    return -abs(float(factor)), abs(float(factor))


def _as_given(factor):
    """A factor as the user gave it, with a list made a tuple (so a config read back from
    JSON compares equal)."""
    return tuple(factor) if isinstance(factor, list) else factor


def _check_choice(layer: str, name: str, value, choices: tuple) -> str:
    if value not in choices:
        # NotImplementedError, as Keras raises for an unknown fill_mode / interpolation.
        raise NotImplementedError(f"{layer}: unknown `{name}` {value!r}. Expected one of "
                                  f"{choices}.")
    return value


class _RandomLayer(_ImageLayer):
    """An augmentation with its own random stream: ``seed`` makes it repeatable; without a
    seed the stream is drawn from neuropil's global generator when the layer is created, so
    ``keras.utils.set_random_seed`` before building the model makes runs repeatable."""

    def __init__(self, seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.seed = seed
        self.generator = random.make_generator(seed)

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


class _WarpLayer(_RandomLayer):
    """RandomRotation, RandomZoom, RandomTranslation: one affine transform per image, from
    ``_transforms(batch, height, width)``, applied by ``neuropil.data.image``."""

    def __init__(self, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        layer = type(self).__name__
        self.fill_mode = _check_choice(layer, "fill_mode", fill_mode, _AUGMENT_FILL_MODES)
        self.interpolation = _check_choice(layer, "interpolation", interpolation,
                                           image.INTERPOLATIONS)
        self.fill_value = fill_value

    def _transform(self, images, training):
        batch, height, width = images.shape[:3]
        transforms = self._transforms(batch, height, width).astype(images.dtype)
        return image.affine_transform(images, transforms, self.interpolation, self.fill_mode,
                                      self.fill_value)

    def get_config(self):
        return {**super().get_config(), "fill_mode": self.fill_mode,
                "interpolation": self.interpolation, "fill_value": self.fill_value}


class RandomFlip(_RandomLayer):
    """Randomly flips images left-right and/or top-bottom in training.

    Args:
        mode: ``"horizontal"`` (left-right), ``"vertical"`` (top-bottom) or
            ``"horizontal_and_vertical"`` (default).
        seed: seed of this layer's own random stream.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Each image is flipped with probability 1/2. As in Keras 3, ``"horizontal_and_vertical"``
    uses one draw per image for both flips: an image is either left as it is or flipped both
    ways (turned 180°).

    Input shape: (batch, height, width, channels) or (height, width, channels).
    Output shape: the same, in the layer's float dtype.

    Example:
    >>> image = np.arange(4.0).reshape(1, 2, 2, 1)   # [[0, 1], [2, 3]]
    >>> flip = keras.layers.RandomFlip("horizontal", seed=0)
    >>> np.asarray(flip(image, training=False))[0, ..., 0]   # inference: unchanged
    array([[0., 1.],
           [2., 3.]], dtype=float32)
    """

    _MODES = ("horizontal", "vertical", "horizontal_and_vertical")

    def __init__(self, mode="horizontal_and_vertical", seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        if mode not in self._MODES:
            raise ValueError(f"RandomFlip: `mode` must be one of {self._MODES}. "
                             f"Received: mode={mode!r}")
        self.mode = mode

    def _transform(self, images, training):
        flips = random.batch_draw(lambda s: self.generator.uniform(size=s),
                                  (len(images),)) <= 0.5
        flipped = images
        if self.mode in ("horizontal", "horizontal_and_vertical"):
            flipped = flipped[:, :, ::-1]
        if self.mode in ("vertical", "horizontal_and_vertical"):
            flipped = flipped[:, ::-1]
        return np.where(flips[:, None, None, None], flipped, images)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


class RandomRotation(_WarpLayer):
    """Rotates each image by a random angle about its centre in training.

    Args:
        factor: fraction of a full turn (2π): a number f draws angles in [-f, f] · 360°; a
            pair (low, high) draws in [low, high] · 360°. Positive angles turn the picture
            counter-clockwise (as displayed, row 0 at the top), negative ones clockwise.
        fill_mode: how the corners that come from outside the image are filled:
            ``"reflect"`` (default, d c b a | a b c d | d c b a), ``"wrap"``
            (a b c d | a b c d), ``"nearest"`` (a a | a b c d | d d), ``"constant"``
            (``fill_value``).
        interpolation: ``"bilinear"`` (default) or ``"nearest"``.
        seed: seed of this layer's own random stream.
        fill_value: the value outside the image with ``fill_mode="constant"``.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Example: ``factor=(0.25, 0.25)`` always turns a quarter counter-clockwise, which for a
    square image with ``interpolation="nearest"`` is exactly ``np.rot90``.
    """

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.factor = _parse_factor("RandomRotation", factor, (-1, 1))

    def _transforms(self, batch, height, width):
        low, high = self.factor
        degrees = random.batch_draw(
            lambda s: self.generator.uniform(low * 360.0, high * 360.0, size=s), (batch,))
        return image.rotation_transforms(np.deg2rad(degrees), height, width)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class RandomZoom(_WarpLayer):
    """Zooms each image in or out about its centre by a random amount in training.

    Args:
        height_factor: fraction of the height: a number f draws a vertical zoom in
            [-f, f], a pair (low, high) in [low, high], each in (-1, 1]. Positive values
            zoom out (the picture shrinks and its surroundings are filled), negative
            values zoom in: ``height_factor=(-0.3, -0.2)`` enlarges by 20-30%.
        width_factor: the same for the width; ``None`` (default) uses the vertical zoom
            for both, keeping the aspect ratio.
        fill_mode, interpolation, seed, fill_value, data_format: as in RandomRotation.

    Each image's output pixel x reads the input at cx + (1 + z)(x - cx), cx the centre.
    """

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect",
                 interpolation="bilinear", seed=None, fill_value=0.0, data_format=None,
                 **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_factor, self.width_factor = _as_given(height_factor), _as_given(width_factor)
        self.height_lower, self.height_upper = _parse_shift_factor(
            "RandomZoom", "height_factor", height_factor, zoom=True)
        if width_factor is not None:
            self.width_lower, self.width_upper = _parse_shift_factor(
                "RandomZoom", "width_factor", width_factor, zoom=True)

    def _transforms(self, batch, height, width):
        zoom_y = 1.0 + random.batch_draw(
            lambda s: self.generator.uniform(self.height_lower, self.height_upper, s), (batch,))
        zoom_x = zoom_y
        if self.width_factor is not None:
            zoom_x = 1.0 + random.batch_draw(
                lambda s: self.generator.uniform(self.width_lower, self.width_upper, s), (batch,))
        return image.zoom_transforms(zoom_x, zoom_y, height, width)

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor,
                "width_factor": self.width_factor}


class RandomTranslation(_WarpLayer):
    """Shifts each image by a random number of pixels in training.

    Args:
        height_factor: fraction of the height: a number f draws a vertical shift in
            [-f, f] · height, a pair (low, high) in [low, high] · height, each in [-1, 1].
            Negative values shift up, positive down.
        width_factor: the same for the width; negative shifts left, positive right.
        fill_mode, interpolation, seed, fill_value, data_format: as in RandomRotation.
    """

    def __init__(self, height_factor, width_factor, fill_mode="reflect",
                 interpolation="bilinear", seed=None, fill_value=0.0, data_format=None,
                 **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_factor, self.width_factor = _as_given(height_factor), _as_given(width_factor)
        self.height_lower, self.height_upper = _parse_shift_factor(
            "RandomTranslation", "height_factor", height_factor, zoom=False)
        self.width_lower, self.width_upper = _parse_shift_factor(
            "RandomTranslation", "width_factor", width_factor, zoom=False)

    def _transforms(self, batch, height, width):
        dy = random.batch_draw(lambda s: self.generator.uniform(
            self.height_lower, self.height_upper, s), (batch,)) * height
        dx = random.batch_draw(lambda s: self.generator.uniform(
            self.width_lower, self.width_upper, s), (batch,)) * width
        return image.translation_transforms(dx, dy)

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor,
                "width_factor": self.width_factor}


class _CropToSize:
    """What RandomCrop and CenterCrop share: a height × width window at the top-left corner
    ``_corner`` gives (None: no crop), else, and for images smaller than the target, the
    centred aspect-ratio crop resized to the target (Keras's ``smart_resize``)."""

    def _transform(self, images, training):
        height, width = images.shape[1:3]
        fits = height >= self.height and width >= self.width
        corner = self._corner(height, width, training) if fits else None
        if corner is None:
            return _smart_resize(images, self.height, self.width)
        top, left = corner
        return images[:, top:top + self.height, left:left + self.width].copy()

    def compute_output_shape(self, input_shape):
        return self._resized_shape(input_shape, self.height, self.width)

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width}


class RandomCrop(_CropToSize, _RandomLayer):
    """Crops a random height × width window in training; in inference, the largest centred
    window with the target's aspect ratio, resized to height × width.

    Args:
        height, width: the output size.
        seed: seed of this layer's own random stream (Keras draws one, and saves it in the
            config, when none is given).
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    In training one window position is drawn per batch (all images of a batch are cropped at
    the same place). Images smaller than the target take the inference path (centred
    aspect-ratio crop, then bilinear resize) in training too.

    NOTE: this is the behaviour Keras documents. Keras 3.8+'s code passes inputs through
    unchanged when ``training=False`` (keras-team/keras#21868, open), so its output shape
    then differs from the declared one; and it takes the resize path when an image equals
    the target in one dimension. We follow the documentation in both cases.
    """

    _identity_in_inference = False

    def __init__(self, height, width, seed=None, data_format=None, **kwargs):
        seed = random.draw_seed() if seed is None else seed
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.height = _positive_int("RandomCrop", "height", height)
        self.width = _positive_int("RandomCrop", "width", width)

    def _corner(self, height, width, training):
        if not training:
            return None
        return (int(self.generator.uniform(0, height - self.height + 1)),
                int(self.generator.uniform(0, width - self.width + 1)))


def _smart_resize(images, height: int, width: int, interpolation: str = "bilinear"):
    """Keras's ``smart_resize``: the largest centred crop with the target's aspect ratio,
    resized to height × width."""
    return image.resize(image.crop_to_aspect_ratio(images, height, width), height, width,
                        interpolation)


class RandomContrast(_RandomLayer):
    """Scales each image's deviation from its per-channel mean by a random factor in
    training: ``(x - mean) * c + mean``, clipped to ``value_range``.

    Args:
        factor: a number f in [0, 1], or a pair (low, high): c is drawn from
            [1 - low, 1 + high].
        value_range: the range of the pixel values, ``(0, 255)`` by default; outputs are
            clipped to it.
        seed: seed of this layer's own random stream.

    NOTE: as Keras 3's code (not its docstring) does, a single number f gives the pair
    (0, f), so c is drawn from [1, 1 + f]: contrast only increases. Pass ``(f, f)`` for
    [1 - f, 1 + f].
    """

    def __init__(self, factor, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = _parse_factor("RandomContrast", factor, (0, 1))
        self.value_range = tuple(value_range)

    def _transform(self, images, training):
        low, high = self.factor
        contrast = random.batch_draw(
            lambda s: self.generator.uniform(1.0 - low, 1.0 + high, size=s),
            (len(images), 1, 1, 1))
        mean = images.mean(axis=(1, 2), keepdims=True)
        out = (images - mean) * contrast.astype(images.dtype) + mean
        return np.clip(out, self.value_range[0], self.value_range[1])

    def get_config(self):
        return {**super().get_config(), "factor": self.factor,
                "value_range": self.value_range}


class RandomBrightness(_RandomLayer):
    """Adds a random amount to every pixel of each image in training, clipped to
    ``value_range``.

    Args:
        factor: a number f in [-1, 1] draws from [-f, f], a pair from [low, high]; the
            amount is that fraction of the value range (-1 turns an image black, 1 white).
        value_range: the range of the pixel values, ``(0, 255)`` by default.
        seed: seed of this layer's own random stream.
    """

    def __init__(self, factor, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = _parse_factor("RandomBrightness", factor, (-1, 1))
        if not isinstance(value_range, (tuple, list)) or len(value_range) != 2:
            raise ValueError("RandomBrightness: the `value_range` argument should be a list of "
                             f"two numbers. Received: value_range={value_range!r}")
        self.value_range = sorted(value_range)

    def _transform(self, images, training):
        low, high = self.value_range
        delta = random.batch_draw(lambda s: self.generator.uniform(*self.factor, size=s),
                                  (len(images), 1, 1, 1)) * (high - low)
        return np.clip(images + delta.astype(images.dtype), low, high)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor,
                "value_range": self.value_range}


class Resizing(_ImageLayer):
    """Resizes images to height × width (in training and inference alike).

    Args:
        height, width: the output size.
        interpolation: ``"bilinear"`` (default), ``"nearest"``, ``"bicubic"``,
            ``"lanczos3"`` or ``"lanczos5"``.
        crop_to_aspect_ratio: first crop the largest centred window with the target's
            aspect ratio, so nothing is stretched.
        pad_to_aspect_ratio: first pad the short side evenly with ``fill_value`` instead.
        fill_mode: only ``"constant"``.
        fill_value: the padding value.
        antialias: when shrinking, let every input pixel contribute (a wider kernel).
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Pixel centres are at half-pixel offsets (TensorFlow's and JAX's convention): output
    pixel j samples the input at (j + 0.5) · in / out - 0.5. Outputs are floats.

    Example:
    >>> np.asarray(keras.layers.Resizing(1, 4)(np.array([[[0.0], [4.0]]])))[..., 0]
    array([[0., 1., 3., 4.]], dtype=float32)
    """

    _identity_in_inference = False

    def __init__(self, height, width, interpolation="bilinear", crop_to_aspect_ratio=False,
                 pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0,
                 antialias=False, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.height = _positive_int("Resizing", "height", height)
        self.width = _positive_int("Resizing", "width", width)
        if interpolation not in image.RESIZE_INTERPOLATIONS:
            raise ValueError(f"Resizing: `interpolation` must be one of "
                             f"{image.RESIZE_INTERPOLATIONS}. "
                             f"Received: interpolation={interpolation!r}")
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise ValueError("Resizing: only one of `pad_to_aspect_ratio` and "
                             "`crop_to_aspect_ratio` can be True.")
        if fill_mode != "constant":
            raise ValueError("Resizing: only fill_mode='constant' is supported. "
                             f"Received: fill_mode={fill_mode!r}")
        self.interpolation = interpolation
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        self.pad_to_aspect_ratio = bool(pad_to_aspect_ratio)
        self.fill_mode, self.fill_value = fill_mode, fill_value
        self.antialias = bool(antialias)

    def _transform(self, images, training):
        if self.crop_to_aspect_ratio:
            images = image.crop_to_aspect_ratio(images, self.height, self.width)
        elif self.pad_to_aspect_ratio:
            images = image.pad_to_aspect_ratio(images, self.height, self.width,
                                               self.fill_value)
        return image.resize(images, self.height, self.width, self.interpolation,
                            self.antialias)

    def compute_output_shape(self, input_shape):
        return self._resized_shape(input_shape, self.height, self.width)

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width,
                "interpolation": self.interpolation,
                "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
                "pad_to_aspect_ratio": self.pad_to_aspect_ratio, "fill_mode": self.fill_mode,
                "fill_value": self.fill_value, "antialias": self.antialias}


class CenterCrop(_CropToSize, _ImageLayer):
    """Crops the central height × width window (in training and inference alike).

    Args:
        height, width: the output size.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    The window starts at ((H - height) // 2, (W - width) // 2). An image smaller than the
    target in either dimension is instead cropped to the target's aspect ratio and resized
    (bilinear), as Keras's ``smart_resize`` does.
    """

    _identity_in_inference = False

    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.height = _positive_int("CenterCrop", "height", height)
        self.width = _positive_int("CenterCrop", "width", width)

    def _corner(self, height, width, training):
        return (height - self.height) // 2, (width - self.width) // 2
