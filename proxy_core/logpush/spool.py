"""Files waiting for delivery, on disk in ``{data_dir}/logpush-spool``: the outbox of the pusher.

Every file is spooled before its first delivery attempt and removed once the sink has it, so a
sink that is down, a full disk at the destination or a restart loses nothing: the next start
finds the files and delivers them (at least once). The spool is bounded in bytes; a file that
would pass the bound is not kept and its records are counted as dropped. Files are encrypted
already: the spool holds nothing in plaintext.
"""

from __future__ import annotations

import gzip
import logging
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import orjson

__all__ = ["Spool", "SpooledFile"]

log = logging.getLogger(__name__)

_SUFFIX = ".log.gz"


@dataclass(frozen=True, slots=True)
class SpooledFile:
    key: str
    """The file's name at the destination (``account/gateway/day/name.log.gz``)."""
    account_id: str
    gateway_id: str
    records: int
    oldest_ms: int
    """``created_at`` of its oldest log: the lag while it waits."""
    size: int


def _parse_ms(stamp: str) -> int:
    return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() * 1000)


class Spool:
    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.bytes = 0
        self._files: dict[str, SpooledFile] = {}

    def _path(self, key: str) -> Path:
        return self.directory / key

    def load(self) -> list[SpooledFile]:
        """The files a previous run left (oldest first); half-written ones are removed."""
        found: list[SpooledFile] = []
        if not self.directory.exists():
            return found
        for path in sorted(self.directory.rglob("*")):
            if not path.is_file():
                continue
            if not path.name.endswith(_SUFFIX) or path.name.startswith("."):
                path.unlink(missing_ok=True)  # an append cut short by a crash
                continue
            key = path.relative_to(self.directory).as_posix()
            try:
                lines = gzip.decompress(path.read_bytes()).splitlines()
                first = orjson.loads(lines[0])
                spooled = SpooledFile(
                    key, first["Account"], first["Gateway"], len(lines), _parse_ms(first["Timestamp"]),
                    path.stat().st_size,
                )  # fmt: skip
            except (OSError, EOFError, IndexError, KeyError, ValueError) as exc:
                log.error("logpush spool: %s is unreadable (%s); left in place, not delivered", path, exc)
                continue
            self._files[key] = spooled
            self.bytes += spooled.size
            found.append(spooled)
        found.sort(key=lambda f: f.oldest_ms)
        return found

    def add(self, key: str, account_id: str, gateway_id: str, records: int, oldest_ms: int, data: bytes) -> SpooledFile | None:
        """Keep a file until it is delivered; ``None`` if it would pass the bound or the disk refuses."""
        if self.bytes + len(data) > self.max_bytes:
            return None
        path = self._path(key)
        partial = path.with_name(f".{path.name}.partial")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(partial, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, path)
        except OSError as exc:
            log.error("logpush spool: cannot keep %s (%s)", key, exc.strerror or exc)
            partial.unlink(missing_ok=True)
            return None
        spooled = SpooledFile(key, account_id, gateway_id, records, oldest_ms, len(data))
        self._files[key] = spooled
        self.bytes += spooled.size
        return spooled

    def read(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def remove(self, key: str) -> None:
        spooled = self._files.pop(key, None)
        if spooled is not None:
            self.bytes -= spooled.size
        self._path(key).unlink(missing_ok=True)

    def files(self) -> list[SpooledFile]:
        return list(self._files.values())
