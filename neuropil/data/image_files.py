"""Image files on disk -> arrays: ``keras.utils.image_dataset_from_directory`` and the single
image helpers ``load_img``, ``img_to_array``, ``array_to_img``, ``save_img``.

A directory with one subdirectory per class becomes a dataset of ``(images, labels)``
batches that ``fit`` / ``evaluate`` / ``predict`` accept directly::

    flowers/daisy/001.jpg, flowers/daisy/002.png, ..., flowers/tulip/107.jpg
    -> class_names ["daisy", ..., "tulip"] (sorted), label = index of the subdirectory

Images are decoded with Pillow (the ``images`` extra, imported only when a file is read)
and resized with ``neuropil.data.image.resize`` (Keras's ``ops.image.resize`` arithmetic).
Pixel values stay in [0, 255] as float32, as in Keras: rescale in the model if you need to.

Imports the standard library and NumPy; Pillow lazily.
"""
from __future__ import annotations

import io
import math
import os
import pathlib
import warnings

import numpy as np

from neuropil.backend import random
from neuropil.data.encoding import to_categorical
from neuropil.data.image import (RESIZE_INTERPOLATIONS, crop_to_aspect_ratio,
                                 pad_to_aspect_ratio, resize)

__all__ = ["ALLOWLIST_FORMATS", "ImageDataset", "image_dataset_from_directory", "load_img",
           "img_to_array", "array_to_img", "save_img"]

ALLOWLIST_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
_CHANNELS = {"grayscale": 1, "rgb": 3, "rgba": 4}
_PIL_MODES = {"grayscale": "L", "rgb": "RGB", "rgba": "RGBA"}


def _pil_image():
    try:
        from PIL import Image
    except ImportError as error:
        raise ImportError("Reading and writing image files needs Pillow, neuropil's `images` "
                          "extra: pip install 'neuropil[images]' (or pip install pillow)."
                          ) from error
    return Image


# ---- the dataset ---------------------------------------------------------------------------
def image_dataset_from_directory(directory, labels="inferred", label_mode="int",
                                 class_names=None, color_mode="rgb", batch_size=32,
                                 image_size=(256, 256), shuffle=True, seed=None,
                                 validation_split=None, subset=None, interpolation="bilinear",
                                 follow_links=False, crop_to_aspect_ratio=False,
                                 pad_to_aspect_ratio=False, verbose=True):
    """A dataset of image batches read from a directory tree (Keras's function).

    Args:
        directory: with ``labels="inferred"``, one subdirectory per class holding that
            class's images (``.bmp .gif .jpeg .jpg .png``, searched recursively); otherwise
            the images anywhere below it.
        labels: ``"inferred"`` (the subdirectory), None (images only), or a list of integer
            labels, one per file in the sorted order of the file paths.
        label_mode: ``"int"`` (int32, shape ``(batch,)``), ``"categorical"`` (float32
            one-hot ``(batch, classes)``), ``"binary"`` (float32 ``(batch, 1)``, exactly two
            classes) or None (no labels).
        class_names: with inferred labels, the subdirectories to use, in label order
            (default: all of them, sorted alphabetically).
        color_mode: ``"grayscale"``, ``"rgb"`` or ``"rgba"`` (1, 3 or 4 channels).
        batch_size: images per batch (default 32); None gives single images.
        image_size: ``(height, width)`` every image is resized to (default ``(256, 256)``).
        shuffle: shuffle the files (before the split) and reshuffle the batches every epoch;
            False keeps the files in alphabetical order.
        seed: seed for the shuffling; required with ``validation_split`` and shuffling, so
            that the training and validation subsets do not overlap.
        validation_split: fraction of the files held out for validation (the last ones after
            shuffling).
        subset: ``"training"``, ``"validation"`` or ``"both"`` (a list [train, validation]).
        interpolation: ``"bilinear"`` (default), ``"nearest"``, ``"bicubic"``,
            ``"lanczos3"`` or ``"lanczos5"``.
        follow_links: also visit subdirectories reached through symbolic links.
        crop_to_aspect_ratio: crop the largest centred window with the target's aspect
            ratio before resizing, instead of stretching.
        pad_to_aspect_ratio: pad with zeros to the target's aspect ratio before resizing.
        verbose: print how many files and classes were found (and used).

    Returns:
        An ``ImageDataset`` (or a list of two for ``subset="both"``): an iterable of
        ``(images, labels)`` batches, images float32 ``(batch, height, width, channels)``
        in [0, 255], with ``class_names``, ``file_paths`` and ``len()`` = number of batches.

    Example:
    >>> train = keras.utils.image_dataset_from_directory(                # doctest: +SKIP
    ...     "flowers", image_size=(64, 64), validation_split=0.2, subset="training", seed=1)
    Found 3670 files belonging to 5 classes.
    Using 2936 files for training.
    >>> model.fit(train, epochs=3)                                      # doctest: +SKIP
    """
    if labels not in ("inferred", None):
        if not isinstance(labels, (list, tuple)):
            raise ValueError("`labels` must be 'inferred', None or a list/tuple of integer "
                             f"labels, one per image file. Received: labels={labels!r}")
        if class_names:
            raise ValueError("`class_names` can only be given with labels='inferred'. "
                             f"Received: labels={labels!r}, class_names={class_names!r}")
    if label_mode not in ("int", "categorical", "binary", None):
        raise ValueError('`label_mode` must be one of "int", "categorical", "binary" or None. '
                         f"Received: label_mode={label_mode!r}")
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    if color_mode not in _CHANNELS:
        raise ValueError('`color_mode` must be one of "grayscale", "rgb", "rgba". '
                         f"Received: color_mode={color_mode!r}")
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    if not isinstance(image_size, (list, tuple)) or len(image_size) != 2:
        raise ValueError("`image_size` must be a tuple of 2 integers (height, width). "
                         f"Received: image_size={image_size!r}")
    interpolation = interpolation.lower()
    if interpolation not in RESIZE_INTERPOLATIONS:
        raise ValueError(f"`interpolation` must be one of {RESIZE_INTERPOLATIONS} (Keras's "
                         "'area', 'gaussian' and 'mitchellcubic' are not available). "
                         f"Received: interpolation={interpolation!r}")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError("Only one of `crop_to_aspect_ratio` and `pad_to_aspect_ratio` can be "
                         "True.")
    _check_split_arguments(validation_split, subset, shuffle, seed)
    if seed is None:
        seed = int(random.global_generator().integers(1_000_000))

    paths, labels, class_names = _index_directory(directory, labels, class_names, shuffle,
                                                  seed, follow_links, verbose)
    if label_mode == "binary" and len(class_names) != 2:
        raise ValueError('label_mode="binary" needs exactly 2 classes. Received: '
                         f"class_names={class_names}")
    settings = dict(class_names=class_names, label_mode=label_mode, color_mode=color_mode,
                    image_size=tuple(int(s) for s in image_size), batch_size=batch_size,
                    seed=seed, interpolation=interpolation,
                    crop_to_aspect_ratio=crop_to_aspect_ratio,
                    pad_to_aspect_ratio=pad_to_aspect_ratio)
    subsets = ("training", "validation") if subset == "both" else (subset,)
    datasets = []
    for name in subsets:
        part_paths, part_labels = _split(paths, labels, validation_split, name, verbose)
        if not part_paths:
            raise ValueError(f"No {name + ' ' if name else ''}images found in directory "
                             f"{directory}. Allowed formats: {ALLOWLIST_FORMATS}")
        # As in Keras, the validation half of "both" keeps its order; any other is reshuffled.
        reshuffle = shuffle and not (subset == "both" and name == "validation")
        datasets.append(ImageDataset(part_paths, part_labels, shuffle=reshuffle, **settings))
    return datasets if subset == "both" else datasets[0]


class ImageDataset:
    """Batches of images read from files, as returned by ``image_dataset_from_directory``.

    Iterating gives one epoch of ``(images, labels)`` (images alone without labels), loading
    each batch's files when it is reached; with ``shuffle`` each new iteration visits the
    files in a new order (reproducible from ``seed``).

    Attributes:
        class_names: the label names, in label order (None without labels).
        file_paths: the image files, in the order before any per-epoch reshuffling.
    """

    def __init__(self, file_paths, labels, class_names, label_mode, color_mode, image_size,
                 batch_size=32, shuffle=False, seed=None, interpolation="bilinear",
                 crop_to_aspect_ratio=False, pad_to_aspect_ratio=False):
        if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(
                batch_size, (int, np.integer)) or batch_size <= 0):
            raise ValueError("`batch_size` must be a positive integer or None. Received: "
                             f"batch_size={batch_size!r}")
        self.file_paths, self.class_names = list(file_paths), class_names
        self.label_mode, self.color_mode = label_mode, color_mode
        self.image_size, self.batch_size, self.shuffle = image_size, batch_size, shuffle
        self.interpolation = interpolation
        self.crop_to_aspect_ratio = crop_to_aspect_ratio
        self.pad_to_aspect_ratio = pad_to_aspect_ratio
        self.labels = _encode_labels(labels, label_mode, len(class_names or ()))
        self._generator = np.random.default_rng(seed)

    def __len__(self) -> int:
        if self.batch_size is None:
            return len(self.file_paths)
        return math.ceil(len(self.file_paths) / self.batch_size)

    def __iter__(self):
        count = len(self.file_paths)
        order = self._generator.permutation(count) if self.shuffle else np.arange(count)
        size = self.batch_size or 1
        for start in range(0, count, size):
            chosen = order[start:start + size]
            images = np.stack([self.load(int(i)) for i in chosen])
            labels = None if self.labels is None else self.labels[chosen]
            if self.batch_size is None:
                images, labels = images[0], None if labels is None else labels[0]
            yield images if labels is None else (images, labels)

    def load(self, index: int) -> np.ndarray:
        """File ``index`` as a float32 ``(height, width, channels)`` array of the target
        size."""
        with _pil_image().open(self.file_paths[index]) as image:
            array = np.asarray(image.convert(_PIL_MODES[self.color_mode]), dtype="float32")
        batch = array.reshape((1,) + array.shape[:2] + (-1,))
        height, width = self.image_size
        if self.crop_to_aspect_ratio:
            batch = crop_to_aspect_ratio(batch, height, width)
        elif self.pad_to_aspect_ratio:
            batch = pad_to_aspect_ratio(batch, height, width)
        return resize(batch, height, width, self.interpolation)[0]

    def __repr__(self) -> str:
        return (f"<ImageDataset: {len(self.file_paths)} files, {len(self)} batches of "
                f"{self.batch_size}, image_size={self.image_size}, "
                f"class_names={self.class_names}>")


def _check_split_arguments(validation_split, subset, shuffle, seed) -> None:
    if validation_split and not 0 < validation_split < 1:
        raise ValueError(f"`validation_split` must be between 0 and 1. Received: "
                         f"{validation_split}")
    if bool(validation_split) != bool(subset):
        raise ValueError("`subset` and `validation_split` go together: set both or neither. "
                         f"Received: validation_split={validation_split}, subset={subset!r}")
    if subset not in ("training", "validation", "both", None):
        raise ValueError('`subset` must be "training", "validation" or "both". Received: '
                         f"subset={subset!r}")
    if validation_split and shuffle and seed is None:
        raise ValueError("With `validation_split` and shuffle=True, pass a `seed` so that the "
                         "training and validation subsets are drawn from the same shuffle "
                         "and do not overlap.")


def _index_directory(directory, labels, class_names, shuffle, seed, follow_links, verbose):
    """(file paths, integer labels or None, class names), shuffled by ``seed`` if asked."""
    if not os.path.isdir(directory):
        raise ValueError(f"Directory {directory!r} does not exist (or is not a directory).")
    if labels == "inferred":
        found = sorted(name for name in os.listdir(directory) if not name.startswith(".")
                       and os.path.isdir(os.path.join(directory, name)))
        if class_names is not None:
            if not set(class_names) <= set(found):
                raise ValueError("`class_names` must name subdirectories of the directory. "
                                 f"Expected: {found} (or a subset), received: "
                                 f"class_names={list(class_names)}")
            found = list(class_names)
        class_names = found
        paths, indices = [], []
        for index, name in enumerate(class_names):
            files = _image_files(os.path.join(directory, name), follow_links)
            paths += files
            indices += [index] * len(files)
        labels = np.array(indices, dtype="int32")
    else:
        paths = _image_files(directory, follow_links)
        if labels is not None:
            if len(labels) != len(paths):
                raise ValueError(f"`labels` has {len(labels)} entries but {len(paths)} image "
                                 f"files were found in {directory}; give one label per file.")
            class_names = [str(label) for label in sorted(set(labels))]
            labels = np.asarray(labels, dtype="int32")
        else:
            class_names = None
    if verbose:
        print(f"Found {len(paths)} files." if labels is None else
              f"Found {len(paths)} files belonging to {len(class_names)} classes.")
    if shuffle:
        # NOTE: one legacy RandomState permutation per list, as Keras does, so that the same
        # seed picks the same training and validation files as in Keras.
        np.random.RandomState(seed).shuffle(paths)
        if labels is not None:
            np.random.RandomState(seed).shuffle(labels)
    return paths, labels, class_names


def _image_files(directory, follow_links) -> list:
    """Image files below ``directory``: folders in sorted order, files sorted in each."""
    found = []
    for root, _, files in sorted(os.walk(directory, followlinks=follow_links)):
        found += [os.path.join(root, name) for name in sorted(files)
                  if name.lower().endswith(ALLOWLIST_FORMATS)]
    return found


def _split(paths, labels, validation_split, subset, verbose):
    """Keras's rule: the last int(validation_split · n) files are the validation subset."""
    if not validation_split:
        return paths, labels
    num_validation = int(validation_split * len(paths))
    num_training = len(paths) - num_validation
    if verbose:
        count = num_training if subset == "training" else num_validation
        print(f"Using {count} files for {subset}.")
    part = slice(None, num_training) if subset == "training" else slice(num_training, None)
    return paths[part], None if labels is None else labels[part]


def _encode_labels(labels, label_mode, num_classes):
    if labels is None or label_mode is None:
        return None
    labels = np.asarray(labels, dtype="int32")
    if label_mode == "categorical":
        return to_categorical(labels, num_classes).astype("float32")
    if label_mode == "binary":
        return labels.astype("float32").reshape(-1, 1)
    return labels


# ---- single images ---------------------------------------------------------------------
_RESAMPLE = ("nearest", "bilinear", "bicubic", "lanczos", "box", "hamming")


def load_img(path, color_mode="rgb", target_size=None, interpolation="nearest",
             keep_aspect_ratio=False):
    """Reads an image file into a Pillow image.

    Args:
        path: a path (str, bytes, ``pathlib.Path``) or an ``io.BytesIO``.
        color_mode: ``"grayscale"``, ``"rgb"`` or ``"rgba"``. Grayscale keeps 16- and 32-bit
            grayscale images as they are; anything else becomes 8-bit.
        target_size: None (the file's size) or ``(height, width)``.
        interpolation: Pillow's resampling used for ``target_size``: ``"nearest"`` (default),
            ``"bilinear"``, ``"bicubic"``, ``"lanczos"``, ``"box"``, ``"hamming"``.
        keep_aspect_ratio: resize the largest centred crop with the target's aspect ratio
            instead of stretching the whole image.

    Example: ``x = keras.utils.img_to_array(keras.utils.load_img("cat.png"))``.
    """
    Image = _pil_image()
    if isinstance(path, io.BytesIO):
        image = Image.open(path)
    elif isinstance(path, (str, bytes, pathlib.Path)):
        with open(path, "rb") as file:  # read now: the file is closed when this returns
            image = Image.open(io.BytesIO(file.read()))
    else:
        raise TypeError(f"load_img: `path` must be a path or an io.BytesIO. Received: "
                        f"{type(path).__name__}")
    if color_mode not in _CHANNELS:
        raise ValueError('load_img: `color_mode` must be "grayscale", "rgb" or "rgba". '
                         f"Received: color_mode={color_mode!r}")
    keep = ("L", "I;16", "I") if color_mode == "grayscale" else (_PIL_MODES[color_mode],)
    if image.mode not in keep:
        image = image.convert(_PIL_MODES[color_mode])
    if target_size is None or image.size == (target_size[1], target_size[0]):
        return image
    if interpolation not in _RESAMPLE:
        raise ValueError(f"load_img: `interpolation` must be one of {_RESAMPLE}. Received: "
                         f"interpolation={interpolation!r}")
    resample = getattr(Image.Resampling, interpolation.upper())
    height, width = target_size
    box = None
    if keep_aspect_ratio:
        crop_height = min(image.height, image.width * height // width)
        crop_width = min(image.width, image.height * width // height)
        top, left = (image.height - crop_height) // 2, (image.width - crop_width) // 2
        box = (left, top, left + crop_width, top + crop_height)
    return image.resize((width, height), resample, box=box)


def img_to_array(img, data_format=None, dtype=None) -> np.ndarray:
    """A Pillow image (or array) as a ``(height, width, channels)`` array (float32 unless
    ``dtype`` says otherwise); ``data_format="channels_first"`` gives ``(channels, h, w)``."""
    array = np.asarray(img, dtype=dtype or "float32")
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3:
        raise ValueError(f"img_to_array: expected an image of rank 2 or 3. Received shape "
                         f"{array.shape}")
    return array.transpose(2, 0, 1) if data_format == "channels_first" else array


def array_to_img(x, data_format=None, scale=True, dtype=None):
    """A ``(height, width, channels)`` array (1, 3 or 4 channels) as a Pillow image.

    With ``scale=True`` (default) the values are stretched to fill [0, 255] (minimum -> 0,
    maximum -> 255), so [0, 1] images and raw model outputs both display; with False they
    are taken as pixel values."""
    Image = _pil_image()
    x = np.array(x, dtype=dtype or "float32")
    if x.ndim != 3:
        raise ValueError(f"array_to_img: expected one image of rank 3 (height, width, "
                         f"channels). Received shape {x.shape}")
    if data_format == "channels_first":
        x = x.transpose(1, 2, 0)
    if scale:
        x -= x.min()
        if x.max() != 0:
            x /= x.max()
        x *= 255
    channels = x.shape[2]
    if channels == 1:
        if x.max() > 255:  # beyond 8 bits: 32-bit integer grayscale
            return Image.fromarray(x[:, :, 0].astype("int32"), "I")
        return Image.fromarray(x[:, :, 0].astype("uint8"), "L")
    if channels in (3, 4):
        return Image.fromarray(x.astype("uint8"), "RGB" if channels == 3 else "RGBA")
    raise ValueError(f"array_to_img: images need 1, 3 or 4 channels. Received {channels} "
                     f"(shape {x.shape}).")


def save_img(path, x, data_format=None, file_format=None, scale=True, **kwargs) -> None:
    """Writes an image array to a file (format from the extension unless ``file_format``);
    ``scale`` as in ``array_to_img``; ``kwargs`` go to Pillow's ``Image.save``."""
    if file_format is None and isinstance(path, (str, pathlib.Path)):
        file_format = pathlib.Path(path).suffix[1:].lower() or None
    if file_format and file_format.lower() == "jpg":
        file_format = "jpeg"
    image = array_to_img(x, data_format=data_format, scale=scale)
    if image.mode == "RGBA" and file_format == "jpeg":
        warnings.warn("JPEG has no alpha channel: the RGBA image is saved as RGB.",
                      stacklevel=2)
        image = image.convert("RGB")
    image.save(path, format=file_format, **kwargs)
