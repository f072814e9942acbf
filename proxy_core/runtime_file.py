"""``{data_dir}/gateway.json``: which process serves this data directory, and where.

A gateway writes it when it starts listening and removes it when it stops. ``aigw-console`` reads
it first: if a live gateway serves the data directory, the new console attaches to it instead of
starting a second gateway. A file left by a killed process (its pid gone) is stale and ignored.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import orjson

__all__ = ["RUNTIME_FILE_NAME", "RuntimeInfo", "read_runtime", "remove_runtime", "write_runtime"]

RUNTIME_FILE_NAME = "gateway.json"


@dataclass(frozen=True, slots=True)
class RuntimeInfo:
    pid: int
    base_url: str
    """``http://HOST:PORT`` of the proxy and its management API."""
    account_id: str
    started_at: int
    """Milliseconds since the epoch."""
    headless: bool

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/client/v4"


def write_runtime(data_dir: Path, info: RuntimeInfo) -> Path:
    """Write the file atomically (mode 0600: it says where the management API listens)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / RUNTIME_FILE_NAME
    partial = path.with_name(f".{RUNTIME_FILE_NAME}.{info.pid}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(orjson.dumps(asdict(info), option=orjson.OPT_INDENT_2))
    os.replace(partial, path)
    return path


def read_runtime(data_dir: Path) -> RuntimeInfo | None:
    """The gateway serving ``data_dir``, or ``None`` if there is none (or only a stale file)."""
    path = data_dir / RUNTIME_FILE_NAME
    try:
        raw = orjson.loads(path.read_bytes())
        info = RuntimeInfo(
            pid=int(raw["pid"]), base_url=str(raw["base_url"]), account_id=str(raw["account_id"]),
            started_at=int(raw["started_at"]), headless=bool(raw["headless"]),
        )  # fmt: skip
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if info.pid == os.getpid() or not _alive(info.pid):
        return None
    return info


def remove_runtime(data_dir: Path, pid: int) -> None:
    """Remove the file if it is still ``pid``'s (a newer gateway may have replaced it)."""
    path = data_dir / RUNTIME_FILE_NAME
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        if int(orjson.loads(path.read_bytes())["pid"]) == pid:
            path.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive, but not one we could attach to anyway
        return True
    return True
