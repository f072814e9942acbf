"""``file:///DIR``: each file written under the directory, whole or not at all."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from proxy_core.logpush.sinks.base import SinkError

__all__ = ["FileSink"]


class FileSink:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.description = f"file://{directory}"

    def _write(self, key: str, data: bytes) -> None:
        target = self.directory / key
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.partial")
        # Written aside and renamed: a reader of the directory never sees half a file.
        with open(partial, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, target)

    async def put(self, key: str, data: bytes) -> None:
        try:
            await asyncio.to_thread(self._write, key, data)
        except OSError as exc:
            raise SinkError(f"cannot write {self.directory / key}: {exc.strerror or exc}") from None

    async def close(self) -> None:
        pass
