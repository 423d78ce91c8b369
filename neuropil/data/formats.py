"""Readers and writers for the array file formats our data sets ship in.

IDX is the format of the original MNIST and Fashion-MNIST files: a big-endian
header (two zero bytes, a data type code, the number of dimensions, then one
uint32 per dimension) followed by the raw array, row-major. The files are
usually gzip-compressed; `read_idx` recognises gzip by its magic bytes, not by
the file name.

CIFAR-10's binary version stores each example as one label byte followed by the
image's 3072 bytes, channel by channel (1024 red, 1024 green, 1024 blue, each 32x32
row-major): `read_cifar_records` turns such a file into HWC images and labels.

Everything here is checked against the bytes actually present before any
array is built, so a damaged or crafted file fails with a `ValueError` that
names the file and the sizes involved, instead of a NumPy error or a huge
allocation.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import math
import os
import struct
import zlib
from typing import BinaryIO, Iterator, Optional, Tuple, Union

import numpy as np

PathOrFile = Union[str, "os.PathLike[str]", BinaryIO]

_GZIP_MAGIC = b"\x1f\x8b"
# Read payloads in pieces so memory tracks the bytes really present, never
# the size a header merely claims.
_CHUNK_BYTES = 1 << 20

# IDX data type code -> dtype as stored in the file (multi-byte types are
# big-endian on disk).
_IDX_DTYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_KNOWN_CODES = ", ".join(
    f"0x{code:02X} ({dtype.newbyteorder('=').name})" for code, dtype in _IDX_DTYPES.items()
)


# ---------------------------------------------------------------- reading


def read_idx(path_or_fileobj: PathOrFile) -> np.ndarray:
    """Reads an IDX file (gzip-compressed or not) into a NumPy array.

    Args:
        path_or_fileobj: A path, or a binary file object positioned at the
            start of the IDX data. A file object is read but not closed.

    Returns:
        A native-endian array with the file's dtype (uint8, int8, int16,
        int32, float32 or float64) and shape.

    Raises:
        ValueError: If the file is not IDX (bad magic number, unknown data
            type code), its header is cut short, its gzip stream is damaged,
            or the payload is shorter or longer than the header declares.

    Example:

    >>> x = read_idx("train-images-idx3-ubyte.gz")  # doctest: +SKIP
    >>> x.shape, x.dtype
    ((60000, 28, 28), dtype('uint8'))
    """
    name = _describe(path_or_fileobj)
    try:
        with _open_decompressed(path_or_fileobj) as stream:
            dtype, shape = _read_header(stream, name)
            payload = _read_payload(stream, name, dtype, shape)
    except (EOFError, zlib.error, gzip.BadGzipFile) as err:
        raise ValueError(
            f"IDX file {name!r}: the gzip stream is damaged or cut short ({err}). "
            "Delete the file and download it again."
        ) from err
    array = np.frombuffer(payload, dtype=dtype).reshape(shape)
    # Big-endian on disk; hand back native byte order like every other array.
    return array.astype(dtype.newbyteorder("="), copy=False)


def read_idx_examples(
    images: PathOrFile,
    labels: PathOrFile,
    *,
    count: Optional[int] = None,
    example_shape: Optional[Tuple[int, ...]] = None,
    num_classes: Optional[int] = None,
) -> Tuple[np.ndarray, np.ndarray]:
    """Reads an images IDX file and its labels IDX file and checks they match.

    Args:
        images: Path or file object of the examples (first axis = example).
        labels: Path or file object of the labels, one integer per example.
        count: Expected number of examples, or `None` to accept any.
        example_shape: Expected shape of one example, e.g. `(28, 28)`.
        num_classes: If given, every label must lie in `[0, num_classes)`.

    Returns:
        Tuple `(x, y)` as read by `read_idx`.

    Raises:
        ValueError: If either file is malformed, or the counts, shapes or
            label values differ from what was asked for.
    """
    x = read_idx(images)
    y = read_idx(labels)
    images_name, labels_name = _describe(images), _describe(labels)
    if y.ndim != 1:
        raise ValueError(
            f"Labels file {labels_name!r} should hold a 1-D array; got shape {y.shape}."
        )
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"{images_name!r} holds {x.shape[0]} examples but {labels_name!r} holds "
            f"{y.shape[0]} labels; the two files do not belong together."
        )
    if count is not None and x.shape[0] != count:
        raise ValueError(f"{images_name!r} holds {x.shape[0]} examples; expected {count}.")
    if example_shape is not None and x.shape[1:] != tuple(example_shape):
        raise ValueError(
            f"{images_name!r} holds examples of shape {x.shape[1:]}; "
            f"expected {tuple(example_shape)}."
        )
    if num_classes is not None:
        _check_label_range(y, num_classes, labels_name)
    return x, y


def _check_label_range(y: np.ndarray, num_classes: int, name: str) -> None:
    bad = (y < 0) | (y >= num_classes)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"Labels file {name!r}: label {y[first]} at index {first} is outside "
            f"the range 0..{num_classes - 1}."
        )


def _describe(source: PathOrFile) -> str:
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    return str(getattr(source, "name", "<file object>"))


@contextlib.contextmanager
def _open_decompressed(source: PathOrFile) -> Iterator[BinaryIO]:
    """Yields a binary stream of the file's IDX bytes, gunzipped if needed."""
    with contextlib.ExitStack() as stack:
        if isinstance(source, (str, os.PathLike)):
            stream: BinaryIO = stack.enter_context(open(source, "rb"))
        else:
            stream = source  # the caller owns it and closes it
        head, stream = _peek(stream, len(_GZIP_MAGIC))
        if head == _GZIP_MAGIC:
            stream = stack.enter_context(gzip.GzipFile(fileobj=stream, mode="rb"))
        yield stream


def _peek(stream: BinaryIO, size: int) -> Tuple[bytes, BinaryIO]:
    """Returns the next `size` bytes without consuming them."""
    if stream.seekable():
        start = stream.tell()
        head = stream.read(size)
        stream.seek(start)
        return head, stream
    # A pipe or socket cannot rewind: buffer it (IDX files fit in memory).
    buffered = io.BytesIO(stream.read())
    return buffered.getvalue()[:size], buffered


def _read_header(stream: BinaryIO, name: str) -> Tuple[np.dtype, Tuple[int, ...]]:
    magic = stream.read(4)
    if len(magic) < 4:
        raise ValueError(
            f"IDX file {name!r} is too short: {len(magic)} bytes, but an IDX header "
            "needs at least 4."
        )
    if magic[:2] != b"\x00\x00":
        raise ValueError(
            f"{name!r} is not an IDX file: its magic number starts with "
            f"0x{magic[:2].hex().upper()}, expected 0x0000."
        )
    code, ndim = magic[2], magic[3]
    if code not in _IDX_DTYPES:
        raise ValueError(
            f"IDX file {name!r} has unknown data type code 0x{code:02X}; "
            f"known codes: {_KNOWN_CODES}."
        )
    if ndim == 0:
        raise ValueError(f"IDX file {name!r} declares 0 dimensions; expected at least 1.")
    dims = stream.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise ValueError(
            f"IDX file {name!r}: header cut short: {ndim} dimensions need "
            f"{4 * ndim} bytes of sizes, but only {len(dims)} follow."
        )
    return _IDX_DTYPES[code], struct.unpack(f">{ndim}I", dims)


def _read_payload(
    stream: BinaryIO, name: str, dtype: np.dtype, shape: Tuple[int, ...]
) -> bytearray:
    # Python integers: a crafted header cannot overflow this product.
    expected = math.prod(shape) * dtype.itemsize
    payload = bytearray()
    while len(payload) < expected:
        chunk = stream.read(min(_CHUNK_BYTES, expected - len(payload)))
        if not chunk:
            break
        payload += chunk
    actual = len(payload)
    if actual == expected:
        actual += _count_rest(stream)
    if actual != expected:
        problem = "is truncated" if actual < expected else "has trailing data"
        raise ValueError(
            f"IDX file {name!r} {problem}: its header declares shape {shape} of "
            f"{dtype.newbyteorder('=').name}, i.e. {expected} payload bytes, but "
            f"{actual} bytes follow the header."
        )
    return payload


def _count_rest(stream: BinaryIO) -> int:
    extra = 0
    while chunk := stream.read(_CHUNK_BYTES):
        extra += len(chunk)
    return extra


# ---------------------------------------------------------------- writing


def write_idx(path: Union[str, "os.PathLike[str]"], array: np.ndarray) -> None:
    """Writes an array as an IDX file, gzip-compressed if `path` ends in `.gz`.

    Args:
        path: Destination file. Gzip output is reproducible (no timestamp).
        array: Array of dtype uint8, int8, int16, int32, float32 or float64
            with 1 to 255 dimensions, each smaller than 2**32.

    Raises:
        ValueError: If the dtype or shape cannot be stored in IDX.

    Example:

    >>> write_idx("labels-idx1-ubyte.gz", np.array([5, 0, 4], np.uint8))  # doctest: +SKIP
    """
    array = np.asarray(array)
    code, stored = _idx_code(array.dtype)
    _check_writable_shape(array.shape)
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = np.ascontiguousarray(array, dtype=stored).tobytes()
    if os.fspath(path).endswith(".gz"):
        out: BinaryIO = gzip.GzipFile(path, "wb", mtime=0)
    else:
        out = open(path, "wb")
    with out:
        out.write(header)
        out.write(payload)


def _idx_code(dtype: np.dtype) -> Tuple[int, np.dtype]:
    for code, stored in _IDX_DTYPES.items():
        if dtype.kind == stored.kind and dtype.itemsize == stored.itemsize:
            return code, stored
    raise ValueError(
        f"IDX cannot store dtype {dtype}; supported: uint8, int8, int16, int32, "
        "float32, float64. Convert with `array.astype(...)` first."
    )


def _check_writable_shape(shape: Tuple[int, ...]) -> None:
    if not 1 <= len(shape) <= 255:
        raise ValueError(f"IDX stores 1 to 255 dimensions; got an array of shape {shape}.")
    if any(size >= 2**32 for size in shape):
        raise ValueError(f"IDX stores each dimension as uint32; shape {shape} is too large.")


# ---------------------------------------------------------------- CIFAR binary


def read_cifar_records(
    data: bytes,
    name: str,
    *,
    image_shape: Tuple[int, int, int] = (3, 32, 32),
    count: Optional[int] = None,
    num_classes: Optional[int] = None,
) -> Tuple[np.ndarray, np.ndarray]:
    """Parses a CIFAR binary batch: records of 1 label byte + a CHW uint8 image.

    Args:
        data: The file's bytes (e.g. `data_batch_1.bin`).
        name: The file's name, for error messages.
        image_shape: (channels, height, width) as stored; default CIFAR-10's.
        count: Expected number of records, or `None` to accept any.
        num_classes: If given, every label must lie in `[0, num_classes)`.

    Returns:
        Tuple `(x, y)`: uint8 images of shape (n, height, width, channels), C-contiguous,
        and uint8 labels of shape (n,).

    Raises:
        ValueError: If the size is not a whole number of records, the count differs, or a
            label is out of range.
    """
    record = 1 + math.prod(image_shape)
    if len(data) == 0 or len(data) % record:
        raise ValueError(
            f"CIFAR batch {name!r} holds {len(data)} bytes, not a whole number of "
            f"{record}-byte records (1 label byte + {'x'.join(map(str, image_shape))} "
            "image bytes). The file is truncated or not a CIFAR binary batch."
        )
    rows = np.frombuffer(data, dtype=np.uint8).reshape(-1, record)
    if count is not None and len(rows) != count:
        raise ValueError(f"CIFAR batch {name!r} holds {len(rows)} records; expected {count}.")
    y = rows[:, 0].copy()
    if num_classes is not None:
        _check_label_range(y, num_classes, name)
    # CHW as stored -> HWC (channels last), copied once into a contiguous array.
    x = np.ascontiguousarray(rows[:, 1:].reshape(-1, *image_shape).transpose(0, 2, 3, 1))
    return x, y


def cifar_records(images: np.ndarray, labels: np.ndarray) -> bytes:
    """The bytes of a CIFAR binary batch for HWC uint8 `images` and their `labels`
    (the inverse of `read_cifar_records`; used to write small test files)."""
    images = np.asarray(images, dtype=np.uint8)
    labels = np.asarray(labels, dtype=np.uint8).reshape(-1, 1)
    if images.ndim != 4 or len(images) != len(labels):
        raise ValueError(
            f"Expected images (n, height, width, channels) and n labels; got images of "
            f"shape {images.shape} and {len(labels)} labels."
        )
    chw = images.transpose(0, 3, 1, 2).reshape(len(images), -1)
    return np.concatenate([labels, chw], axis=1).tobytes()
