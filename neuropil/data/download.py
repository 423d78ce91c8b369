"""Download files once, verify them, and keep them in a local cache.

`get_file` follows `keras.utils.get_file`: a file is fetched from its URL
into `<cache_dir>/<cache_subdir>/<fname>` unless a good copy is already
there. What we add:

- `origin` may be a list of mirror URLs, tried in order;
- downloads stream into a temporary file beside the target, are checked
  (length and hash), and only then renamed into place, so an interrupted or
  corrupt download never sits under the final name;
- `locate_files` finds a data set's files in a local directory (argument or
  `$NEUROPIL_DATA`) before downloading anything.

The cache lives in `$NEUROPIL_HOME`, else `~/.neuropil`, else (if that is
not writable) `<tempdir>/.neuropil`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import string
import tempfile
import urllib.parse
import warnings
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

HOME_ENV = "NEUROPIL_HOME"
DATA_ENV = "NEUROPIL_DATA"

_TIMEOUT_SECONDS = 60
_CHUNK_BYTES = 1 << 16
_USER_AGENT = "neuropil-get-file"

StrPath = Union[str, "os.PathLike[str]"]


class _IncompleteDownload(OSError):
    """The connection ended before the announced number of bytes arrived."""


# ---------------------------------------------------------------- hashing


def sha256_of(path: StrPath) -> str:
    """Returns the SHA-256 of a file as 64 lowercase hex digits.

    Same value as the command-line `sha256sum` prints.
    """
    return _hash_file(path, "sha256")


def verify_file(path: StrPath, expected_hash: str, hash_algorithm: str = "auto") -> None:
    """Checks a file against its expected SHA-256 (or MD5) hash.

    Args:
        path: File to check.
        expected_hash: Hex digest. With `hash_algorithm="auto"`, 64 digits
            mean SHA-256 and 32 digits mean MD5.
        hash_algorithm: `"auto"`, `"sha256"` or `"md5"`.

    Raises:
        ValueError: If the hashes differ; the message names the file and
            both hashes.
    """
    algorithm = _resolve_algorithm(hash_algorithm, expected_hash)
    actual = _hash_file(path, algorithm)
    if actual != expected_hash.lower():
        raise ValueError(
            f"File {os.fspath(path)!r} has {algorithm} {actual}, expected "
            f"{expected_hash.lower()}. The file may be corrupt or a different version: "
            "delete it and download it again."
        )


def _hash_file(path: StrPath, algorithm: str) -> str:
    hasher = _new_hasher(algorithm)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            hasher.update(chunk)
    return hasher.hexdigest()


def _new_hasher(algorithm: str) -> "hashlib._Hash":
    # MD5 only checks integrity here; saying so keeps FIPS-mode Pythons happy.
    return hashlib.new(algorithm, usedforsecurity=algorithm != "md5")


def _resolve_algorithm(hash_algorithm: str, file_hash: Optional[str]) -> str:
    if file_hash is not None and (
        not isinstance(file_hash, str)
        or not file_hash
        or any(c not in string.hexdigits for c in file_hash)
    ):
        raise ValueError(f"`file_hash` must be a hex digest string. Received: {file_hash!r}")
    if hash_algorithm in ("sha256", "md5"):
        return hash_algorithm
    if hash_algorithm != "auto":
        raise ValueError(
            "`hash_algorithm` must be 'auto', 'sha256' or 'md5'. "
            f"Received: hash_algorithm={hash_algorithm!r}"
        )
    if file_hash is None or len(file_hash) == 64:
        return "sha256"
    if len(file_hash) == 32:
        return "md5"
    raise ValueError(
        f"Cannot tell the hash algorithm of {file_hash!r} ({len(file_hash)} hex digits): "
        "SHA-256 has 64, MD5 has 32. Pass `hash_algorithm=` explicitly."
    )


# ---------------------------------------------------------------- get_file


def get_file(
    fname: Optional[str] = None,
    origin: Union[str, Sequence[str], None] = None,
    *,
    file_hash: Optional[str] = None,
    hash_algorithm: str = "auto",
    cache_dir: Optional[StrPath] = None,
    cache_subdir: StrPath = "datasets",
    force_download: bool = False,
    extract: bool = False,
    untar: bool = False,
    md5_hash: Optional[str] = None,
    archive_format: Union[str, Sequence[str], None] = "auto",
) -> str:
    """Downloads a file from a URL if it is not already in the cache.

    By default the file at `origin` is saved as
    `~/.neuropil/datasets/<fname>`. A cached copy is used as is when no
    `file_hash` is given, or when its hash matches; a cached copy with the
    wrong hash is downloaded again once. Files in `.tar`, `.tar.gz`,
    `.tar.bz2` and `.zip` formats can also be extracted.

    Args:
        fname: Local name of the file. If `None`, the last part of the
            (first) URL's path. A plain name, not a path: choose the folder
            with `cache_dir` / `cache_subdir`. When extracting, a name
            without a dot names the extraction directory.
        origin: URL of the file, or a list of mirror URLs tried in order
            (an extension of Keras). `file://` URLs work too.
        file_hash: Expected hex digest of the file (SHA-256 or MD5). Passing
            it is strongly recommended: it is how a corrupt or tampered
            download is caught.
        hash_algorithm: `"auto"` (64 hex digits -> SHA-256, 32 -> MD5),
            `"sha256"` or `"md5"`.
        cache_dir: Cache root. Defaults to `$NEUROPIL_HOME`, else
            `~/.neuropil`; a temporary directory is used if it is not writable.
        cache_subdir: Subdirectory of `cache_dir` for the file; an absolute
            path is used as is.
        force_download: If `True`, download even if a good copy is cached.
        extract: If `True`, extract the downloaded archive and return the
            extraction directory.
        untar: Deprecated: same as `extract=True, archive_format="tar"`.
        md5_hash: Deprecated: same as `file_hash=..., hash_algorithm="md5"`.
        archive_format: `"auto"` (tar, then zip), `"tar"`, `"zip"`, a list of
            those, or `None` (extract nothing).

    Returns:
        Path to the downloaded file, or to the extraction directory when
        extracting.

    Raises:
        ValueError: If arguments are invalid, or the downloaded file's hash
            does not match `file_hash` (the bad download is discarded).
        OSError: If no URL could be fetched.

    Warning: downloading runs no code, but only extract archives from
    sources you trust, and give `file_hash` whenever you know it.

    Example:

    >>> path = get_file(origin="https://example.com/data.csv")  # doctest: +SKIP
    """
    urls = _as_url_list(origin)
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    algorithm = _resolve_algorithm(hash_algorithm, file_hash)
    datadir = os.path.join(_cache_root(cache_dir), os.fspath(cache_subdir))
    os.makedirs(datadir, exist_ok=True)
    name = _local_name(fname, urls[0])
    target, extraction_dir = _targets(datadir, name, bool(fname), extract or untar)

    fetched = False
    if force_download or not _cached_copy_ok(target, file_hash, algorithm):
        _download(urls, target, file_hash, algorithm)
        fetched = True
    if extract or untar:
        _extract(target, extraction_dir, "tar" if untar else archive_format, fetched)
        return extraction_dir
    return target


def _as_url_list(origin: Union[str, Sequence[str], None]) -> List[str]:
    urls = [origin] if isinstance(origin, str) else list(origin or [])
    if not urls or not all(isinstance(url, str) and url for url in urls):
        raise ValueError(
            "Please specify the `origin` argument: the URL of the file to download "
            f"(or a list of mirror URLs). Received: origin={origin!r}"
        )
    return urls


def _cache_root(cache_dir: Optional[StrPath]) -> str:
    if cache_dir is None:
        cache_dir = os.environ.get(HOME_ENV) or os.path.join("~", ".neuropil")
    root = os.path.expanduser(os.fspath(cache_dir))
    with contextlib.suppress(OSError):
        os.makedirs(root, exist_ok=True)
    if not os.access(root, os.W_OK):
        # Like Keras: a read-only home (some clusters, containers) still works.
        root = os.path.join(tempfile.gettempdir(), ".neuropil")
    return root


def _local_name(fname: Optional[StrPath], url: str) -> str:
    if fname is None or fname == "":
        name = os.path.basename(urllib.parse.urlsplit(url).path)
        if not name:
            raise ValueError(
                f"Cannot tell a file name from the URL {url!r}. Pass `fname=`."
            )
        return urllib.parse.unquote(name)
    name = os.fspath(fname)
    if os.sep in name or (os.altsep and os.altsep in name):
        raise ValueError(
            "`fname` must be a file name, not a path; choose the folder with "
            f"`cache_dir=` or `cache_subdir=`. Received: fname={name!r}"
        )
    return name


def _targets(datadir: str, name: str, named: bool, extracting: bool) -> Tuple[str, str]:
    """Returns (download path, extraction directory) with Keras 3's naming."""
    if not extracting:
        return os.path.join(datadir, name), ""
    if named and "." in name:
        stem = name[: name.find(".")]
        return os.path.join(datadir, name), os.path.join(datadir, f"{stem}_extracted")
    return os.path.join(datadir, f"{name}_archive"), os.path.join(datadir, name)


def _cached_copy_ok(target: str, file_hash: Optional[str], algorithm: str) -> bool:
    if not os.path.isfile(target):
        return False
    if file_hash is None or _hash_file(target, algorithm) == file_hash.lower():
        return True
    print(
        f"A cached copy of {os.path.basename(target)} was found at {target}, but its "
        f"{algorithm} does not match {file_hash.lower()} (incomplete or outdated); "
        "downloading it again."
    )
    return False


# ---------------------------------------------------------------- fetching


def _download(urls: List[str], target: str, file_hash: Optional[str], algorithm: str) -> None:
    """Tries each URL in turn; the first good file is renamed onto `target`."""
    import http.client  # deferred: keeps `import neuropil` cheap

    failures: List[str] = []
    mismatches: List[Tuple[str, str]] = []
    last_error: Optional[BaseException] = None
    for url in urls:
        print(f"Downloading data from {url}")
        try:
            tmp, digest = _fetch_to_temp(url, target, algorithm)
        except (OSError, http.client.HTTPException) as err:
            failures.append(f"{url}: {err}")
            last_error = err
            continue
        if file_hash is None or digest == file_hash.lower():
            os.replace(tmp, target)  # atomic: readers see the old file or the new one
            return
        os.remove(tmp)
        mismatches.append((url, digest))
    if mismatches:
        raise ValueError(_mismatch_message(target, file_hash or "", algorithm, mismatches, failures))
    raise OSError(
        f"Could not download {os.path.basename(target)!r}; every URL failed:\n  "
        + "\n  ".join(failures)
    ) from last_error


def _mismatch_message(
    target: str,
    file_hash: str,
    algorithm: str,
    mismatches: List[Tuple[str, str]],
    failures: List[str],
) -> str:
    got = "\n  ".join(f"{url}: {algorithm} {digest}" for url, digest in mismatches)
    failed = "".join(f"\n  {line}" for line in failures)
    return (
        f"Downloaded file {os.path.basename(target)!r} failed its integrity check: "
        f"expected {algorithm} {file_hash.lower()}, got\n  {got}"
        + (f"\nOther URLs failed:{failed}" if failed else "")
        + f"\nThe file may be corrupt or changed on the server. The bad download was "
        f"discarded; nothing was written to {target}. If a copy exists there, delete it "
        "and try again."
    )


def _fetch_to_temp(url: str, target: str, algorithm: str) -> Tuple[str, str]:
    """Streams `url` into a temporary file beside `target`; returns (path, hash).

    The temporary file is removed on any failure, including KeyboardInterrupt.
    """
    import urllib.error  # deferred: urllib.request imports http, email, ssl
    import urllib.request

    fd, tmp = tempfile.mkstemp(
        dir=os.path.dirname(target), prefix=f".{os.path.basename(target)}.", suffix=".part"
    )
    try:
        hasher = _new_hasher(algorithm)
        request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
        with os.fdopen(fd, "wb") as out:
            with urllib.request.urlopen(request, timeout=_TIMEOUT_SECONDS) as response:
                announced = _content_length(response)
                received = 0
                while chunk := response.read(_CHUNK_BYTES):
                    out.write(chunk)
                    hasher.update(chunk)
                    received += len(chunk)
            if announced is not None and received != announced:
                raise _IncompleteDownload(
                    f"connection closed after {received} of {announced} bytes"
                )
            out.flush()
            os.fsync(out.fileno())  # the rename must not outrun the data on a crash
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        if isinstance(err, urllib.error.HTTPError):
            err.close()  # it holds the server's socket open until closed
        raise
    return tmp, hasher.hexdigest()


def _content_length(response: object) -> Optional[int]:
    value = getattr(response, "headers", {}).get("Content-Length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


# ---------------------------------------------------------------- extracting


def _extract(archive: str, dest: str, archive_format: object, refresh: bool) -> None:
    """Extracts into a temporary directory, then renames it onto `dest`."""
    if os.path.isdir(dest) and not refresh:
        return  # complete: only a finished extraction is ever renamed there
    for kind in _archive_kinds(archive_format):
        opener = _archive_opener(kind, archive)
        if opener is None:
            continue
        tmp = tempfile.mkdtemp(dir=os.path.dirname(dest), prefix=f".{os.path.basename(dest)}.")
        try:
            with opener() as handle:
                _extract_all(kind, handle, tmp)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if os.path.isdir(dest):
            shutil.rmtree(dest)
        os.replace(tmp, dest)
        return
    kinds = " or ".join(_archive_kinds(archive_format)) or "requested"
    warnings.warn(f"Could not extract {archive!r}: it is not a {kinds} archive.", stacklevel=3)


def _archive_kinds(archive_format: object) -> List[str]:
    if archive_format is None:
        return []
    if archive_format == "auto":
        return ["tar", "zip"]
    kinds = [archive_format] if isinstance(archive_format, str) else list(archive_format)
    for kind in kinds:
        if kind not in ("tar", "zip"):
            raise ValueError(
                "`archive_format` must be 'auto', 'tar', 'zip', a list of those, or None. "
                f"Received: archive_format={archive_format!r}"
            )
    return kinds


def _archive_opener(kind: str, archive: str) -> Optional[Callable[[], Any]]:
    """Returns a function opening `archive` as `kind`, or None if it is not one."""
    import tarfile
    import zipfile

    if kind == "tar" and tarfile.is_tarfile(archive):
        return lambda: tarfile.open(archive)
    if kind == "zip" and zipfile.is_zipfile(archive):
        return lambda: zipfile.ZipFile(archive)
    return None


def _extract_all(kind: str, handle: Any, dest: str) -> None:
    if kind == "zip":
        handle.extractall(dest)  # zipfile drops absolute paths and '..' itself
        return
    import tarfile

    if hasattr(tarfile, "data_filter"):
        # Refuses absolute paths, '..', links leaving `dest`, device files.
        handle.extractall(dest, filter="data")
        return
    safe = [m for m in handle.getmembers() if _tar_member_is_safe(m)]
    handle.extractall(dest, members=safe)


def _tar_member_is_safe(member: Any) -> bool:
    # Fallback for Pythons without tarfile's "data" filter (before 3.11.4).
    name = member.name.replace("\\", "/")
    parts = name.split("/")
    return (member.isfile() or member.isdir()) and not name.startswith("/") and ".." not in parts


# ---------------------------------------------------------------- data sets


def locate_files(
    hashes: Mapping[str, str],
    *,
    dataset_dir: str,
    base_urls: Sequence[str],
    path: Optional[StrPath] = None,
    cache_subdir: Optional[str] = None,
) -> Dict[str, str]:
    """Finds a data set's files on disk or downloads them; verifies each one.

    Looks, in order, in:

    1. `path`: a directory holding the files, or holding `dataset_dir/`
       with them. A bare file name ending in `.npz` (a Keras cache name such
       as `"mnist.npz"`) is ignored, so Keras programs run unchanged.
    2. `$NEUROPIL_DATA`, laid out the same way (`$NEUROPIL_DATA/mnist/...`).
    3. The download cache: each file is fetched with `get_file` from
       `base_urls[0] + name`, falling back to the other base URLs.

    Args:
        hashes: File name -> expected SHA-256 of every file of the set.
        dataset_dir: Conventional directory name of the set, e.g. `"mnist"`.
        base_urls: Base URLs ending in `/`, tried in order.
        path: Optional directory given by the user.
        cache_subdir: Cache subdirectory; defaults to `datasets/<dataset_dir>`.

    Returns:
        File name -> local path, for every name in `hashes`.

    Raises:
        FileNotFoundError: If `path` is given but lacks some of the files.
        ValueError: If a file's SHA-256 does not match.
        OSError: If a download fails from every URL.
    """
    names = list(hashes)
    if path is not None and not _is_keras_cache_name(path):
        found = _find_local(os.fspath(path), dataset_dir, names)
        if found is None:
            raise FileNotFoundError(_missing_message(os.fspath(path), dataset_dir, names))
        return _verified(found, hashes)
    env_dir = os.environ.get(DATA_ENV)
    if env_dir:
        found = _find_local(env_dir, dataset_dir, names)
        if found is not None:
            return _verified(found, hashes)
    subdir = cache_subdir or f"datasets/{dataset_dir}"
    return {
        name: get_file(
            name,
            origin=[base + name for base in base_urls],
            file_hash=hashes[name],
            cache_subdir=subdir,
        )
        for name in names
    }


def _is_keras_cache_name(path: StrPath) -> bool:
    text = os.fspath(path)
    return text.endswith(".npz") and os.path.basename(text) == text and not os.path.exists(text)


def _find_local(root: str, dataset_dir: str, names: List[str]) -> Optional[Dict[str, str]]:
    for folder in (os.path.join(root, dataset_dir), root):
        if all(os.path.isfile(os.path.join(folder, name)) for name in names):
            return {name: os.path.join(folder, name) for name in names}
    return None


def _missing_message(root: str, dataset_dir: str, names: List[str]) -> str:
    looked = [os.path.join(root, dataset_dir), root]
    missing = {
        folder: [n for n in names if not os.path.isfile(os.path.join(folder, n))] for folder in looked
    }
    detail = "; ".join(f"{folder} lacks {', '.join(m)}" for folder, m in missing.items())
    return (
        f"path={root!r} should be a directory holding {', '.join(names)} "
        f"(directly or in a {dataset_dir}/ subdirectory): {detail}. "
        "Omit `path` to use $NEUROPIL_DATA or download the files."
    )


def _verified(found: Dict[str, str], hashes: Mapping[str, str]) -> Dict[str, str]:
    for name, local in found.items():
        verify_file(local, hashes[name], "sha256")
    return found
