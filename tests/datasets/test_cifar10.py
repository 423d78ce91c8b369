"""CIFAR-10 from a tiny archive in the binary format (cifar-10-binary.tar.gz), built here:
layout and dtypes as Keras returns them, CHW -> HWC, path / $NEUROPIL_DATA / download with
the SHA-256 check, and errors for damaged archives."""
import hashlib
import io
import tarfile

import numpy as np
import pytest

from neuropil.data.formats import cifar_records, read_cifar_records
from neuropil.datasets import cifar10

PER_BATCH = 4


def _images(seed, count):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (count, 32, 32, 3), dtype=np.uint8), \
        rng.integers(0, 10, count).astype(np.uint8)


def _write_archive(path, batches=None, extra=None):
    """The real archive's layout: cifar-10-batches-bin/{data_batch_1..5,test_batch}.bin."""
    batches = batches or {name: _images(i, PER_BATCH) for i, name in
                          enumerate(cifar10._TRAIN_BATCHES + [cifar10._TEST_BATCH])}
    with tarfile.open(path, "w:gz") as tar:
        for name, payload in {**{n: cifar_records(*b) for n, b in batches.items()},
                              **(extra or {})}.items():
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return batches, hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    folder.mkdir()
    batches, sha = _write_archive(folder / cifar10._ARCHIVE)
    monkeypatch.setattr(cifar10, "_SHA256", {cifar10._ARCHIVE: sha})
    monkeypatch.setattr(cifar10, "_RECORDS_PER_BATCH", PER_BATCH)
    monkeypatch.delenv("NEUROPIL_DATA", raising=False)
    monkeypatch.setenv("NEUROPIL_HOME", str(tmp_path / "home"))
    return folder, batches


def test_layout_dtypes_and_pixels_like_keras(tiny):
    folder, batches = tiny
    (x_train, y_train), (x_test, y_test) = cifar10.load_data(path=folder)
    assert x_train.shape == (5 * PER_BATCH, 32, 32, 3) and y_train.shape == (5 * PER_BATCH, 1)
    assert x_test.shape == (PER_BATCH, 32, 32, 3) and y_test.shape == (PER_BATCH, 1)
    assert {a.dtype for a in (x_train, y_train, x_test, y_test)} == {np.dtype(np.uint8)}
    expected_x = np.concatenate([batches[n][0] for n in cifar10._TRAIN_BATCHES])
    expected_y = np.concatenate([batches[n][1] for n in cifar10._TRAIN_BATCHES])
    np.testing.assert_array_equal(x_train, expected_x)
    np.testing.assert_array_equal(y_train[:, 0], expected_y)
    np.testing.assert_array_equal(x_test, batches[cifar10._TEST_BATCH][0])
    assert x_train.flags["C_CONTIGUOUS"]


def test_records_are_channel_planes_transposed_to_hwc():
    image = np.zeros((1, 32, 32, 3), np.uint8)
    image[0, 0, 1, 0] = 7     # red plane, row 0, column 1
    image[0, 2, 0, 2] = 9     # blue plane, row 2, column 0
    data = cifar_records(image, [3])
    assert len(data) == 3073 and data[0] == 3
    assert data[1 + 1] == 7 and data[1 + 2 * 1024 + 2 * 32] == 9   # CHW on disk
    x, y = read_cifar_records(data, "one")
    np.testing.assert_array_equal(x, image)
    assert y.tolist() == [3]


def test_neuropil_data_directory_and_subdirectory(tiny, tmp_path, monkeypatch):
    folder, _ = tiny
    monkeypatch.setenv("NEUROPIL_DATA", str(folder))
    (x_direct, _), _ = cifar10.load_data()
    nested = tmp_path / "root" / "cifar10"
    nested.mkdir(parents=True)
    (nested / cifar10._ARCHIVE).write_bytes((folder / cifar10._ARCHIVE).read_bytes())
    monkeypatch.setenv("NEUROPIL_DATA", str(tmp_path / "root"))
    (x_nested, _), _ = cifar10.load_data()
    np.testing.assert_array_equal(x_direct, x_nested)


def test_download_through_a_fake_mirror_then_the_cache(tiny, tmp_path, monkeypatch):
    folder, _ = tiny
    monkeypatch.setattr(cifar10, "_BASE_URLS", [folder.as_uri() + "/"])
    (x_train, _), _ = cifar10.load_data()
    cached = tmp_path / "home" / "datasets" / "cifar10" / cifar10._ARCHIVE
    assert cached.is_file()
    (folder / cifar10._ARCHIVE).unlink()
    (again, _), _ = cifar10.load_data()
    np.testing.assert_array_equal(again, x_train)


def test_wrong_hash_is_an_error(tiny, monkeypatch):
    folder, _ = tiny
    monkeypatch.setattr(cifar10, "_SHA256", {cifar10._ARCHIVE: "0" * 64})
    with pytest.raises(ValueError, match="cifar-10-binary.tar.gz.*may be corrupt"):
        cifar10.load_data(path=folder)


def test_missing_archive_and_damaged_batches(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="cifar-10-binary.tar.gz"):
        cifar10.load_data(path=tmp_path)
    monkeypatch.setattr(cifar10, "_RECORDS_PER_BATCH", PER_BATCH)
    batches = {n: _images(0, PER_BATCH) for n in cifar10._TRAIN_BATCHES}  # no test batch
    archive = tmp_path / "a.tar.gz"
    _write_archive(archive, batches)
    with pytest.raises(ValueError, match="has no 'cifar-10-batches-bin/test_batch.bin'"):
        cifar10._read_archive(str(archive))
    batches[cifar10._TEST_BATCH] = _images(1, PER_BATCH + 1)
    _write_archive(archive, batches)
    with pytest.raises(ValueError, match=r"test_batch.bin' holds 15365 bytes; expected 12292"):
        cifar10._read_archive(str(archive))
    with pytest.raises(ValueError, match="not a whole number of 3073-byte records"):
        read_cifar_records(b"\x00" * 3000, "short")
    bad_label = bytearray(cifar_records(*_images(2, 2)))
    bad_label[3073] = 10
    with pytest.raises(ValueError, match="label 10 at index 1"):
        read_cifar_records(bytes(bad_label), "labels", num_classes=10)


def test_published_hash_is_the_binary_archive():
    assert cifar10._SHA256 == {
        "cifar-10-binary.tar.gz":
            "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"}
