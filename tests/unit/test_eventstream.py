"""Bedrock's binary event stream: framing, CRCs, truncation, and the usage the family reads from it."""

from __future__ import annotations

import orjson
import pytest

from proxy_core.guardrails import extract_stream_texts
from proxy_core.providers.base import Usage
from proxy_core.providers.bedrock import BedrockFamily
from proxy_core.providers.bedrock.eventstream import iter_events, iter_messages
from tests.unit.eventstream_frames import CONVERSE, INVOKE, chunk, event, header, message


def usage_of(body: bytes) -> Usage:
    usage = Usage()
    family = BedrockFamily()
    for item in iter_events(body):
        family.parse_stream_chunk(item, usage)
    return usage


def test_converse_stream_usage_comes_from_the_metadata_event() -> None:
    events = list(iter_events(CONVERSE))
    assert [next(iter(e)) for e in events] == ["messageStart", "contentBlockDelta", "messageStop", "metadata"]
    usage = usage_of(CONVERSE)
    assert (usage.tokens_in, usage.tokens_out) == (21, 7)
    assert extract_stream_texts(BedrockFamily(), events) == ["Hello"]


def test_invoke_stream_chunks_are_unwrapped_from_base64() -> None:
    events = list(iter_events(INVOKE))
    assert events[1] == {"type": "content_block_delta", "delta": {"type": "text_delta", "text": "Hi"}}
    usage = usage_of(INVOKE)
    assert (usage.tokens_in, usage.tokens_out) == (15, 4)
    assert extract_stream_texts(BedrockFamily(), events) == ["Hi"]  # what response guardrails read


def test_invoke_stream_without_metrics_reads_the_anthropic_events() -> None:
    body = INVOKE[: -len(chunk({"type": "message_stop", "amazon-bedrock-invocationMetrics": {"inputTokenCount": 15, "outputTokenCount": 4}}))]
    usage = usage_of(body)
    assert (usage.tokens_in, usage.tokens_out) == (15, 4)


def test_a_truncated_stream_keeps_the_whole_messages_before_the_cut() -> None:
    cut = CONVERSE[:-10]
    assert [next(iter(e)) for e in iter_events(cut)] == ["messageStart", "contentBlockDelta", "messageStop"]


@pytest.mark.parametrize("position", [2, 9, 40])
def test_a_damaged_message_ends_the_stream(position: int) -> None:
    first = event("messageStart", {"role": "assistant"})
    damaged = bytearray(first + CONVERSE)
    damaged[len(first) + position] ^= 0xFF
    assert list(iter_events(bytes(damaged))) == [{"messageStart": {"role": "assistant"}}]


def test_exceptions_and_non_json_payloads_are_skipped() -> None:
    exception = message(
        header(":exception-type", 7, b"throttlingException") + header(":message-type", 7, b"exception"),
        b'{"message": "slow down"}',
    )
    not_json = message(header(":event-type", 7, b"chunk") + header(":message-type", 7, b"event"), b"\x00\x01")
    assert list(iter_events(exception + not_json + CONVERSE))[-1] == {
        "metadata": {"usage": {"inputTokens": 21, "outputTokens": 7, "totalTokens": 28}, "metrics": {"latencyMs": 9}}
    }


def test_headers_of_every_type_are_stepped_over() -> None:
    extra = (
        header("t", 0, b"") + header("f", 1, b"") + header("b", 2, b"\x01") + header("s", 3, b"\x00\x02")
        + header("i", 4, b"\x00" * 4) + header("l", 5, b"\x00" * 8) + header("bytes", 6, b"\xff\xfe")
        + header("ts", 8, b"\x00" * 8) + header("uuid", 9, b"\x00" * 16)
    )  # fmt: skip
    ((headers, payload),) = list(iter_messages(event("metadata", {"usage": {}}, extra=extra)))
    assert headers[":event-type"] == "metadata" and headers[":content-type"] == "application/json"
    assert "bytes" not in headers and orjson.loads(payload) == {"usage": {}}


def test_an_unknown_header_type_ends_the_stream() -> None:
    bad = message(header(":event-type", 7, b"metadata") + b"\x01x\x0c", b"{}")
    assert list(iter_messages(bad)) == []


def test_empty_and_tiny_bodies() -> None:
    assert list(iter_events(b"")) == []
    assert list(iter_events(b"\x00\x00\x00\x10")) == []
