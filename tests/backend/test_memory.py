"""backend.memory.keep_freed_memory: applied once on glibc, skipped when the user chose."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from neuropil.backend import memory

ROOT = Path(__file__).resolve().parents[2]


def run(env_extra: dict) -> str:
    code = ("from neuropil.backend import memory; "
            "print(memory.keep_freed_memory(), memory.keep_freed_memory())")
    env = {k: v for k, v in os.environ.items()
           if k not in ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_",
                        "NEUROPIL_KEEP_FREED_MEMORY")}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**env, **env_extra}, cwd=ROOT, check=True).stdout.split()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_applies_once_on_glibc():
    import platform
    expected = "True" if platform.libc_ver()[0] == "glibc" else "False"
    assert run({}) == [expected, expected]


@pytest.mark.parametrize("env", [{"NEUROPIL_KEEP_FREED_MEMORY": "0"},
                                 {"MALLOC_TRIM_THRESHOLD_": "1000000"}])
def test_leaves_the_allocator_alone_when_asked_or_already_set(env):
    assert run(env) == ["False", "False"]


def test_returns_a_bool_in_this_process():
    assert memory.keep_freed_memory() in (True, False)
