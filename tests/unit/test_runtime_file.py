"""``gateway.json``: written atomically, read only while its process lives, removed only by its owner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from proxy_core.runtime_file import RUNTIME_FILE_NAME, RuntimeInfo, read_runtime, remove_runtime, write_runtime


@pytest.fixture
def other_process() -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield proc
    proc.kill()
    proc.wait()


def info(pid: int) -> RuntimeInfo:
    return RuntimeInfo(pid, "http://127.0.0.1:8787", "local", 1_700_000_000_000, headless=True)


def test_a_live_gateway_is_found(tmp_path: Path, other_process: subprocess.Popen[bytes]) -> None:
    path = write_runtime(tmp_path, info(other_process.pid))
    assert path.stat().st_mode & 0o777 == 0o600
    found = read_runtime(tmp_path)
    assert found == info(other_process.pid)
    assert found.api_url == "http://127.0.0.1:8787/client/v4"


def test_a_file_left_by_a_dead_process_is_stale(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    write_runtime(tmp_path, info(proc.pid))
    assert read_runtime(tmp_path) is None


def test_this_process_never_attaches_to_itself(tmp_path: Path) -> None:
    write_runtime(tmp_path, info(os.getpid()))
    assert read_runtime(tmp_path) is None


@pytest.mark.parametrize("content", [b"", b"not json", b"{}", b'{"pid": "x"}', b"[]"])
def test_a_damaged_file_is_ignored(tmp_path: Path, content: bytes) -> None:
    (tmp_path / RUNTIME_FILE_NAME).write_bytes(content)
    assert read_runtime(tmp_path) is None


def test_no_file_no_gateway(tmp_path: Path) -> None:
    assert read_runtime(tmp_path / "missing") is None


def test_only_the_owner_removes_the_file(tmp_path: Path, other_process: subprocess.Popen[bytes]) -> None:
    write_runtime(tmp_path, info(other_process.pid))
    remove_runtime(tmp_path, os.getpid())  # an older gateway stopping must not unlist a newer one
    assert (tmp_path / RUNTIME_FILE_NAME).exists()
    remove_runtime(tmp_path, other_process.pid)
    assert not (tmp_path / RUNTIME_FILE_NAME).exists()
    remove_runtime(tmp_path, other_process.pid)  # already gone: fine
