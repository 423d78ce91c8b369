"""Vectorized image geometry for the augmentation and resizing layers.

Every function takes a whole channels-last batch ``(batch, height, width, channels)`` and
works on all images at once with NumPy broadcasting: no Python loop over images or pixels.

**Transforms** follow Keras (TensorFlow's ``ImageProjectiveTransformV3``). A transform is
eight numbers ``[a0, a1, a2, b0, b1, b2, c0, c1]`` that send an *output* pixel (x, y)
(x the column, y the row, pixel centres at whole numbers) to the *input* point it is read
from::

    k = c0·x + c1·y + 1,   x_in = (a0·x + a1·y + a2) / k,   y_in = (b0·x + b1·y + b2) / k

So a transform describes the inverse of the motion you see: ``a2 = -3`` reads three columns
to the left, which moves the picture three columns to the right.

**Sampling**: ``"nearest"`` reads the pixel at floor(p + 0.5); ``"bilinear"`` mixes the four
pixels around p by their distances.

**Outside the image** the integer pixel indices the sampler needs are folded back in by
``fill_mode`` before interpolating, for an input row ``a b c d``::

    "reflect"   d c b a | a b c d | d c b a    mirrored about the outer edge of the last pixel
    "wrap"      a b c d | a b c d | a b c d
    "nearest"   a a a a | a b c d | d d d d
    "constant"  k k k k | a b c d | k k k k    k = fill_value
    "mirror"    d c b | a b c d | c b a        mirrored about the last pixel's centre

That is what Keras's NumPy and JAX backends compute (they pad the image by the fill mode,
then interpolate), and TensorFlow agrees for reflect, nearest and constant.

**Resizing** is Keras's ``ops.image.resize``: half-pixel centres (output pixel j samples input
position (j + 0.5)·in/out - 0.5), separable kernels whose weights are renormalized at the
borders, optional antialiasing when shrinking.

Imports only NumPy.
"""
from __future__ import annotations

import threading

import numpy as np

__all__ = ["FILL_MODES", "INTERPOLATIONS", "RESIZE_INTERPOLATIONS", "affine_transform",
           "fold_indices", "rotation_transforms", "zoom_transforms", "translation_transforms",
           "resize", "aspect_crop_box", "crop_to_aspect_ratio", "pad_to_aspect_ratio"]

FILL_MODES = ("reflect", "wrap", "constant", "nearest", "mirror")
INTERPOLATIONS = ("nearest", "bilinear")
RESIZE_INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "lanczos3", "lanczos5")


# ---- transforms ------------------------------------------------------------------------
def rotation_transforms(angles, height: int, width: int, dtype="float32") -> np.ndarray:
    """Transforms that rotate each image about its centre by ``angles`` (radians, one per
    image; positive turns the picture counter-clockwise as displayed, rows going down).

    The centre is ((width - 1) / 2, (height - 1) / 2), the middle of the pixel grid, so a
    quarter turn of a square image is exactly ``np.rot90``.
    """
    angles = np.asarray(angles, dtype="float64").reshape(-1)
    cos, sin = np.cos(angles), np.sin(angles)
    cx, cy = (width - 1) / 2, (height - 1) / 2
    # Output (x, y) is read from the input point rotated back by the angle about the centre.
    zero = np.zeros_like(angles)
    return np.stack([cos, -sin, cx - cx * cos + cy * sin,
                     sin, cos, cy - cx * sin - cy * cos, zero, zero], axis=1).astype(dtype)


def zoom_transforms(zoom_x, zoom_y, height: int, width: int, dtype="float32") -> np.ndarray:
    """Transforms that scale each image about its centre: output x reads input
    ``cx + zoom_x·(x - cx)``, so a zoom above 1 shows more of the image (zooms out) and one
    below 1 shows less (zooms in)."""
    zx = np.asarray(zoom_x, dtype="float64").reshape(-1)
    zy = np.asarray(zoom_y, dtype="float64").reshape(-1)
    zero = np.zeros_like(zx)
    return np.stack([zx, zero, (width - 1) / 2 * (1 - zx),
                     zero, zy, (height - 1) / 2 * (1 - zy), zero, zero], axis=1).astype(dtype)


def translation_transforms(dx, dy, dtype="float32") -> np.ndarray:
    """Transforms that move each image ``dx`` pixels right and ``dy`` pixels down."""
    dx = np.asarray(dx, dtype="float64").reshape(-1)
    dy = np.asarray(dy, dtype="float64").reshape(-1)
    one, zero = np.ones_like(dx), np.zeros_like(dx)
    return np.stack([one, zero, -dx, zero, one, -dy, zero, zero], axis=1).astype(dtype)


# ---- the warp --------------------------------------------------------------------------
def affine_transform(images, transforms, interpolation: str = "bilinear",
                     fill_mode: str = "constant", fill_value: float = 0.0) -> np.ndarray:
    """Warps every image of a batch by its own transform, all at once.

    Args:
        images: ``(batch, height, width, channels)`` array. Integer images are read as
            float32; float images keep their dtype.
        transforms: ``(batch, 8)`` (one per image) or ``(8,)`` (the same for all), in the
            convention of this module's docstring (c0 = c1 = 0 for an affine transform).
        interpolation: ``"bilinear"`` or ``"nearest"``.
        fill_mode: ``"reflect"``, ``"wrap"``, ``"constant"``, ``"nearest"`` or ``"mirror"``.
        fill_value: the value outside the image when ``fill_mode="constant"``.

    Returns:
        The warped batch, same shape, float dtype.

    Example (a transform reading one column to the left moves the picture right):
    >>> row = np.arange(1.0, 5.0).reshape(1, 1, 4, 1)
    >>> affine_transform(row, [1, 0, -1, 0, 1, 0, 0, 0], fill_mode="reflect")[0, 0, :, 0]
    array([1., 1., 2., 3.])
    """
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"affine_transform: `interpolation` must be one of {INTERPOLATIONS}. "
                         f"Received: interpolation={interpolation!r}")
    if fill_mode not in FILL_MODES:
        raise ValueError(f"affine_transform: `fill_mode` must be one of {FILL_MODES}. "
                         f"Received: fill_mode={fill_mode!r}")
    images = _float_images(images, "affine_transform")
    batch, height, width, channels = images.shape
    dtype = images.dtype
    transforms = np.asarray(transforms, dtype=dtype)
    if transforms.shape not in ((8,), (1, 8), (batch, 8)):
        raise ValueError(f"affine_transform: `transforms` must have shape (8,) or "
                         f"({batch}, 8) for {batch} images. Received: {transforms.shape}")
    transforms = np.broadcast_to(transforms.reshape(-1, 8), (batch, 8))
    if images.size == 0:
        return images.copy()

    work = _scratch(batch, height, width, channels, dtype)
    outside = _source_points(transforms, work.x, work.y)
    source = images
    if fill_mode == "constant":  # the fill is read from one extra row and column per image
        source = work.padded
        source[:, :height, :width] = images
        source[:, height:] = fill_value
        source[:, :, width:] = fill_value
    stride = source.shape[2]
    flat = source.reshape(-1) if channels == 1 else source.reshape(-1, channels)
    first_row = (np.arange(batch) * (source.shape[1] * stride)).reshape(batch, 1, 1)

    def gather(index, out=None):
        # mode="clip" skips NumPy's bounds check: every index is in range by construction.
        return np.take(flat, index, axis=0, out=out, mode="clip")

    if interpolation == "nearest":
        _fold_axis(work.x, width, fill_mode, work.steps, work.col0, nearest=True)
        _fold_axis(work.y, height, fill_mode, work.steps, work.row0, nearest=True, scale=stride)
        work.row0 += first_row
        work.row0 += work.col0
        out = gather(work.row0)
    else:
        fx = _fold_axis(work.x, width, fill_mode, work.steps, work.col0, work.col1)
        fy = _fold_axis(work.y, height, fill_mode, work.steps, work.row0, work.row1,
                        scale=stride)
        work.row0 += first_row
        work.row1 += first_row
        if channels > 1:
            fx, fy = fx[..., None], fy[..., None]
        # top = v00 + fx·(v01 - v00); bottom = v10 + fx·(v11 - v10); out = top + fy·(bottom
        # - top), in place in the scratch buffers; only the result is a new array.
        index, right, bottom = work.index, work.value0, work.value1
        top = gather(np.add(work.row0, work.col0, out=index))
        gather(np.add(work.row0, work.col1, out=index), out=right)
        right -= top
        right *= fx
        top += right
        gather(np.add(work.row1, work.col0, out=index), out=bottom)
        gather(np.add(work.row1, work.col1, out=index), out=right)
        right -= bottom
        right *= fx
        bottom += right
        bottom -= top
        bottom *= fy
        top += bottom
        out = top
    if channels == 1:
        out = out[..., None]
    if outside is not None:  # projective points at infinity (k = 0): TensorFlow fills them
        out[outside] = fill_value
    return out


def _float_images(images, who: str) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"{who}: expected a batch of images (batch, height, width, "
                         f"channels). Received an array of shape {images.shape}")
    if images.dtype.kind != "f":
        images = images.astype("float32")
    return images


class _Scratch:
    """The full-size temporaries of one warp shape, kept between calls.

    A 128 × 28 × 28 batch needs about 8 MB of coordinates, indices and neighbour values.
    Fresh arrays that large come straight from the operating system, and touching their
    pages cost 3 ms a warp, more than the arithmetic (1.2 ms); reused buffers cost nothing.
    """

    def __init__(self, batch: int, height: int, width: int, channels: int, dtype):
        grid = (batch, height, width)
        values = grid if channels == 1 else grid + (channels,)
        self.x, self.y = np.empty(grid, dtype), np.empty(grid, dtype)
        self.steps = np.empty(grid, np.int32)
        self.col0, self.col1 = np.empty(grid, np.intp), np.empty(grid, np.intp)
        self.row0, self.row1 = np.empty(grid, np.intp), np.empty(grid, np.intp)
        self.index = np.empty(grid, np.intp)
        self.value0, self.value1 = np.empty(values, dtype), np.empty(values, dtype)
        self.padded = np.empty((batch, height + 1, width + 1, channels), dtype)


_scratch_cache = threading.local()


def _scratch(batch: int, height: int, width: int, channels: int, dtype) -> _Scratch:
    """This thread's scratch buffers for the shape (the last two shapes are kept: about
    52 + 12 · channels bytes per pixel of the batch, e.g. 6.4 MB for 128 × 28 × 28 × 1)."""
    cache = getattr(_scratch_cache, "buffers", None)
    if cache is None:
        cache = _scratch_cache.buffers = {}
    key = (batch, height, width, channels, np.dtype(dtype).str)
    work = cache.pop(key, None)
    if work is None:
        work = _Scratch(batch, height, width, channels, dtype)
    cache[key] = work                      # most recently used last
    while len(cache) > 2:
        del cache[next(iter(cache))]
    return work


def _source_points(transforms, x_out, y_out):
    """Fills ``x_out`` and ``y_out`` (batch, height, width) with the input coordinates that
    every output pixel of every image reads; returns where k = 0 (or None)."""
    batch, height, width = x_out.shape
    dtype = x_out.dtype
    a0, a1, a2, b0, b1, b2, c0, c1 = (transforms[:, i].reshape(-1, 1, 1) for i in range(8))
    cols = np.arange(width, dtype=dtype).reshape(1, 1, width)
    rows = np.arange(height, dtype=dtype).reshape(1, height, 1)
    np.add(a0 * cols, a1 * rows + a2, out=x_out)
    np.add(b0 * cols, b1 * rows + b2, out=y_out)
    if not np.any(transforms[:, 6:]):
        return None
    k = c0 * cols + (c1 * rows + 1)
    outside = k == 0
    k[outside] = 1
    x_out /= k
    y_out /= k
    return outside if outside.any() else None


def _fold_axis(coords, length: int, fill_mode: str, steps, first, second=None,
               nearest: bool = False, scale: int = 1):
    """Source indices along one axis for every output pixel, folded in by ``fill_mode`` and
    multiplied by ``scale`` (the row stride, for rows), written into ``first`` (and
    ``second``). ``coords`` is used as scratch.

    ``nearest``: ``first`` = the index of floor(p + 0.5). Otherwise ``first`` = floor(p),
    ``second`` = floor(p) + 1, and the weight of the second, p - floor(p), is returned (in
    ``coords``' buffer). Folding is one read from a small table over the integers present,
    instead of a modulo per pixel.
    """
    if nearest:
        coords += coords.dtype.type(0.5)
    low = np.floor(coords.min())
    high = np.floor(coords.max())
    coords -= low                               # now >= 0, so truncation is floor
    np.copyto(steps, coords, casting="unsafe")
    # One spare entry beyond floor(p) + 1, in case rounding lifts p - low to the next integer.
    table = fold_indices(np.arange(int(low), int(high) + 3), length, fill_mode) * scale
    np.take(table, steps, out=first, mode="clip")
    if second is None:
        return None
    np.take(table[1:], steps, out=second, mode="clip")
    coords -= steps
    return coords


def fold_indices(index, length: int, fill_mode: str) -> np.ndarray:
    """Maps integer pixel indices (any range) into [0, length) by ``fill_mode``; for
    ``"constant"`` an index outside the image maps to ``length`` (the fill pixel)."""
    index = np.asarray(index, dtype=np.intp)
    if fill_mode == "constant":
        return np.where((index < 0) | (index >= length), length, index)
    if fill_mode == "nearest":
        return np.clip(index, 0, length - 1)
    if fill_mode == "wrap":
        return np.mod(index, length)
    if fill_mode == "reflect":
        period = np.mod(index, 2 * length)
        return np.where(period >= length, 2 * length - 1 - period, period)
    if fill_mode == "mirror":
        if length == 1:
            return np.zeros_like(index)
        period = np.mod(index, 2 * length - 2)
        return np.where(period >= length, 2 * length - 2 - period, period)
    raise ValueError(f"fold_indices: `fill_mode` must be one of {FILL_MODES}. "
                     f"Received: fill_mode={fill_mode!r}")


# ---- resizing --------------------------------------------------------------------------
def aspect_crop_box(height: int, width: int, target_height: int, target_width: int) -> tuple:
    """``(top, left, crop_height, crop_width)``: the largest centred window of a
    height × width image with the target's aspect ratio (Keras's ``smart_resize`` box)."""
    crop_height = max(min(height, int(float(width * target_height) / target_width)), 1)
    crop_width = max(min(width, int(float(height * target_width) / target_height)), 1)
    return (int(float(height - crop_height) / 2), int(float(width - crop_width) / 2),
            crop_height, crop_width)


def crop_to_aspect_ratio(images, target_height: int, target_width: int) -> np.ndarray:
    """The largest centred crop of every image with the target's aspect ratio (a view)."""
    top, left, crop_height, crop_width = aspect_crop_box(images.shape[1], images.shape[2],
                                                         target_height, target_width)
    return images[:, top:top + crop_height, left:left + crop_width]


def pad_to_aspect_ratio(images, target_height: int, target_width: int,
                        fill_value: float = 0.0) -> np.ndarray:
    """Pads the short side evenly with ``fill_value`` towards the target's aspect ratio.

    As Keras does, the same margin int((padded - size) / 2) goes on both sides, so an odd
    difference ends one pixel short of the exact ratio.
    """
    height, width = images.shape[1:3]
    pad_height = max(height, int(float(width * target_height) / target_width))
    pad_width = max(width, int(float(height * target_width) / target_height))
    top, left = int(float(pad_height - height) / 2), int(float(pad_width - width) / 2)
    if top > 0:
        margins = ((0, 0), (top, top), (0, 0), (0, 0))
    elif left > 0:
        margins = ((0, 0), (0, 0), (left, left), (0, 0))
    else:
        return images
    return np.pad(images, margins, constant_values=fill_value)


def resize(images, height: int, width: int, interpolation: str = "bilinear",
           antialias: bool = False) -> np.ndarray:
    """Resizes a batch to height × width (Keras's ``ops.image.resize`` arithmetic).

    Args:
        images: ``(batch, h, w, channels)``; integer images are read as float32.
        interpolation: ``"bilinear"``, ``"nearest"``, ``"bicubic"`` (Keys, a = -0.5),
            ``"lanczos3"`` or ``"lanczos5"``.
        antialias: when shrinking, widen the kernel by the shrink factor so that every input
            pixel contributes (ignored by ``"nearest"``).

    Example (doubling a row repeats nothing: half-pixel centres interpolate):
    >>> resize(np.array([0.0, 4.0]).reshape(1, 1, 2, 1), 1, 4)[0, 0, :, 0]
    array([0., 1., 3., 4.])
    """
    if interpolation not in RESIZE_INTERPOLATIONS:
        raise ValueError(f"resize: `interpolation` must be one of {RESIZE_INTERPOLATIONS}. "
                         f"Received: interpolation={interpolation!r}")
    out = _float_images(images, "resize")
    for axis, size in ((1, height), (2, width)):
        if out.shape[axis] == size:
            continue
        if interpolation == "nearest":
            out = np.take(out, _nearest_indices(out.shape[axis], size), axis=axis)
        else:
            weights = _resize_weights(out.shape[axis], size, _KERNELS[interpolation],
                                      antialias).astype(out.dtype)
            out = np.moveaxis(np.tensordot(out, weights, axes=(axis, 0)), -1, axis)
    return np.ascontiguousarray(out)


def resize_weights(size_in: int, size_out: int, interpolation: str = "bilinear",
                   antialias: bool = False) -> np.ndarray:
    """The (size_in, size_out) matrix of ``resize`` along one axis (not for "nearest"):
    column j holds the weights of the input pixels that make output pixel j. A resize is
    then two matrix products, which carry a gradient (``layers.UpSampling2D``)."""
    return _resize_weights(size_in, size_out, _KERNELS[interpolation], antialias)


def _nearest_indices(size_in: int, size_out: int) -> np.ndarray:
    # float32 as Keras computes it, so that ties round the same way.
    centres = (np.arange(size_out, dtype="float32") + 0.5) * size_in / size_out
    return np.floor(centres).astype(np.intp)


def _resize_weights(size_in: int, size_out: int, kernel, antialias: bool) -> np.ndarray:
    """(size_in, size_out) matrix: column j holds the weights of the input pixels that make
    output pixel j."""
    scale = size_out / size_in
    kernel_scale = max(1 / scale, 1.0) if antialias else 1.0
    samples = (np.arange(size_out) + 0.5) / scale - 0.5
    distance = np.abs(samples[None, :] - np.arange(size_in)[:, None]) / kernel_scale
    weights = kernel(distance)
    total = weights.sum(axis=0, keepdims=True)
    # Renormalize each column (this is what clamps to the edge), dropping near-empty ones.
    usable = np.abs(total) > 1000 * np.finfo(np.float32).eps
    weights = np.where(usable, weights / np.where(usable, total, 1), 0)
    inside = (samples >= -0.5) & (samples <= size_in - 0.5)
    return np.where(inside[None, :], weights, 0)


def _triangle(x):
    return np.maximum(0, 1 - x)


def _keys_cubic(x):
    near = ((1.5 * x - 2.5) * x) * x + 1.0
    far = ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0
    return np.where(x >= 2.0, 0.0, np.where(x >= 1.0, far, near))


def _lanczos(radius: float):
    def kernel(x):
        small = x <= 1e-3
        safe = np.where(small, 1.0, x)
        value = radius * np.sin(np.pi * safe) * np.sin(np.pi * safe / radius) / (np.pi * safe) ** 2
        return np.where(x > radius, 0.0, np.where(small, 1.0, value))
    return kernel


_KERNELS = {"bilinear": _triangle, "bicubic": _keys_cubic,
            "lanczos3": _lanczos(3.0), "lanczos5": _lanczos(5.0)}
