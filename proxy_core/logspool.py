"""The crash spool: log rows that waited too long for the store, copied to disk until it has them.

The log pipeline keeps finished exchanges in memory until the store confirms their batch. A
``kill -9`` (or an OOM kill, or a power cut of the process) would lose all of that, so rows that
have waited longer than half the flush interval are appended here; once their batch is committed
the segment holding them is deleted, and at start-up whatever is left is replayed into the store
(rows the store already has are skipped by id). While the store keeps up nothing waits that long
and the spool stays empty; it matters when the store is slow, locked or failing.

Format: segment files ``{process start ns}-{first seq}.spool`` in one directory, each a run of records
``[length: u32][crc32: u32][pickle of (log row, body row or None, stored)]``. Writes are plain ``write``
calls (in the kernel's page cache at once, so they survive the process; not fsynced, so a power
cut can lose the last ones). Replay stops at the first torn or corrupt record of a segment: only
the tail of the last write can be torn. Unpickling allows plain values only (no classes).
"""

from __future__ import annotations

import io
import logging
import os
import pickle
import struct
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

from proxy_core.redact import redact_text

__all__ = ["LogSpool", "SpoolRecord"]

log = logging.getLogger(__name__)

SpoolRecord = tuple[dict[str, Any], "dict[str, Any] | None", bool]
"""One log row, its body row (``None`` when bodies are not kept), and whether the row is stored
(``False``: log collection was off; the row only counts in the rollups)."""

_HEADER = struct.Struct("<II")
_SEGMENT_BYTES = 8 * 1024 * 1024
"""A segment is closed for new records past this size, so confirmed rows free their disk soon."""


class _PlainUnpickler(pickle.Unpickler):
    """Only the builtin values a log row holds: a spool file can never run code."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"spool records hold plain values only, not {module}.{name}")


@dataclass
class _Segment:
    path: Path
    last_seq: int
    """The highest exchange sequence number written into this segment."""
    size: int
    rows: int


class LogSpool:
    """Append-only segments of log rows on disk, deleted as the store confirms them."""

    def __init__(self, directory: Path, max_bytes: int) -> None:
        self._dir = directory
        self._max_bytes = max_bytes
        self._segments: list[_Segment] = []
        self._fd: int | None = None
        self._epoch = time.time_ns()
        """Names this process's segments apart from any a killed one left."""
        self.bytes = 0
        self.rows = 0
        """Rows written here and not yet confirmed by the store."""
        self.refused = 0
        """Rows not spooled because the spool was full or the disk refused the write."""
        self.last_error: str | None = None

    # -- recovery, before the pipeline starts ------------------------------------------------------

    def leftovers(self) -> Iterator[list[SpoolRecord]]:
        """The records of every segment a previous process left, one list per segment, oldest first."""
        for path in sorted(self._dir.glob("*.spool")) if self._dir.is_dir() else ():
            try:
                data = path.read_bytes()
            except OSError as exc:
                log.error("log spool %s cannot be read (%s); its rows are not recovered", path, exc)
                continue
            yield _decode(data, path)

    def discard_leftovers(self) -> None:
        """Delete what :meth:`leftovers` returned, once the store has it (never this process's own)."""
        own = {segment.path for segment in self._segments}
        for path in self._dir.glob("*.spool") if self._dir.is_dir() else ():
            if path not in own:
                path.unlink(missing_ok=True)

    # -- while serving -------------------------------------------------------------------------------

    def append(self, last_seq: int, records: Sequence[SpoolRecord]) -> bool:
        """Write ``records`` (whose highest sequence number is ``last_seq``); ``False`` if refused."""
        if not records:
            return True
        chunks = []
        for record in records:
            payload = pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL)
            chunks.append(_HEADER.pack(len(payload), zlib.crc32(payload)))
            chunks.append(payload)
        data = b"".join(chunks)
        if self.bytes + len(data) > self._max_bytes:
            self.refused += len(records)
            return False
        try:
            segment = self._writable(last_seq)
            _write_all(self._fd, data)
        except OSError as exc:  # a full disk: the rows stay in memory, only unprotected
            self.refused += len(records)
            self.last_error = redact_text(f"{type(exc).__name__}: {exc}")[:300]
            self._close_segment()
            return False
        segment.last_seq = last_seq
        segment.size += len(data)
        segment.rows += len(records)
        self.bytes += len(data)
        self.rows += len(records)
        return True

    def confirm(self, seq: int) -> None:
        """Every exchange up to sequence number ``seq`` is in the store: drop the segments they fill."""
        while self._segments and self._segments[0].last_seq <= seq:
            segment = self._segments.pop(0)
            if not self._segments:
                self._close_segment()
            self.bytes -= segment.size
            self.rows -= segment.rows
            try:
                segment.path.unlink(missing_ok=True)
            except OSError as exc:
                log.warning("log spool segment %s not deleted: %s", segment.path, exc)

    def close(self) -> None:
        self._close_segment()

    def _writable(self, first_seq: int) -> _Segment:
        if self._fd is None or not self._segments or self._segments[-1].size >= _SEGMENT_BYTES:
            self._close_segment()
            self._dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            path = self._dir / f"{self._epoch:020d}-{first_seq:012d}.spool"
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            self._segments.append(_Segment(path, first_seq, 0, 0))
        return self._segments[-1]

    def _close_segment(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)


def _write_all(fd: int | None, data: bytes) -> None:
    assert fd is not None
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _decode(data: bytes, path: Path) -> list[SpoolRecord]:
    records: list[SpoolRecord] = []
    offset = 0
    while offset + _HEADER.size <= len(data):
        length, crc = _HEADER.unpack_from(data, offset)
        payload = data[offset + _HEADER.size : offset + _HEADER.size + length]
        if len(payload) < length or zlib.crc32(payload) != crc:
            log.warning("log spool %s: torn record at byte %d; %d records before it recovered", path, offset, len(records))
            break
        try:
            record = _PlainUnpickler(io.BytesIO(payload)).load()
        except Exception as exc:  # corrupt in a way the checksum missed
            log.warning("log spool %s: unreadable record at byte %d (%s)", path, offset, exc)
            break
        records.append(record)
        offset += _HEADER.size + length
    return records
