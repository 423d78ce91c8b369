"""get_file and locate_files against file:// URLs and a loopback HTTP server."""

import hashlib
import http.server
import io
import os
import tarfile
import threading
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from neuropil.data import download
from neuropil.data.download import get_file, locate_files, sha256_of, verify_file

PAYLOAD = b"neuropil test payload\n" * 500
SHA = hashlib.sha256(PAYLOAD).hexdigest()
MD5 = hashlib.md5(PAYLOAD).hexdigest()


# ------------------------------------------------------------ loopback server


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves `server.files`; `/truncated/...` announces more bytes than it sends."""

    def do_GET(self):
        self.server.requests[self.path] += 1
        truncated = self.path.startswith("/truncated/")
        body = self.server.files.get(self.path.removeprefix("/truncated"))
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if truncated else body)
        if truncated:
            self.close_connection = True

    def log_message(self, *args):  # keep test output quiet
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.files = {"/data.bin": PAYLOAD, "/other.bin": b"something else"}
    httpd.requests = Counter()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture
def source(tmp_path):
    """A file reachable by a file:// URL."""
    path = tmp_path / "origin" / "data.bin"
    path.parent.mkdir()
    path.write_bytes(PAYLOAD)
    return path


def _listing(folder: Path):
    return sorted(p.name for p in folder.iterdir())


# ------------------------------------------------------------ basics


def test_file_url_lands_in_cache_subdir(tmp_path, source):
    path = get_file(origin=source.as_uri(), file_hash=SHA, cache_dir=tmp_path / "c")
    assert path == str(tmp_path / "c" / "datasets" / "data.bin")
    assert Path(path).read_bytes() == PAYLOAD


def test_default_cache_is_neuropil_home(tmp_path, source, monkeypatch):
    monkeypatch.setenv("NEUROPIL_HOME", str(tmp_path / "home"))
    path = get_file("renamed.bin", source.as_uri(), cache_subdir="sub")
    assert path == str(tmp_path / "home" / "sub" / "renamed.bin")


def test_absolute_cache_subdir_used_as_is(tmp_path, source):
    path = get_file(origin=source.as_uri(), cache_dir=tmp_path / "c", cache_subdir=tmp_path / "abs")
    assert path == str(tmp_path / "abs" / "data.bin")


def test_unwritable_cache_falls_back_to_temp_dir(tmp_path, source, monkeypatch):
    locked = tmp_path / "locked"
    real_access = os.access
    monkeypatch.setattr(
        download.os, "access", lambda p, mode: False if Path(p) == locked else real_access(p, mode)
    )
    monkeypatch.setattr(download.tempfile, "gettempdir", lambda: str(tmp_path / "tmp"))
    path = get_file(origin=source.as_uri(), cache_dir=locked)
    assert path == str(tmp_path / "tmp" / ".neuropil" / "datasets" / "data.bin")


def test_second_call_uses_cache(tmp_path, server):
    url = server.url + "/data.bin"
    first = get_file(origin=url, file_hash=SHA, cache_dir=tmp_path)
    second = get_file(origin=url, file_hash=SHA, cache_dir=tmp_path)
    third = get_file(origin=url, cache_dir=tmp_path)  # no hash: presence is enough
    assert first == second == third
    assert server.requests["/data.bin"] == 1


def test_force_download(tmp_path, server):
    url = server.url + "/data.bin"
    get_file(origin=url, cache_dir=tmp_path)
    get_file(origin=url, cache_dir=tmp_path, force_download=True)
    assert server.requests["/data.bin"] == 2


@pytest.mark.parametrize(
    "kwargs",
    [
        {"file_hash": MD5},  # "auto": 32 hex digits mean MD5
        {"file_hash": MD5.upper(), "hash_algorithm": "md5"},
        {"md5_hash": MD5},  # deprecated Keras spelling
        {"file_hash": SHA.upper()},
    ],
)
def test_hash_spellings(tmp_path, source, kwargs):
    path = get_file(origin=source.as_uri(), cache_dir=tmp_path, **kwargs)
    assert Path(path).read_bytes() == PAYLOAD


# ------------------------------------------------------------ integrity


def test_hash_mismatch_names_file_and_both_hashes(tmp_path, server):
    wrong = "0" * 64
    with pytest.raises(ValueError) as info:
        get_file(origin=server.url + "/data.bin", file_hash=wrong, cache_dir=tmp_path)
    message = str(info.value)
    assert "data.bin" in message and wrong in message and SHA in message
    assert "corrupt" in message and "delete it" in message
    assert _listing(tmp_path / "datasets") == []  # bad download discarded, no temp left


def test_corrupt_cached_file_is_downloaded_again(tmp_path, server, capsys):
    cached = tmp_path / "datasets" / "data.bin"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(PAYLOAD[:100])  # an earlier, interrupted copy
    path = get_file(origin=server.url + "/data.bin", file_hash=SHA, cache_dir=tmp_path)
    assert Path(path).read_bytes() == PAYLOAD
    assert server.requests["/data.bin"] == 1
    assert "does not match" in capsys.readouterr().out


def test_sha256_of_and_verify_file(tmp_path, source):
    assert sha256_of(source) == SHA
    verify_file(source, SHA)
    verify_file(source, MD5)
    with pytest.raises(ValueError, match=rf"data.bin.*sha256 {SHA}, expected {'1' * 64}"):
        verify_file(source, "1" * 64)


# ------------------------------------------------------------ atomicity


def test_interrupted_http_download_leaves_nothing(tmp_path, server):
    with pytest.raises(OSError, match="every URL failed"):
        get_file(origin=server.url + "/truncated/data.bin", cache_dir=tmp_path)
    assert _listing(tmp_path / "datasets") == []


def test_exception_mid_stream_leaves_nothing_and_keeps_old_copy(tmp_path, source, monkeypatch):
    path = Path(get_file(origin=source.as_uri(), cache_dir=tmp_path))

    class Exploding:
        def update(self, chunk):
            raise KeyboardInterrupt  # e.g. the user presses Ctrl-C mid-download

    monkeypatch.setattr(download, "_new_hasher", lambda algorithm: Exploding())
    with pytest.raises(KeyboardInterrupt):
        get_file(origin=source.as_uri(), cache_dir=tmp_path, force_download=True)
    assert _listing(path.parent) == ["data.bin"]
    assert path.read_bytes() == PAYLOAD  # the good copy was never touched


# ------------------------------------------------------------ mirrors


def test_falls_back_to_next_mirror(tmp_path, server, source):
    mirrors = [server.url + "/missing.bin", (tmp_path / "nowhere.bin").as_uri(), source.as_uri()]
    path = get_file("data.bin", mirrors, file_hash=SHA, cache_dir=tmp_path)
    assert Path(path).read_bytes() == PAYLOAD
    assert server.requests["/missing.bin"] == 1


def test_mirror_with_wrong_content_is_skipped(tmp_path, server):
    mirrors = [server.url + "/other.bin", server.url + "/data.bin"]
    path = get_file("data.bin", mirrors, file_hash=SHA, cache_dir=tmp_path)
    assert Path(path).read_bytes() == PAYLOAD


def test_all_mirrors_failing_lists_each(tmp_path, server):
    mirrors = [server.url + "/a.bin", server.url + "/b.bin"]
    with pytest.raises(OSError) as info:
        get_file("x.bin", mirrors, cache_dir=tmp_path)
    assert "/a.bin: HTTP Error 404" in str(info.value)
    assert "/b.bin: HTTP Error 404" in str(info.value)


# ------------------------------------------------------------ argument errors


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"origin": None}, "specify the `origin`"),
        ({"origin": []}, "specify the `origin`"),
        ({"fname": "a/b.bin"}, "must be a file name, not a path"),
        ({"file_hash": "abc"}, "neither|SHA-256 has 64, MD5 has 32"),
        ({"file_hash": "z" * 64}, "hex digest"),
        ({"file_hash": SHA, "hash_algorithm": "sha1"}, "'auto', 'sha256' or 'md5'"),
    ],
)
def test_argument_errors(tmp_path, source, kwargs, message):
    kwargs = {"origin": source.as_uri(), **kwargs}
    with pytest.raises(ValueError, match=message):
        get_file(cache_dir=tmp_path, **kwargs)


# ------------------------------------------------------------ extraction


def _make_archive(folder: Path, kind: str) -> Path:
    if kind == "tar":
        path = folder / "pack.tar.gz"
        with tarfile.open(path, "w:gz") as tar:
            info = tarfile.TarInfo("pack/hello.txt")
            info.size = 5
            tar.addfile(info, io.BytesIO(b"hello"))
    else:
        path = folder / "pack.zip"
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("pack/hello.txt", "hello")
    return path


@pytest.mark.parametrize("kind", ["tar", "zip"])
def test_extract_follows_keras_naming(tmp_path, kind):
    archive = _make_archive(tmp_path, kind)
    out = get_file("pack", archive.as_uri(), extract=True, cache_dir=tmp_path / "c")
    assert out == str(tmp_path / "c" / "datasets" / "pack")
    assert (Path(out) / "pack" / "hello.txt").read_text() == "hello"
    assert _listing(Path(out).parent) == ["pack", "pack_archive"]

    out = get_file(archive.name, archive.as_uri(), extract=True, cache_dir=tmp_path / "d")
    assert out == str(tmp_path / "d" / "datasets" / "pack_extracted")


def test_extract_non_archive_warns(tmp_path, source):
    with pytest.warns(UserWarning, match="Could not extract"):
        get_file("data", source.as_uri(), extract=True, cache_dir=tmp_path)


# ------------------------------------------------------------ locate_files


def _files(folder: Path, names=("a.gz", "b.gz")):
    folder.mkdir(parents=True, exist_ok=True)
    hashes = {}
    for name in names:
        (folder / name).write_bytes(name.encode())
        hashes[name] = hashlib.sha256(name.encode()).hexdigest()
    return hashes


@pytest.mark.parametrize("nested", [False, True])
def test_locate_in_path_directory(tmp_path, nested):
    folder = tmp_path / "set" if nested else tmp_path
    hashes = _files(folder)
    found = locate_files(hashes, dataset_dir="set", base_urls=[], path=tmp_path)
    assert found == {name: str(folder / name) for name in hashes}


def test_locate_path_missing_files_is_explicit(tmp_path):
    hashes = _files(tmp_path, ["a.gz"])
    with pytest.raises(FileNotFoundError, match=r"lacks b.gz"):
        locate_files({**hashes, "b.gz": "0" * 64}, dataset_dir="set", base_urls=[], path=tmp_path)


def test_locate_checks_local_hashes(tmp_path):
    hashes = _files(tmp_path)
    hashes["b.gz"] = "f" * 64
    with pytest.raises(ValueError, match="b.gz.*expected f{64}"):
        locate_files(hashes, dataset_dir="set", base_urls=[], path=tmp_path)


def test_locate_uses_neuropil_data(tmp_path, monkeypatch):
    hashes = _files(tmp_path / "data" / "set")
    monkeypatch.setenv("NEUROPIL_DATA", str(tmp_path / "data"))
    found = locate_files(hashes, dataset_dir="set", base_urls=[])
    assert found["a.gz"] == str(tmp_path / "data" / "set" / "a.gz")


def test_locate_downloads_when_not_local(tmp_path, monkeypatch):
    hashes = _files(tmp_path / "mirror")
    monkeypatch.setenv("NEUROPIL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NEUROPIL_DATA", str(tmp_path / "empty"))
    bases = [(tmp_path / "gone").as_uri() + "/", (tmp_path / "mirror").as_uri() + "/"]
    # "mnist.npz" is Keras's cache file name: accepted and ignored.
    found = locate_files(hashes, dataset_dir="set", base_urls=bases, path="set.npz")
    assert found["b.gz"] == str(tmp_path / "home" / "datasets" / "set" / "b.gz")
    assert Path(found["b.gz"]).read_bytes() == b"b.gz"
