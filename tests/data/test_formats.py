"""IDX reading and writing: round trips, and damaged files failing early and clearly."""

import gzip
import io
import struct
import time
import tracemalloc

import numpy as np
import pytest

from neuropil.data.formats import read_idx, read_idx_examples, write_idx

DTYPES = ["uint8", "int8", "int16", "int32", "float32", "float64"]


def _sample(dtype: str, shape=(3, 4, 5)) -> np.ndarray:
    info = np.iinfo(dtype) if np.dtype(dtype).kind in "iu" else None
    rng = np.random.default_rng(0)
    if info is not None:  # hit both ends of the range: catches byte-order slips
        values = rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dtype)
        values.flat[:2] = [info.min, info.max]
        return values
    return rng.standard_normal(shape).astype(dtype)


def _idx_bytes(code: int, dims, payload: bytes) -> bytes:
    return bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims) + payload


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_round_trip_each_dtype(tmp_path, dtype, suffix):
    array = _sample(dtype)
    path = tmp_path / f"a-idx3{suffix}"
    write_idx(path, array)

    back = read_idx(path)

    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    assert back.shape == array.shape
    np.testing.assert_array_equal(back, array)


def test_matches_hand_written_bytes(tmp_path):
    # The MNIST labels header: magic 0x00000801, count 3, then the labels.
    path = tmp_path / "labels"
    path.write_bytes(bytes.fromhex("00000801 00000003 050004"))
    np.testing.assert_array_equal(read_idx(path), np.array([5, 0, 4], np.uint8))
    write_idx(tmp_path / "again", np.array([5, 0, 4], np.uint8))
    assert (tmp_path / "again").read_bytes() == path.read_bytes()


def test_int16_is_big_endian_on_disk(tmp_path):
    write_idx(tmp_path / "x", np.array([1, -2], np.int16))
    assert (tmp_path / "x").read_bytes()[8:] == b"\x00\x01\xff\xfe"


def test_gzip_detected_by_magic_not_name(tmp_path):
    path = tmp_path / "looks-plain.gz"
    write_idx(path, np.arange(6, dtype=np.uint8).reshape(2, 3))
    renamed = path.rename(tmp_path / "looks-plain")
    np.testing.assert_array_equal(read_idx(renamed), np.arange(6).reshape(2, 3))


def test_reads_file_objects_and_leaves_them_open():
    raw = _idx_bytes(0x08, [2], b"\x07\x09")
    stream = io.BytesIO(gzip.compress(raw))
    np.testing.assert_array_equal(read_idx(stream), [7, 9])
    assert not stream.closed


def test_reads_non_seekable_stream():
    class Pipe(io.RawIOBase):  # like a socket or pipe: read only, no seek
        def __init__(self, data):
            self._data = io.BytesIO(data)

        def readable(self):
            return True

        def readinto(self, buffer):
            chunk = self._data.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    with Pipe(gzip.compress(_idx_bytes(0x0C, [2], struct.pack(">2i", 7, -1)))) as pipe:
        np.testing.assert_array_equal(read_idx(pipe), [7, -1])


def test_result_is_writable(tmp_path):
    write_idx(tmp_path / "x.gz", np.zeros((2, 2), np.uint8))
    x = read_idx(tmp_path / "x.gz")
    x[0, 0] = 1  # users normalise in place; a read-only buffer would break that


# ------------------------------------------------------------ damaged files


def _write(tmp_path, data: bytes, name="bad-idx") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_truncated_payload_names_file_and_byte_counts(tmp_path):
    path = _write(tmp_path, _idx_bytes(0x08, [2, 3], b"\x00" * 5))
    with pytest.raises(ValueError, match=r"truncated.*6 payload bytes, but 5 bytes") as info:
        read_idx(path)
    assert path in str(info.value)


def test_trailing_data_is_an_error(tmp_path):
    path = _write(tmp_path, _idx_bytes(0x08, [2, 3], b"\x00" * 9))
    with pytest.raises(ValueError, match=r"trailing data.*6 payload bytes, but 9 bytes"):
        read_idx(path)


def test_truncated_gzip_member_is_an_error(tmp_path):
    data = gzip.compress(_idx_bytes(0x08, [1000], bytes(range(250)) * 4))
    path = _write(tmp_path, data[: len(data) // 2], "cut.gz")
    with pytest.raises(ValueError, match="gzip stream is damaged or cut short"):
        read_idx(path)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"\x08\x03\x00\x00", r"not an IDX file.*0x0803, expected 0x0000"),
        (b"\x00\x00", r"too short: 2 bytes"),
        (b"\x00\x00\x0a\x01\x00\x00\x00\x01\x00", r"unknown data type code 0x0A"),
        (b"\x00\x00\x08\x00", r"declares 0 dimensions"),
        (b"\x00\x00\x08\x03\x00\x00\x00\x01", r"header cut short: 3 dimensions need 12"),
    ],
)
def test_malformed_headers(tmp_path, data, message):
    with pytest.raises(ValueError, match=message):
        read_idx(_write(tmp_path, data))


@pytest.mark.parametrize("compress", [False, True])
def test_huge_declared_shape_fails_fast_without_allocating(tmp_path, compress):
    # Claims 3 * (2**32 - 1)**2 float64 values (~4e20 bytes) but holds 16 bytes.
    data = _idx_bytes(0x0E, [3, 2**32 - 1, 2**32 - 1], b"\x00" * 16)
    path = _write(tmp_path, gzip.compress(data) if compress else data)
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(ValueError, match=r"truncated.*but 16 bytes"):
            read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - start < 1.0
    assert peak < 8 * 2**20, f"peak allocation {peak} bytes"


# ------------------------------------------------------------ examples + labels


def _pair(tmp_path, n_images, labels):
    write_idx(tmp_path / "img.gz", np.zeros((n_images, 2, 2), np.uint8))
    write_idx(tmp_path / "lab.gz", np.asarray(labels, np.uint8))
    return tmp_path / "img.gz", tmp_path / "lab.gz"


def test_read_idx_examples_checks_pairs(tmp_path):
    images, labels = _pair(tmp_path, 3, [0, 2, 1])
    x, y = read_idx_examples(images, labels, count=3, example_shape=(2, 2), num_classes=3)
    assert x.shape == (3, 2, 2) and y.tolist() == [0, 2, 1]

    with pytest.raises(ValueError, match="expected 4"):
        read_idx_examples(images, labels, count=4)
    with pytest.raises(ValueError, match=r"shape \(2, 2\); expected \(28, 28\)"):
        read_idx_examples(images, labels, example_shape=(28, 28))
    with pytest.raises(ValueError, match=r"label 2 at index 1 is outside the range 0..1"):
        read_idx_examples(images, labels, num_classes=2)


def test_read_idx_examples_rejects_mismatched_counts(tmp_path):
    images, labels = _pair(tmp_path, 3, [0, 1])
    with pytest.raises(ValueError, match="3 examples but .* 2 labels"):
        read_idx_examples(images, labels)


# ------------------------------------------------------------ writing errors


@pytest.mark.parametrize(
    "array, message",
    [
        (np.zeros(3, bool), "cannot store dtype bool"),
        (np.zeros(3, np.int64), "cannot store dtype int64"),
        (np.zeros(3, np.complex64), "cannot store dtype complex64"),
        (np.array(5, np.uint8), r"1 to 255 dimensions; got an array of shape \(\)"),
    ],
)
def test_write_rejects_what_idx_cannot_hold(tmp_path, array, message):
    with pytest.raises(ValueError, match=message):
        write_idx(tmp_path / "x", array)
