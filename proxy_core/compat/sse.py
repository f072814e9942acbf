"""Server-sent events: a byte-fed decoder for provider streams and the encoder for OpenAI's events."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = ["DONE", "SSEDecoder", "SSEEvent", "encode"]

DONE = b"data: [DONE]\n\n"

_EOL = re.compile(rb"\r\n|\r|\n")


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One dispatched event: its ``event:`` name (or ``None``) and its joined ``data:`` lines."""

    event: str | None
    data: str


def encode(obj: Any) -> bytes:
    """One ``data: {json}`` event, as OpenAI streams them."""
    return b"data: " + orjson.dumps(obj) + b"\n\n"


class SSEDecoder:
    """Decodes an SSE byte stream fed in arbitrary slices (the WHATWG event-stream rules).

    Lines may end in ``\\r\\n``, ``\\r`` or ``\\n`` (Google ends its events with ``\\r\\n\\r\\n``).
    A line that is a bare JSON object (``{…}``) is dispatched on its own, so newline-delimited JSON
    streams decode too.
    """

    def __init__(self) -> None:
        self._partial: list[bytes] = []  # the pieces of the current, unfinished line
        self._skip_lf = False
        self._event: str | None = None
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """The events completed by ``chunk``."""
        if self._skip_lf and chunk.startswith(b"\n"):
            chunk = chunk[1:]  # the \n of a \r\n split across two chunks
        if not chunk:
            return []
        self._skip_lf = chunk.endswith(b"\r")
        if _EOL.search(chunk) is None:  # only scan new bytes: long lines may come in many pieces
            self._partial.append(chunk)
            return []
        lines = _EOL.split(chunk)
        lines[0] = b"".join(self._partial) + lines[0]
        tail = lines.pop()
        self._partial = [tail] if tail else []
        events: list[SSEEvent] = []
        for line in lines:
            self._line(line, events)
        return events

    def flush(self) -> list[SSEEvent]:
        """The events still pending at the end of the stream (a last line without its newline)."""
        events: list[SSEEvent] = []
        if self._partial:
            self._line(b"".join(self._partial), events)
            self._partial = []
        self._line(b"", events)
        return events

    def _line(self, raw: bytes, events: list[SSEEvent]) -> None:
        line = raw.decode("utf-8", errors="replace")
        if not line:
            if self._data:
                events.append(SSEEvent(self._event, "\n".join(self._data)))
            self._event, self._data = None, []
            return
        if line.startswith(":"):
            return
        if line.startswith("{"):
            events.append(SSEEvent(self._event, line))
            self._event, self._data = None, []
            return
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
