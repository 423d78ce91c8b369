"""Writing a file all at once or not at all.

The bytes go to a temporary file in the target's directory (same file system), which is
renamed over the target only when complete (``os.replace`` is atomic): a crash, an
exception or Ctrl-C mid-save leaves any previous file untouched and no temporary file.
The data is synced to disk before the rename and the directory after it, so a power cut
cannot leave the new name pointing at missing data (a SIGKILL mid-save may leave a
``.<name>.*.tmp`` file behind, never a damaged target).
"""
from __future__ import annotations

import os
import sys
import tempfile

__all__ = ["write_with", "write_bytes", "may_write"]


def write_with(filepath, write) -> None:
    """Calls ``write(binary_file)`` on a temporary file, then renames it to ``filepath``."""
    filepath = os.fspath(filepath)
    directory = os.path.dirname(os.path.abspath(filepath))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(filepath)}.",
                               suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            write(file)
            file.flush()
            # mkstemp makes the file private (0600); give it the mode open() would have.
            os.fchmod(file.fileno(), 0o666 & ~_umask())
            os.fsync(file.fileno())
        os.replace(tmp, filepath)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    _sync_directory(directory)


def _umask() -> int:
    mask = os.umask(0)  # reading the umask means setting it; put it straight back
    os.umask(mask)
    return mask


def _sync_directory(directory) -> None:
    """Makes a rename in ``directory`` durable (where the OS allows opening directories)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # e.g. Windows: directories cannot be opened; NTFS journals renames
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on a directory; the rename itself is done
    finally:
        os.close(fd)


def write_bytes(filepath, data: bytes) -> None:
    write_with(filepath, lambda file: file.write(data))


def may_write(filepath, overwrite: bool) -> bool:
    """Whether to write ``filepath``: yes if ``overwrite`` or it does not exist; otherwise
    ask on an interactive terminal (as Keras does), and refuse when nobody can answer."""
    if overwrite or not os.path.exists(filepath):
        return True
    if not sys.stdin or not sys.stdin.isatty():
        raise FileExistsError(f"{filepath} already exists and overwrite=False. Pass "
                              "overwrite=True to replace it.")
    answer = input(f"[WARNING] {filepath} already exists - overwrite? [y/n]").strip().lower()
    while answer not in ("y", "n"):
        answer = input('Enter "y" (overwrite) or "n" (cancel).').strip().lower()
    return answer == "y"
