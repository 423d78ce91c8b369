"""Loader fuzzing: damaged or crafted IDX files and .keras archives fail with a clear
ValueError in bounded time and memory, and write nothing (fixed seeds, time budgets)."""
from __future__ import annotations

import gzip
import io
import os
import struct
import time
import tracemalloc
import zipfile
import zlib

import numpy as np
import pytest

import neuropil as keras
from neuropil.data.formats import read_idx, write_idx

pytestmark = pytest.mark.slow
MEMORY_BOUND = 50 << 20  # peak bytes traced while loading one hostile file


class Budget:
    """Tracks the time and peak memory of what runs inside it."""

    def __init__(self, seconds: float):
        self.seconds = seconds

    def __enter__(self):
        tracemalloc.start()
        self.start = time.monotonic()
        return self

    def __exit__(self, *exc):
        self.elapsed = time.monotonic() - self.start
        self.peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert self.elapsed < self.seconds, f"took {self.elapsed:.1f} s"
        assert self.peak < MEMORY_BOUND, f"peak memory {self.peak} bytes"
        return False


def _files(root) -> set:
    return {os.path.join(d, f) for d, _, names in os.walk(root) for f in names}


# ---------------------------------------------------------------------------- IDX

@pytest.fixture
def idx_gz(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (60, 28, 28), dtype=np.uint8)
    path = tmp_path / "images-idx3-ubyte.gz"
    write_idx(path, images)
    return path, images


def test_idx_truncations_fail_clearly(idx_gz, tmp_path):
    path, images = idx_gz
    data = path.read_bytes()
    cuts = sorted(set(range(0, 40)) | set(range(40, len(data), max(1, len(data) // 150))))
    for cut in cuts:
        damaged = tmp_path / "cut.gz"
        damaged.write_bytes(data[:cut])
        with pytest.raises(ValueError, match="cut.gz"):
            read_idx(damaged)
    print(f"\nIDX truncations tried: {len(cuts)}")


def test_idx_bit_flips_fail_clearly_or_load_the_declared_shape(idx_gz, tmp_path):
    path, images = idx_gz
    data = path.read_bytes()
    rng = np.random.default_rng(1)
    failed = trials = 0
    deadline = time.monotonic() + 15
    while trials < 300 and time.monotonic() < deadline:
        damaged = bytearray(data)
        for position in rng.integers(0, len(data), size=int(rng.integers(1, 4))):
            damaged[position] ^= 1 << int(rng.integers(0, 8))
        target = tmp_path / "flip.gz"
        target.write_bytes(bytes(damaged))
        trials += 1
        try:
            loaded = read_idx(target)
        except ValueError as error:
            assert "flip.gz" in str(error)
            failed += 1
        else:  # only flips in the gzip header's free fields (mtime, OS) go unnoticed
            assert loaded.shape == images.shape
    print(f"\nIDX bit flips tried: {trials}, rejected: {failed}")
    assert trials >= 100 and failed >= trials * 0.8


@pytest.mark.parametrize("shape", [(2**32 - 1,), (2**31, 2**31), (65535,) * 4, (0, 5)])
@pytest.mark.parametrize("compressed", [True, False])
def test_idx_huge_declared_shape_fails_fast_without_allocating(tmp_path, shape, compressed):
    header = bytes([0, 0, 0x08, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)
    payload = header + bytes(1000)
    path = tmp_path / ("huge.gz" if compressed else "huge")
    path.write_bytes(gzip.compress(payload) if compressed else payload)
    with Budget(seconds=2), pytest.raises(ValueError, match="huge"):
        read_idx(path)


# ------------------------------------------------------------------------- .keras

@pytest.fixture
def saved_members(tmp_path):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    path = tmp_path / "good.keras"
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


@pytest.mark.parametrize("evil", ["../evil.txt", "../../evil.txt", "/tmp/evil_abs.txt",
                                  "sub/../../evil.txt", "..\\evil.txt"])
def test_path_traversal_members_are_never_written(tmp_path, saved_members, evil):
    target = tmp_path / "inner" / "traversal.keras"
    target.parent.mkdir()
    with zipfile.ZipFile(target, "w") as zf:
        zf.writestr(evil, b"owned")
        for name, data in saved_members.items():
            zf.writestr(name, data)
    before = _files(tmp_path)
    keras.models.load_model(target)  # extra members are ignored, never extracted
    assert _files(tmp_path) == before
    # Where each name would land if extracted next to the file or in the working folder.
    for base in (target.parent, tmp_path, os.getcwd()):
        for landing in (os.path.join(base, evil), os.path.join(base, os.path.basename(evil))):
            assert not os.path.exists(os.path.normpath(landing)), landing


def _deflated(size: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = bytes(1 << 20)
    return b"".join([compressor.compress(chunk) for _ in range(size >> 20)] +
                    [compressor.flush()])


def _zip_with_lying_sizes(members: dict, bomb_name: str, bomb: bytes, declared: int) -> bytes:
    """A zip whose member ``bomb_name`` inflates to far more than its header ``declared``."""
    out, central = io.BytesIO(), io.BytesIO()
    entries = [(name, zlib.crc32(data), data, len(data), 0) for name, data in members.items()
               if name != bomb_name]
    entries.append((bomb_name, 0, bomb, declared, 8))
    for name, crc, data, size, method in entries:
        encoded = name.encode()
        offset = out.tell()
        # A size beyond 32 bits goes in a zip64 extra field (0xFFFFFFFF in the header).
        extra = struct.pack("<HHQ", 1, 8, size) if size >= 1 << 32 else b""
        size = min(size, 0xFFFFFFFF)
        out.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, method, 0, 0, crc, len(data),
                              size, len(encoded), len(extra)) + encoded + extra + data)
        central.write(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 45, 45, 0, method, 0, 0, crc,
                                  len(data), size, len(encoded), len(extra), 0, 0, 0, 0,
                                  offset) + encoded + extra)
    directory = central.getvalue()
    out.write(directory + struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries),
                                      len(entries), len(directory), out.tell(), 0))
    return out.getvalue()


@pytest.mark.parametrize("member", ["config.json", "model.weights.h5"])
def test_zip_bomb_with_a_lying_header_is_refused_in_bounded_memory(tmp_path, saved_members,
                                                                   member):
    path = tmp_path / "bomb.keras"
    path.write_bytes(_zip_with_lying_sizes(saved_members, member, _deflated(200 << 20), 100))
    with Budget(seconds=10), pytest.raises(ValueError, match="bomb.keras.*damaged"):
        keras.models.load_model(path)


def test_zip_bomb_declaring_its_size_is_refused_before_reading(tmp_path, saved_members):
    path = tmp_path / "honest_bomb.keras"
    path.write_bytes(_zip_with_lying_sizes(saved_members, "model.weights.h5",
                                           _deflated(1 << 20), 5 << 30))
    with Budget(seconds=2), pytest.raises(ValueError, match="decompression bomb"):
        keras.models.load_model(path)
