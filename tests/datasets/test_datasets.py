"""Data sets: MNIST and Fashion-MNIST from the shared copies (each parsed once),
their download path through a fake mirror, and the bundled digits."""

import gzip
import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from neuropil.data.formats import write_idx
from neuropil.datasets import _mnist_layout, digits, fashion_mnist, mnist

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "datasets"
FILES = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
]


def _shared(name: str) -> Path:
    if not (SHARED / name).is_dir():
        pytest.skip(f"shared data set not found at {SHARED / name}")
    return SHARED


@pytest.fixture(scope="module")
def mnist_data():
    """MNIST through `path=` (the shared root: files in its mnist/ subdirectory)."""
    return mnist.load_data(path=_shared("mnist"))


@pytest.fixture(scope="module")
def fashion_data():
    """Fashion-MNIST through $NEUROPIL_DATA laid out like shared/datasets."""
    root = _shared("fashion-mnist")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NEUROPIL_DATA", str(root))
        mp.setenv("NEUROPIL_HOME", "/nonexistent-so-a-download-would-fail")
        return fashion_mnist.load_data()


def _check_keras_layout(data):
    (x_train, y_train), (x_test, y_test) = data
    assert x_train.shape == (60000, 28, 28) and y_train.shape == (60000,)
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    for array in (x_train, y_train, x_test, y_test):
        assert array.dtype == np.uint8


def test_mnist_matches_keras(mnist_data):
    _check_keras_layout(mnist_data)
    (x_train, y_train), (_, y_test) = mnist_data
    assert np.bincount(y_train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert x_train.mean() == pytest.approx(33.32, abs=0.01)
    assert x_train.min() == 0 and x_train.max() == 255


def test_fashion_mnist_matches_keras(fashion_data):
    _check_keras_layout(fashion_data)
    (x_train, y_train), (_, y_test) = fashion_data
    assert np.bincount(y_train).tolist() == [6000] * 10
    assert np.bincount(y_test).tolist() == [1000] * 10
    assert x_train.mean() == pytest.approx(72.94, abs=0.01)


@pytest.mark.parametrize("module, name", [(mnist, "mnist"), (fashion_mnist, "fashion-mnist")])
def test_path_holding_files_directly(module, name, monkeypatch):
    # Resolution and hashes only: parsing is stubbed so each set is parsed once.
    folder = _shared(name) / name
    seen = []
    monkeypatch.setattr(_mnist_layout, "read_idx_examples",
                        lambda images, labels, **kw: seen.append(images))
    monkeypatch.delenv("NEUROPIL_DATA", raising=False)
    module.load_data(path=folder)
    assert seen == [str(folder / FILES[0]), str(folder / FILES[2])]


def test_local_file_with_wrong_hash_is_an_error(tmp_path):
    for name in FILES:
        (tmp_path / name).write_bytes(b"not the real file")
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.gz.*may be corrupt"):
        mnist.load_data(path=tmp_path)


def test_path_without_the_files_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="should be a directory holding"):
        mnist.load_data(path=tmp_path)


# ------------------------------------------------------------ download path


def _fake_mirror(folder: Path, labels_train, labels_test) -> dict:
    """Small valid IDX files; returns their SHA-256 table."""
    folder.mkdir()
    rng = np.random.default_rng(0)
    arrays = {
        FILES[0]: rng.integers(0, 256, (len(labels_train), 28, 28), dtype=np.uint8),
        FILES[1]: np.asarray(labels_train, np.uint8),
        FILES[2]: rng.integers(0, 256, (len(labels_test), 28, 28), dtype=np.uint8),
        FILES[3]: np.asarray(labels_test, np.uint8),
    }
    for name, array in arrays.items():
        write_idx(folder / name, array)
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in FILES}


@pytest.fixture
def mirror(tmp_path, monkeypatch, request):
    """Points a data set module at a file:// mirror and an empty cache."""
    module, labels_train = request.param
    hashes = _fake_mirror(tmp_path / "mirror", labels_train, [9, 0, 1])
    monkeypatch.setattr(module, "_SHA256", hashes)
    monkeypatch.setattr(_mnist_layout, "_COUNTS", {"train": len(labels_train), "t10k": 3})
    dead = (tmp_path / "dead").as_uri() + "/"  # first mirror fails: fallback is exercised
    monkeypatch.setattr(module, "_BASE_URLS", [dead, (tmp_path / "mirror").as_uri() + "/"])
    monkeypatch.setenv("NEUROPIL_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("NEUROPIL_DATA", raising=False)
    return module, tmp_path


@pytest.mark.parametrize(
    "mirror", [(mnist, [0, 1, 2, 3, 4]), (fashion_mnist, [0, 1, 2, 3, 4])], indirect=True
)
def test_download_path_through_fake_mirror(mirror, capsys):
    module, tmp_path = mirror
    (x_train, y_train), (x_test, y_test) = module.load_data(path="mnist.npz")  # Keras habit
    assert x_train.shape == (5, 28, 28) and x_train.dtype == np.uint8
    assert y_train.tolist() == [0, 1, 2, 3, 4] and y_test.tolist() == [9, 0, 1]
    subdir = "mnist" if module is mnist else "fashion-mnist"
    cached = tmp_path / "home" / "datasets" / subdir
    assert sorted(p.name for p in cached.iterdir()) == sorted(FILES)
    assert "Downloading data from" in capsys.readouterr().out

    for path in (tmp_path / "mirror").iterdir():  # the cache alone must now suffice
        path.unlink()
    (again, _), _ = module.load_data()
    np.testing.assert_array_equal(again, x_train)


@pytest.mark.parametrize("mirror", [(mnist, [0, 1, 10])], indirect=True)
def test_label_out_of_range_is_an_error(mirror):
    module, _ = mirror
    with pytest.raises(ValueError, match=r"label 10 at index 2 is outside the range 0..9"):
        module.load_data()


# ------------------------------------------------------------ digits


def test_digits_shapes_and_types():
    (x_train, y_train), (x_test, y_test) = digits.load_data()
    assert x_train.shape == (1437, 8, 8) and x_test.shape == (360, 8, 8)
    assert y_train.shape == (1437,) and y_test.shape == (360,)
    assert {a.dtype for a in (x_train, y_train, x_test, y_test)} == {np.dtype(np.uint8)}
    assert x_train.max() == 16
    assert set(y_train.tolist()) == set(y_test.tolist()) == set(range(10))


def test_digits_split_is_a_shuffled_partition():
    (x_train, y_train), (x_test, y_test) = digits.load_data(test_split=0.5, seed=1)
    x = np.concatenate([x_train, x_test]).reshape(1797, 64)
    y = np.concatenate([y_train, y_test])
    rows = np.column_stack([x, y])
    with gzip.open(Path(digits.__file__).with_name("digits.csv.gz"), "rt") as f:
        original = np.loadtxt(f, delimiter=",", dtype=np.int64)
    assert not np.array_equal(rows, original)  # shuffled
    key = lambda a: a[np.lexsort(a.T[::-1])]  # noqa: E731
    np.testing.assert_array_equal(key(rows), key(original))  # nothing lost or duplicated


def test_digits_seed_determinism():
    (a, ya), _ = digits.load_data(seed=7)
    (b, yb), _ = digits.load_data(seed=7)
    (c, _), _ = digits.load_data(seed=8)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ya, yb)
    assert not np.array_equal(a, c)


def test_digits_zero_test_split():
    (x_train, _), (x_test, y_test) = digits.load_data(test_split=0)
    assert x_train.shape == (1797, 8, 8) and x_test.shape == (0, 8, 8) and y_test.shape == (0,)


@pytest.mark.parametrize("bad", [1, 1.0, -0.1, True, "0.2", float("nan")])
def test_digits_rejects_bad_test_split(bad):
    with pytest.raises(ValueError, match="test_split"):
        digits.load_data(test_split=bad)


def test_digits_checks_bundled_hash(monkeypatch):
    monkeypatch.setattr(digits, "_SHA256", "0" * 64)
    with pytest.raises(ValueError, match="digits.csv.gz.*may be corrupt"):
        digits.load_data()


def test_digits_from_custom_csv(tmp_path):
    rows = np.column_stack([np.arange(10 * 64).reshape(10, 64) % 17, np.arange(10)])
    path = tmp_path / "mine.csv"
    np.savetxt(path, rows, fmt="%d", delimiter=",")
    (x_train, y_train), (x_test, y_test) = digits.load_data(test_split=0.3, path=path)
    assert x_train.shape == (7, 8, 8) and x_test.shape == (3, 8, 8)
    assert sorted(np.concatenate([y_train, y_test]).tolist()) == list(range(10))


@pytest.mark.parametrize(
    "text, message",
    [
        ("1,2,3\n", "has 3 columns; expected 65"),
        (",".join(["17"] * 64 + ["0"]) + "\n", "row 1: a pixel value lies outside 0..16"),
        (",".join(["0"] * 64 + ["10"]) + "\n", "row 1: a label value lies outside 0..9"),
        ("a,b\n", "not a digits CSV"),
    ],
)
def test_digits_bad_custom_csv(tmp_path, text, message):
    path = tmp_path / "bad.csv.gz"
    with gzip.open(path, "wt") as f:
        f.write(text)
    with pytest.raises(ValueError, match=message):
        digits.load_data(path=path)


# ------------------------------------------------------------ namespace


def test_import_reads_no_data_file():
    # An audit hook sees every open(); importing must not touch a data file.
    code = (
        "import sys\n"
        "opened = []\n"
        "sys.addaudithook(lambda e, a: opened.append(str(a[0])) if e == 'open' else None)\n"
        "import neuropil.datasets as d\n"
        "assert callable(d.mnist.load_data) and callable(d.digits.load_data)\n"
        "print([p for p in opened if p.endswith(('.gz', '.csv'))])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
