"""Reading an upstream body without trusting its size: bounded, incremental ``Content-Encoding`` decoding.

The gateway relays bodies as the provider sent them (compressed or not); it decodes only what it
needs to read itself (usage, stored bodies, the cache, response guardrails, retried error bodies),
and then never holds more than a cap: a gzip bomb costs the gateway its compressed size plus at
most ``cap`` decoded bytes, and the event loop gets a turn after every ``SLICE_BYTES`` of output.

gzip (also multi-member, as ``gzip`` writes it) and deflate (zlib-wrapped, or raw as some servers
send it) are decoded; ``br`` and ``zstd`` have no decoder installed, so such bodies are unreadable
to the gateway, as is anything corrupt, truncated or over the cap. Unreadable never fails the
request: the client still gets the bytes, and the reason goes to the log.
"""

from __future__ import annotations

import asyncio
import zlib
from dataclasses import dataclass
from typing import Any, Iterator

__all__ = [
    "DECODABLE",
    "SLICE_BYTES",
    "READ_BYTES",
    "Unreadable",
    "Decoder",
    "BoundedBody",
    "ReadBody",
    "coding_of",
    "read_body",
    "decodable_accept",
]

DECODABLE = frozenset({"gzip", "x-gzip", "deflate"})
"""Content codings the gateway can decode (``identity`` needs no decoding)."""
SLICE_BYTES = 64 * 1024
"""Most decoded bytes produced by one decompressor call; the event loop runs between slices."""
READ_BYTES = 64 * 1024
"""Most compressed bytes read from the upstream at a time."""


class Unreadable(Exception):
    """The body cannot be read by the gateway; ``reason`` says why (it goes to the log)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def coding_of(content_encoding: str | None) -> str | None:
    """The one coding to undo for a ``Content-Encoding`` value: ``None`` for identity, else its
    lower-case name. Raises :class:`Unreadable` for codings (or stacks of codings) not decoded here."""
    codings = [c.strip().lower() for c in (content_encoding or "").split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if not codings:
        return None
    if len(codings) == 1 and codings[0] in DECODABLE:
        return codings[0]
    return _unsupported(content_encoding or "")


def _unsupported(value: str) -> Any:
    raise Unreadable(f"content-encoding {value.strip()!r} is not decoded by the gateway")


class Decoder:
    """Incremental decoder of one content coding (``None`` = identity).

    :meth:`decode` yields the output of ``data`` in slices of at most ``slice_bytes``; the
    decompressor keeps the input it has not used yet, so memory stays at one slice however much
    the input expands. :meth:`finish` checks the body ended where its coding says it does.
    """

    def __init__(self, coding: str | None, slice_bytes: int = SLICE_BYTES) -> None:
        if coding is not None and coding not in DECODABLE:
            _unsupported(coding)
        self.coding = coding
        self.slice_bytes = slice_bytes
        self._name = "gzip" if coding in ("gzip", "x-gzip") else "deflate"
        self._member: Any = None
        """The current zlib decompressor; ``None`` before the first byte and between gzip members."""
        self._head = b""
        """The first bytes of a deflate body, until they tell zlib-wrapped from raw."""
        self._members = 0

    def decode(self, data: bytes) -> Iterator[bytes]:
        if self.coding is None:
            for start in range(0, len(data), self.slice_bytes):
                yield data[start : start + self.slice_bytes]
            return
        while data:
            if self._member is None:
                data = self._start(data)
                if self._member is None:
                    return
            try:
                out = self._member.decompress(data, self.slice_bytes)
                while True:
                    if out:
                        yield out
                    tail = self._member.unconsumed_tail
                    if not tail and len(out) < self.slice_bytes:
                        break
                    out = self._member.decompress(tail, self.slice_bytes)
            except zlib.error as exc:
                raise Unreadable(f"corrupt {self._name} body: {exc}") from None
            if not self._member.eof:
                return
            data = self._member.unused_data
            if self._name != "gzip":
                if data:
                    raise Unreadable(f"corrupt {self._name} body: data after the end of the stream")
                return
            self._member = None  # a gzip file may hold several members, decoded one after another

    def _start(self, data: bytes) -> bytes:
        """Open the decompressor for the next member; returns the input it should read."""
        if self._name == "gzip":
            if self._members:
                data = data.lstrip(b"\0")  # gzip(1) accepts zero padding after the last member
                if not data:
                    return b""
            self._member = zlib.decompressobj(16 + zlib.MAX_WBITS)
            self._members += 1
            return data
        self._head += data
        if len(self._head) < 2:
            return b""
        data, self._head = self._head, b""
        wrapped = data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
        self._member = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        self._members += 1
        return data

    def finish(self) -> None:
        """The input has ended: raise :class:`Unreadable` if the body stopped mid-stream."""
        if self.coding is None:
            return
        if self._member is not None and not self._member.eof:
            raise Unreadable(f"truncated {self._name} body")
        if self._head:  # an empty body is empty content; one byte of deflate is not
            raise Unreadable(f"truncated {self._name} body")


class BoundedBody:
    """The decoded content of one body, kept only while it fits in ``cap`` bytes.

    Feed the body as it arrives; once it is unreadable (over the cap, corrupt, an unknown coding)
    nothing more is decoded or kept, and :attr:`reason` says why. :meth:`finish` returns the
    decoded bytes, or ``None`` when unreadable.
    """

    def __init__(self, content_encoding: str | None, cap: int, *, slice_bytes: int = SLICE_BYTES) -> None:
        self.cap = cap
        self.reason: str | None = None
        self.size = 0
        """Decoded bytes seen so far (counting stops once unreadable)."""
        self._pieces: list[bytes] = []
        """Decoded slices, joined at the end: one growing buffer would be copied and fragment the heap."""
        self._decoder: Decoder | None = None
        try:
            self._decoder = Decoder(coding_of(content_encoding), slice_bytes)
        except Unreadable as exc:
            self.reason = exc.reason

    @property
    def unreadable(self) -> bool:
        return self.reason is not None

    @property
    def identity(self) -> bool:
        """The body is not encoded (its content is its bytes)."""
        return self._decoder is not None and self._decoder.coding is None

    def fail(self, reason: str) -> None:
        """Give up on the body (the caller stopped reading it, say); keeps the first reason."""
        if self.reason is None:
            self.reason = reason
        self._pieces = []
        self._decoder = None

    def feed_slices(self, data: bytes) -> Iterator[None]:
        """Decode ``data``, one step per output slice (for callers that pace the work themselves)."""
        if self._decoder is None:
            return
        try:
            for piece in self._decoder.decode(data):
                self.size += len(piece)
                if self.size > self.cap:
                    self.fail(self._over_cap())
                    return
                self._pieces.append(piece)
                yield
        except Unreadable as exc:
            self.fail(exc.reason)

    async def feed(self, data: bytes) -> None:
        """Decode ``data``, letting the event loop run between output slices."""
        steps = 0
        for _ in self.feed_slices(data):
            steps += 1
            if steps > 1:
                await asyncio.sleep(0)

    def finish(self) -> bytes | None:
        if self._decoder is not None:
            try:
                self._decoder.finish()
            except Unreadable as exc:
                self.fail(exc.reason)
        if self.reason is not None:
            return None
        body, self._pieces = b"".join(self._pieces), []
        return body

    def _over_cap(self) -> str:
        coding = self._decoder.coding if self._decoder is not None else None
        if coding is None:
            return f"body over {self.cap} bytes"
        return f"{coding} body decodes to over {self.cap} bytes"


@dataclass(slots=True)
class ReadBody:
    """What :func:`read_body` got: the raw bytes read, whether that was all of them, and the
    decoded content (``None`` with a ``reason`` when the gateway could not read it)."""

    raw: bytes
    complete: bool
    decoded: bytes | None
    reason: str | None


async def read_body(
    content: Any, content_encoding: str | None, cap: int, *, raw_cap: int | None = None, keep_raw: bool = True
) -> ReadBody:
    """Read an upstream body (an ``aiohttp`` ``StreamReader``) ``READ_BYTES`` at a time.

    Reading stops after ``raw_cap`` raw bytes (default ``cap``): the rest stays unread, ``complete``
    is false and the body is unreadable. Decoding keeps at most ``cap`` bytes. ``keep_raw=False``
    drops the raw bytes as they are decoded (the caller only wants the content). Connection errors
    propagate.
    """
    raw_cap = cap if raw_cap is None else raw_cap
    body = BoundedBody(content_encoding, cap)
    identity = body.identity
    raw: list[bytes] = []
    size = 0
    complete = False
    while True:
        chunk = await content.read(READ_BYTES)
        if not chunk:
            complete = True
            break
        size += len(chunk)
        if keep_raw or identity:
            raw.append(chunk)  # identity content is the raw bytes: kept once, not twice
        if size > raw_cap:
            body.fail(f"body over {raw_cap} bytes (not read further)")
            break
        if not identity:
            await body.feed(chunk)
    data = b"".join(raw)
    if identity:
        if body.reason is None and len(data) > cap:
            body.fail(f"body over {cap} bytes")
        return ReadBody(data if keep_raw else b"", complete, data if body.reason is None else None, body.reason)
    return ReadBody(data, complete, body.finish(), body.reason)


def decodable_accept(value: str | None) -> str:
    """A client's ``Accept-Encoding`` narrowed to codings the gateway can decode (``identity``
    when none is left), for answers the gateway must read before the client gets them."""
    kept = []
    for item in (value or "").split(","):
        name = item.split(";", 1)[0].strip().lower()
        if name in DECODABLE or name == "identity":
            kept.append(item.strip())
    return ", ".join(kept) or "identity"
