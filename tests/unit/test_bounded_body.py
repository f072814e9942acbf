"""Bounded decoding of upstream bodies: codings, bombs over the cap, corrupt and truncated input."""

from __future__ import annotations

import asyncio
import gzip
import zlib

import pytest

from proxy_core.bounded_body import (
    SLICE_BYTES,
    BoundedBody,
    Decoder,
    Unreadable,
    coding_of,
    decodable_accept,
    read_body,
)

TEXT = b'{"usage": {"prompt_tokens": 3}, "pad": "' + b"x" * 20_000 + b'"}'


def _decode(coding: str | None, data: bytes, cap: int = 1 << 20, piece: int = 7_000) -> BoundedBody:
    body = BoundedBody(coding, cap)
    for start in range(0, len(data), piece):
        for _ in body.feed_slices(data[start : start + piece]):
            pass
    return body


def _bomb(decoded: int) -> bytes:
    """gzip of ``decoded`` zero bytes, compressed as a stream (never held decoded)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1 << 20)
    out = [comp.compress(block) for _ in range(decoded >> 20)]
    return b"".join(out) + comp.flush()


@pytest.mark.parametrize(
    "coding, data",
    [
        ("gzip", gzip.compress(TEXT)),
        ("x-gzip", gzip.compress(TEXT)),
        ("deflate", zlib.compress(TEXT)),  # RFC 9110's deflate: zlib-wrapped
        ("deflate", zlib.compress(TEXT, wbits=-15)),  # raw deflate, as some servers send it
        ("identity", TEXT),
        (None, TEXT),
        ("GZIP, identity", gzip.compress(TEXT)),
    ],
)
def test_codings_decode_in_any_pieces(coding: str | None, data: bytes) -> None:
    for piece in (1, 13, 7_000, len(data)):
        assert _decode(coding, data, piece=piece).finish() == TEXT, (coding, piece)


def test_multi_member_gzip_and_zero_padding() -> None:
    data = gzip.compress(b"first ") + gzip.compress(b"second") + b"\0" * 10
    assert _decode("gzip", data, piece=3).finish() == b"first second"


def test_output_comes_in_slices_however_much_the_input_expands() -> None:
    decoder = Decoder("gzip")
    pieces = list(decoder.decode(gzip.compress(bytes(10 * SLICE_BYTES + 5))))
    assert max(len(p) for p in pieces) <= SLICE_BYTES
    assert sum(len(p) for p in pieces) == 10 * SLICE_BYTES + 5
    decoder.finish()


def test_a_bomb_stops_at_the_cap_and_keeps_nothing() -> None:
    bomb = _bomb(64 << 20)
    body = BoundedBody("gzip", 1 << 20)
    steps = 0
    for _ in body.feed_slices(bomb):
        steps += 1
    assert steps <= (1 << 20) // SLICE_BYTES  # stopped decoding at the cap, not at 64 MiB
    assert body.finish() is None
    assert body.reason == f"gzip body decodes to over {1 << 20} bytes"
    assert body.size <= (1 << 20) + SLICE_BYTES


def test_identity_over_the_cap() -> None:
    body = _decode(None, TEXT, cap=1000)
    assert body.finish() is None
    assert body.reason == "body over 1000 bytes"


@pytest.mark.parametrize(
    "coding, data, reason",
    [
        ("gzip", gzip.compress(TEXT)[:-9], "truncated gzip body"),
        ("deflate", zlib.compress(TEXT)[:-2], "truncated deflate body"),
        ("gzip", b"not gzip at all", "corrupt gzip body"),
        ("gzip", gzip.compress(b"ok") + b"garbage", "corrupt gzip body"),
        ("deflate", zlib.compress(b"ok") + b"more", "corrupt deflate body"),
        ("br", b"\x0b\x02\x80", "content-encoding 'br' is not decoded by the gateway"),
        ("zstd", b"\x28\xb5\x2f\xfd", "content-encoding 'zstd' is not decoded by the gateway"),
        ("gzip, gzip", gzip.compress(gzip.compress(b"x")), "content-encoding 'gzip, gzip' is not decoded"),
    ],
)
def test_unreadable_bodies_say_why(coding: str, data: bytes, reason: str) -> None:
    body = _decode(coding, data)
    assert body.finish() is None
    assert body.reason is not None and body.reason.startswith(reason), body.reason


def test_an_empty_encoded_body_is_empty_content() -> None:
    assert _decode("gzip", b"").finish() == b""


def test_coding_of() -> None:
    assert coding_of(None) is None
    assert coding_of(" identity ") is None
    assert coding_of("Gzip") == "gzip"
    with pytest.raises(Unreadable):
        coding_of("br")


def test_decodable_accept_keeps_only_what_the_gateway_reads() -> None:
    assert decodable_accept("gzip, deflate, br, zstd") == "gzip, deflate"
    assert decodable_accept("br;q=1.0, gzip;q=0.5") == "gzip;q=0.5"
    assert decodable_accept("br") == "identity"
    assert decodable_accept(None) == "identity"


class _Content:
    """Stands in for aiohttp's StreamReader: ``read(n)`` returns at most ``n`` bytes."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos, self.reads = data, 0, 0

    async def read(self, n: int) -> bytes:
        self.reads += 1
        chunk = self.data[self.pos : self.pos + n]
        self.pos += len(chunk)
        return chunk


async def test_read_body_decodes_and_keeps_the_raw_bytes() -> None:
    raw = gzip.compress(TEXT)
    got = await read_body(_Content(raw), "gzip", 1 << 20)
    assert (got.raw, got.complete, got.decoded, got.reason) == (raw, True, TEXT, None)


async def test_read_body_stops_reading_past_the_raw_cap() -> None:
    content = _Content(bytes(10 << 20))
    got = await read_body(content, None, 1 << 20, keep_raw=False)
    assert not got.complete and got.decoded is None and got.raw == b""
    assert got.reason == f"body over {1 << 20} bytes (not read further)"
    assert content.pos <= (1 << 20) + (64 << 10)


async def test_read_body_of_a_bomb_reads_all_the_input_but_keeps_no_output() -> None:
    bomb = _bomb(32 << 20)
    got = await read_body(_Content(bomb), "gzip", 1 << 20, raw_cap=len(bomb))
    assert got.complete and got.raw == bomb and got.decoded is None
    assert got.reason == f"gzip body decodes to over {1 << 20} bytes"


async def test_decoding_yields_to_the_event_loop() -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    body = BoundedBody("gzip", 8 << 20)
    await body.feed(gzip.compress(bytes(4 << 20)))
    task.cancel()
    assert body.finish() == bytes(4 << 20)
    assert ticks >= (4 << 20) // SLICE_BYTES - 2
