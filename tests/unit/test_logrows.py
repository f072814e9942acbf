"""logrows: stream decoding and Exchange → (log row, body row), end to end with real families."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from proxy_core.costs import load_pricing
from proxy_core.exchange import Exchange
from proxy_core.logrows import LOG_EVENT_FIELDS, UPSTREAM_ISSUES, build_rows, iter_stream_events
from proxy_core.policy import DEFAULT_POLICY, CustomCost, RequestPolicy
from proxy_core.providers import ModelType, ProviderRegistry
from proxy_core.redact import REDACTED
from tests.unit.eventstream_frames import CONVERSE, INVOKE

PRICING = load_pricing()
MAX_BODY = 10 * 1024 * 1024
JSON = "application/json"
SSE = "text/event-stream; charset=utf-8"
SECRET = "sk-proj-TOPSECRET0123456789"


def sse(*events: Any, names: list[str] | None = None, done: bool = False) -> bytes:
    out = []
    for i, event in enumerate(events):
        if names:
            out.append(f"event: {names[i]}\n")
        out.append(f"data: {orjson.dumps(event).decode()}\n\n")
    if done:
        out.append("data: [DONE]\n\n")
    return "".join(out).encode()


def exchange(
    provider: str = "openai",
    path: str = "/chat/completions",
    *,
    request: Any = None,
    response: Any = None,
    response_ct: str = JSON,
    status: int = 200,
    policy: RequestPolicy = DEFAULT_POLICY,
    collect_bodies: bool = True,
    request_headers: list[tuple[str, str]] | None = None,
    response_headers: list[tuple[str, str]] | None = None,
    **fields: Any,
) -> Exchange:
    """An Exchange as the proxy fills it; dict bodies are JSON-encoded."""
    req = orjson.dumps(request) if isinstance(request, (dict, list)) else (request or b"")
    resp = orjson.dumps(response) if isinstance(response, (dict, list)) else response
    return Exchange(
        id="01JAAAAAAAAAAAAAAAAAAAAAAA",
        account_id="local",
        gateway_id="default",
        started_ms=1_700_000_000_000,
        provider=provider,
        family=ProviderRegistry({}).get(provider).family,
        path=path,
        method="POST",
        request_type="provider",
        policy=policy,
        collect_bodies=collect_bodies,
        request_headers=request_headers or [("Content-Type", "application/json")],
        request_body=req,
        status_code=status,
        response_headers=response_headers or [("Content-Type", response_ct)],
        response_body=resp,
        response_size=len(resp or b""),
        **fields,
    )


def rows(ex: Exchange, max_body: int = MAX_BODY) -> tuple[dict[str, Any], dict[str, Any] | None]:
    return build_rows(ex, PRICING, max_body)


def usage_of(row: dict[str, Any]) -> tuple[Any, Any, Any]:
    return row["model"], row["tokens_in"], row["tokens_out"]


OPENAI_REQUEST = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]}
OPENAI_RESPONSE = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "model": "gpt-4o-2024-08-06",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 1000, "completion_tokens": 200, "total_tokens": 1200},
}
ANTHROPIC_MESSAGE = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-3-5-haiku-20241022",
    "content": [{"type": "text", "text": "Hi"}],
    "stop_reason": "end_turn",
    "usage": {"input_tokens": 100, "output_tokens": 50},
}
COHERE_V2 = {
    "id": "c1",
    "message": {"role": "assistant", "content": [{"type": "text", "text": "Hi"}]},
    "finish_reason": "COMPLETE",
    "usage": {"billed_units": {"input_tokens": 5, "output_tokens": 418}, "tokens": {"input_tokens": 71, "output_tokens": 418}},
}


# -- iter_stream_events --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b'data: {"a":1}\n\ndata: {"a":2}\n\ndata: [DONE]\n\n', SSE, [{"a": 1}, {"a": 2}]),
        (b'event: message_start\ndata: {"a":1}\n\n: keep-alive\n\nevent: ping\ndata:{"a":2}\n\n', SSE, [{"a": 1}, {"a": 2}]),
        (b'data: {"a":1}\r\n\r\ndata: [DONE]\r\n\r\n', SSE, [{"a": 1}]),
        (b'data: {"a":1}\n\ndata: {not json\n\ndata: \n\nid: 3\nretry: 100\n\n', SSE, [{"a": 1}]),
        (b'data: {"a":1}\n\ndata: {"a":2', SSE, [{"a": 1}]),  # a cut-off final event is skipped
        (b'[{"a":1},\n{"a":2}]', JSON, [{"a": 1}, {"a": 2}]),
        (b'[{\n  "a": 1\n}\n,\r\n{\n  "a": 2\n}\n]', JSON, [{"a": 1}, {"a": 2}]),  # Gemini's pretty-printed array
        (b'{"a":1}\n{"a":2}\n\n{"a":3}\n', "application/x-ndjson", [{"a": 1}, {"a": 2}, {"a": 3}]),
        (b'{"a":1}\n{"a":2}\n', "application/stream+json", [{"a": 1}, {"a": 2}]),
        (b'{"a":1}', JSON, [{"a": 1}]),
        (b'[{"a":1},\n{"a":2},\n', JSON, [{"a": 1}, {"a": 2}]),  # a cut-off array still yields whole lines
        (b"", JSON, []),
        (b"\x00\xff garbage", "application/octet-stream", []),
    ],
)  # fmt: skip
def test_iter_stream_events(body: bytes, content_type: str, expected: list[Any]) -> None:
    assert list(iter_stream_events(body, content_type)) == expected


# -- build_rows: usage and cost ------------------------------------------------------------------


def test_openai_json_tokens_cost_and_columns() -> None:
    row, body = rows(exchange(request=OPENAI_REQUEST, response=OPENAI_RESPONSE, duration_ms=812, ttfb_ms=340))
    assert usage_of(row) == ("gpt-4o", 1000, 200)  # the requested model wins over the response's snapshot
    assert row["model_type"] == ModelType.TEXT
    assert row["cost"] == pytest.approx((1000 * 2.50 + 200 * 10.00) / 1_000_000)
    assert row["custom_cost"] is False
    assert (row["success"], row["status_code"], row["cached"]) == (True, 200, False)
    assert (row["duration"], row["ttfb"], row["created_at"]) == (812, 340, 1_700_000_000_000)
    assert (row["request_content_type"], row["response_content_type"]) == ("application/json", JSON)
    assert row["request_size"] == len(orjson.dumps(OPENAI_REQUEST))
    assert (row["body_stored"], row["body_truncated"]) == (True, False)
    assert body["log_id"] == row["id"]
    assert orjson.loads(body["response_body"]) == OPENAI_RESPONSE


def test_row_carries_every_live_event_field() -> None:
    row, _ = rows(exchange(request=OPENAI_REQUEST, response=OPENAI_RESPONSE))
    assert set(LOG_EVENT_FIELDS) <= set(row)


def test_model_falls_back_to_the_response_when_the_request_names_none() -> None:
    ex = exchange("azure-openai", "/chat/completions?api-version=2024-10-21", request={"messages": []}, response=OPENAI_RESPONSE)
    assert usage_of(rows(ex)[0]) == ("gpt-4o-2024-08-06", 1000, 200)


def test_openai_sse_stream_with_include_usage() -> None:
    chunk = {"id": "c", "object": "chat.completion.chunk", "model": "gpt-4o-mini-2024-07-18"}
    body = sse(
        {**chunk, "choices": [{"index": 0, "delta": {"content": "Hi"}}], "usage": None},
        {**chunk, "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 12, "total_tokens": 21}},
        done=True,
    )
    request = {"model": "gpt-4o-mini", "stream": True, "stream_options": {"include_usage": True}}
    row, _ = rows(exchange(request=request, response=body, response_ct=SSE, streamed=True))
    assert usage_of(row) == ("gpt-4o-mini", 9, 12)
    assert row["cost"] == pytest.approx((9 * 0.15 + 12 * 0.60) / 1_000_000)
    assert row["streamed"] is True


def test_openai_responses_api_stream() -> None:
    body = sse(
        {"type": "response.created", "response": {"id": "r", "model": "gpt-4.1-2025-04-14", "usage": None}},
        {"type": "response.output_text.delta", "delta": "Hi"},
        {"type": "response.completed", "response": {"id": "r", "model": "gpt-4.1-2025-04-14",
                                                     "usage": {"input_tokens": 37, "output_tokens": 11}}},
        names=["response.created", "response.output_text.delta", "response.completed"],
    )  # fmt: skip
    row, _ = rows(exchange(path="/responses", request={"model": "gpt-4.1", "stream": True}, response=body, response_ct=SSE, streamed=True))
    assert usage_of(row) == ("gpt-4.1", 37, 11)
    assert row["cost"] == pytest.approx((37 * 2.00 + 11 * 8.00) / 1_000_000)


def test_anthropic_sse_stream() -> None:
    events = [
        {"type": "message_start", "message": {"id": "m", "type": "message", "model": "claude-3-5-haiku-20241022",
                                              "usage": {"input_tokens": 25, "output_tokens": 1}}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 15}},
        {"type": "message_stop"},
    ]  # fmt: skip
    body = sse(*events, names=[e["type"] for e in events])
    ex = exchange("anthropic", "/v1/messages", request={"model": "claude-3-5-haiku-20241022", "stream": True},
                  response=body, response_ct=SSE, streamed=True)  # fmt: skip
    row, _ = rows(ex)
    assert usage_of(row) == ("claude-3-5-haiku-20241022", 25, 15)
    assert row["cost"] == pytest.approx((25 * 0.80 + 15 * 4.00) / 1_000_000)


def test_google_json_array_stream() -> None:
    chunks = [
        {"candidates": [], "usageMetadata": {"promptTokenCount": 8, "totalTokenCount": 8}, "modelVersion": "gemini-2.0-flash"},
        {"candidates": [], "usageMetadata": {"promptTokenCount": 8, "candidatesTokenCount": 25}, "modelVersion": "gemini-2.0-flash"},
    ]
    body = b"[" + b"\n,\r\n".join(orjson.dumps(c, option=orjson.OPT_INDENT_2) for c in chunks) + b"]"
    ex = exchange("google-ai-studio", "/v1beta/models/gemini-2.0-flash:streamGenerateContent",
                  request={"contents": []}, response=body, streamed=True)  # fmt: skip
    row, _ = rows(ex)
    assert usage_of(row) == ("gemini-2.0-flash", 8, 25)
    assert row["cost"] == pytest.approx((8 * 0.10 + 25 * 0.40) / 1_000_000)


def test_google_sse_stream_and_vertex_alias_pricing() -> None:
    body = sse(
        {"candidates": [], "usageMetadata": {"promptTokenCount": 8, "candidatesTokenCount": 1}, "modelVersion": "gemini-2.0-flash"},
        {"candidates": [], "usageMetadata": {"promptTokenCount": 8, "candidatesTokenCount": 25}, "modelVersion": "gemini-2.0-flash"},
    )
    path = "/v1/projects/p/locations/us-central1/publishers/google/models/gemini-2.0-flash:streamGenerateContent?alt=sse"
    row, _ = rows(exchange("google-vertex-ai", path, request={"contents": []}, response=body, response_ct=SSE, streamed=True))
    assert usage_of(row) == ("gemini-2.0-flash", 8, 25)
    assert row["cost"] == pytest.approx((8 * 0.10 + 25 * 0.40) / 1_000_000)


def test_cohere_v1_ndjson_stream() -> None:
    events = [
        {"is_finished": False, "event_type": "stream-start", "generation_id": "g"},
        {"is_finished": False, "event_type": "text-generation", "text": "Hi"},
        {"is_finished": True, "event_type": "stream-end", "finish_reason": "COMPLETE",
         "response": {"text": "Hi", "meta": {"billed_units": {"input_tokens": 3, "output_tokens": 9}}}},
    ]  # fmt: skip
    body = b"\n".join(orjson.dumps(e) for e in events) + b"\n"
    ex = exchange("cohere", "/v1/chat", request={"model": "command-r", "message": "hi", "stream": True},
                  response=body, response_ct="application/stream+json", streamed=True)  # fmt: skip
    row, _ = rows(ex)
    assert usage_of(row) == ("command-r", 3, 9)
    assert row["cost"] == pytest.approx((3 * 0.15 + 9 * 0.60) / 1_000_000)


def test_cohere_v2_sse_stream() -> None:
    body = sse(
        {"type": "message-start", "id": "x", "delta": {"message": {"role": "assistant"}}},
        {"type": "message-end", "delta": {"finish_reason": "COMPLETE", "usage": {"billed_units": {"input_tokens": 3, "output_tokens": 2}}}},
        names=["message-start", "message-end"],
    )
    row, _ = rows(exchange("cohere", "/v2/chat", request={"model": "command-a-03-2025"}, response=body, response_ct=SSE, streamed=True))
    assert usage_of(row) == ("command-a-03-2025", 3, 2)


def test_workers_ai_run_and_streamed_usage() -> None:
    ex = exchange("workers-ai", "/@cf/meta/llama-3.1-8b-instruct", request={"prompt": "hi"},
                  response={"result": {"response": "Hello", "usage": {"prompt_tokens": 21, "completion_tokens": 34}}, "success": True})  # fmt: skip
    row, _ = rows(ex)
    assert usage_of(row) == ("@cf/meta/llama-3.1-8b-instruct", 21, 34)
    assert row["cost"] == pytest.approx((21 * 0.282 + 34 * 0.827) / 1_000_000)
    body = sse({"response": "Hi"}, {"response": "", "usage": {"prompt_tokens": 21, "completion_tokens": 2}}, done=True)
    ex = exchange("workers-ai", "/@cf/meta/llama-3.1-8b-instruct", request={"prompt": "hi", "stream": True},
                  response=body, response_ct=SSE, streamed=True)  # fmt: skip
    assert usage_of(rows(ex)[0]) == ("@cf/meta/llama-3.1-8b-instruct", 21, 2)


def test_family_sees_the_path_without_its_query() -> None:
    ex = exchange("workers-ai", "/@cf/meta/llama-3.1-8b-instruct?queueRequest=true", request={"requests": []},
                  response={"result": {"status": "queued", "request_id": "r1"}, "success": True})  # fmt: skip
    row, _ = rows(ex)
    assert row["model"] == "@cf/meta/llama-3.1-8b-instruct"
    assert row["path"] == "/@cf/meta/llama-3.1-8b-instruct?queueRequest=true"


def test_bedrock_usage_from_headers_and_converse_body() -> None:
    headers = [("Content-Type", JSON), ("X-Amzn-Bedrock-Input-Token-Count", "12"), ("X-Amzn-Bedrock-Output-Token-Count", "6")]
    ex = exchange("aws-bedrock", "/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke", request={"messages": []},
                  response=b"{}", response_headers=headers)  # fmt: skip
    row, _ = rows(ex)
    assert usage_of(row) == ("anthropic.claude-3-haiku-20240307-v1:0", 12, 6)
    assert row["cost"] is None  # no Bedrock prices in the table: no guess
    converse = {"output": {}, "stopReason": "end_turn", "usage": {"inputTokens": 30, "outputTokens": 628, "totalTokens": 658}}
    ex = exchange("aws-bedrock", "/model/amazon.nova-lite-v1%3A0/converse", request={"messages": []}, response=converse)
    assert usage_of(rows(ex)[0]) == ("amazon.nova-lite-v1:0", 30, 628)


def test_bedrock_binary_event_streams() -> None:
    ex = exchange("aws-bedrock", "/model/amazon.nova-lite-v1%3A0/converse-stream", request={"messages": []},
                  response=CONVERSE, response_ct="application/vnd.amazon.eventstream", streamed=True)  # fmt: skip
    assert usage_of(rows(ex)[0]) == ("amazon.nova-lite-v1:0", 21, 7)
    ex = exchange("aws-bedrock", "/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke-with-response-stream",
                  request={"messages": []}, response=INVOKE, response_ct="application/vnd.amazon.eventstream",
                  streamed=True)  # fmt: skip
    assert usage_of(rows(ex)[0]) == ("anthropic.claude-3-haiku-20240307-v1:0", 15, 4)


@pytest.mark.parametrize(
    ("provider", "path", "request_body", "response", "expected"),
    [
        ("anthropic", "/v1/messages", {"model": "claude-3-5-haiku-20241022"}, ANTHROPIC_MESSAGE, ("claude-3-5-haiku-20241022", 100, 50)),
        ("cohere", "/v2/chat", {"model": "command-r"}, COHERE_V2, ("command-r", 5, 418)),
        ("openai", "/chat/completions", OPENAI_REQUEST, OPENAI_RESPONSE, ("gpt-4o", 1000, 200)),
        ("aws-bedrock", "/model/amazon.nova-lite-v1%3A0/converse", {},
         {"output": {}, "usage": {"inputTokens": 30, "outputTokens": 628}}, ("amazon.nova-lite-v1:0", 30, 628)),
    ],
)  # fmt: skip
def test_chunked_json_response_is_read_as_a_whole_response(provider, path, request_body, response, expected) -> None:
    # No Content-Length upstream means the proxy relays it as a stream; the body is still one JSON document.
    ex = exchange(provider, path, request=request_body, response=response, streamed=True)
    assert usage_of(rows(ex)[0]) == expected


def test_custom_cost_wins_and_is_flagged() -> None:
    policy = RequestPolicy(custom_cost=CustomCost(per_token_in=0.000003, per_token_out=0.000015))
    row, _ = rows(exchange(request=OPENAI_REQUEST, response=OPENAI_RESPONSE, policy=policy))
    assert row["cost"] == pytest.approx(1000 * 0.000003 + 200 * 0.000015)
    assert row["custom_cost"] is True


def test_unknown_model_has_tokens_but_no_cost() -> None:
    row, _ = rows(exchange(request={"model": "my-finetune"}, response={"usage": {"prompt_tokens": 5, "completion_tokens": 6}}))
    assert usage_of(row) == ("my-finetune", 5, 6)
    assert (row["cost"], row["custom_cost"]) == (None, False)


def test_cached_hit_costs_nothing() -> None:
    row, _ = rows(exchange(request=OPENAI_REQUEST, response=OPENAI_RESPONSE, cached=True))
    assert (row["cached"], row["cost"]) == (True, 0.0)
    assert (row["tokens_in"], row["tokens_out"]) == (1000, 200)


def test_cached_hit_without_tokens_has_no_cost() -> None:
    row, _ = rows(exchange("replicate", "/predictions", request={"version": "abc"}, response={"id": "p1"}, cached=True))
    assert row["cost"] is None


@pytest.mark.parametrize("status", [400, 429, 500, 503])
def test_non_2xx_reports_no_usage(status: int) -> None:
    row, _ = rows(exchange(request=OPENAI_REQUEST, response=OPENAI_RESPONSE, status=status))
    assert (row["tokens_in"], row["tokens_out"], row["cost"]) == (None, None, None)
    assert row["success"] is False
    assert row["model"] == "gpt-4o"


def test_gateway_error_is_not_a_success_even_with_200() -> None:
    row, _ = rows(exchange(request=OPENAI_REQUEST, response=OPENAI_RESPONSE, error_code=2017, error="Response blocked"))
    assert (row["success"], row["error_code"], row["error"]) == (False, 2017, "Response blocked")


def test_unparseable_response_yields_no_usage() -> None:
    row, _ = rows(exchange(request=OPENAI_REQUEST, response=b"<html>502 Bad Gateway</html>", response_ct="text/html"))
    assert (row["tokens_in"], row["tokens_out"], row["cost"]) == (None, None, None)
    row, _ = rows(exchange(request=b"{not json", response=b"{also not json"))
    assert (row["model"], row["tokens_in"]) == (None, None)


def test_exchange_without_family_is_unknown() -> None:
    ex = exchange(request=OPENAI_REQUEST, response=OPENAI_RESPONSE)
    ex.family = None
    row, _ = rows(ex)
    assert (row["model"], row["model_type"], row["tokens_in"], row["cost"]) == (None, ModelType.UNKNOWN, None, None)


def test_policy_metadata_and_event_id_are_recorded() -> None:
    policy = RequestPolicy(metadata={"team": "AI", "user": 12345, "test": True}, event_id="evt-7")
    row, _ = rows(exchange(request=OPENAI_REQUEST, response=OPENAI_RESPONSE, policy=policy))
    assert row["metadata"] == {"team": "AI", "user": 12345, "test": True}
    assert row["event_id"] == "evt-7"


# -- build_rows: bodies and headers --------------------------------------------------------------


def test_secret_headers_are_redacted_in_the_body_row() -> None:
    request_headers = [
        ("Authorization", f"Bearer {SECRET}"),
        ("x-api-key", SECRET),
        ("cf-aig-authorization", f"Bearer {SECRET}"),
        ("Content-Type", "application/json"),
        ("OpenAI-Organization", "org-visible"),
    ]
    response_headers = [("Content-Type", JSON), ("Set-Cookie", f"__cf_bm={SECRET}; path=/"), ("x-request-id", "req_1")]
    ex = exchange(request=OPENAI_REQUEST, response=OPENAI_RESPONSE, request_headers=request_headers, response_headers=response_headers)
    row, body = rows(ex)
    assert body["request_headers"]["authorization"] == REDACTED
    assert body["request_headers"]["x-api-key"] == REDACTED
    assert body["request_headers"]["cf-aig-authorization"] == REDACTED
    assert body["request_headers"]["openai-organization"] == "org-visible"
    assert body["response_headers"] == {"content-type": JSON, "set-cookie": REDACTED, "x-request-id": "req_1"}
    assert SECRET not in repr(body) and SECRET not in repr(row)


def test_no_body_row_when_bodies_are_not_collected() -> None:
    row, body = rows(exchange(request=OPENAI_REQUEST, response=OPENAI_RESPONSE, collect_bodies=False))
    assert body is None
    assert row["body_stored"] is False
    assert usage_of(row) == ("gpt-4o", 1000, 200)  # usage is still read


def test_oversize_response_body_is_not_stored_but_flagged() -> None:
    big = {**OPENAI_RESPONSE, "choices": [{"index": 0, "message": {"content": "x" * 2000}}]}
    row, body = rows(exchange(request=OPENAI_REQUEST, response=big), max_body=1000)
    assert row["body_truncated"] is True
    assert body["response_body"] is None
    assert body["log_id"] == row["id"]
    assert usage_of(row) == ("gpt-4o", 1000, 200)


def test_oversize_request_body_is_not_stored_but_flagged() -> None:
    request = {**OPENAI_REQUEST, "messages": [{"role": "user", "content": "x" * 2000}]}
    row, body = rows(exchange(request=request, response={"ok": 1}), max_body=1000)
    assert row["body_truncated"] is True
    assert body["request_body"] is None
    assert row["request_size"] == len(orjson.dumps(request))


def test_bodies_at_the_limit_are_stored() -> None:
    response = orjson.dumps(OPENAI_RESPONSE)
    row, body = rows(exchange(request=OPENAI_REQUEST, response=response), max_body=len(response))
    assert row["body_truncated"] is False
    assert body["response_body"] == response


def test_truncated_capture_is_flagged_and_yields_no_usage() -> None:
    ex = exchange(request=OPENAI_REQUEST, response=None, response_ct=SSE, streamed=True, response_truncated=True)
    row, body = rows(ex)
    assert row["body_truncated"] is True
    assert body["response_body"] is None
    assert (row["tokens_in"], row["cost"]) == (None, None)


# -- build_rows: a 2xx answer whose content is not what it claims ---------------------------------

ANTHROPIC_EVENTS = [
    {"type": "message_start", "message": {"id": "m", "model": "claude-3-5-haiku-20241022", "usage": {"input_tokens": 2}}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
    {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 3}},
]  # fmt: skip
GOOGLE_CHUNK = {"candidates": [{"content": {"parts": [{"text": "Hi"}]}}], "modelVersion": "gemini-2.0-flash"}
GOOGLE_LAST = {"candidates": [{"content": {"parts": [{"text": "!"}]}, "finishReason": "STOP"}]}
OPENAI_CHUNK = {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": "Hi"}}]}


def issue_of(row: dict[str, Any]) -> str | None:
    """The upstream-issue code that opens the row's ``error``, if any."""
    error = row["error"] or ""
    code = error.split(":", 1)[0]
    return code if code in UPSTREAM_ISSUES else None


@pytest.mark.parametrize(
    ("provider", "path", "body", "content_type", "expected"),
    [
        ("openai", "/chat/completions", sse(OPENAI_CHUNK, done=True), SSE, None),
        ("openai", "/chat/completions", sse(OPENAI_CHUNK), SSE, "stream_unterminated"),
        ("openai", "/chat/completions", b'data: {"a":1}\r\n\r\ndata: [DONE]\r\n\r\n', SSE, None),
        ("openai", "/responses", sse({"type": "response.output_text.delta"}, {"type": "response.completed"}), SSE, None),
        ("openai", "/responses", sse({"type": "response.output_text.delta"}), SSE, "stream_unterminated"),
        ("openai", "/chat/completions", b": keep-alive\n\n", SSE, "stream_unterminated"),  # no event at all
        ("groq", "/chat/completions", sse(OPENAI_CHUNK), SSE, "stream_unterminated"),  # OpenAI-compatible
        ("openai", "/api/chat", b'{"message":{}}\n{"done":true}\n', "application/x-ndjson", None),  # Ollama's own API
        ("anthropic", "/v1/messages", sse(*ANTHROPIC_EVENTS, {"type": "message_stop"}), SSE, None),
        ("anthropic", "/v1/messages", sse(*ANTHROPIC_EVENTS), SSE, "stream_unterminated"),
        ("google-ai-studio", "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse",
         sse(GOOGLE_CHUNK, GOOGLE_LAST), SSE, None),
        ("google-ai-studio", "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse",
         sse(GOOGLE_CHUNK), SSE, "stream_unterminated"),
        ("cohere", "/v2/chat", sse({"type": "message-start"}, {"type": "message-end"}), SSE, None),
        ("cohere", "/v2/chat", sse({"type": "message-start"}), SSE, "stream_unterminated"),
        ("cohere", "/v1/chat", b'{"event_type":"stream-start"}\n{"event_type":"stream-end"}\n', "application/stream+json", None),
        ("cohere", "/v1/chat", b'{"event_type":"stream-start"}\n', "application/stream+json", "stream_unterminated"),
        ("workers-ai", "/@cf/meta/llama-3.1-8b-instruct", sse({"response": "Hi"}, done=True), SSE, None),
        ("workers-ai", "/@cf/meta/llama-3.1-8b-instruct", sse({"response": "Hi"}), SSE, "stream_unterminated"),
        ("aws-bedrock", "/model/amazon.nova-lite-v1%3A0/converse-stream", CONVERSE, "application/vnd.amazon.eventstream", None),
        ("aws-bedrock", "/model/amazon.nova-lite-v1%3A0/converse-stream", CONVERSE[:-10],
         "application/vnd.amazon.eventstream", "stream_unterminated"),
        ("aws-bedrock", "/model/a/invoke-with-response-stream", INVOKE, "application/vnd.amazon.eventstream", None),
        ("replicate", "/predictions", sse({"output": "Hi"}), SSE, None),  # no end marker to look for
    ],
)  # fmt: skip
def test_stream_without_its_end_marker_is_flagged(
    provider: str, path: str, body: bytes, content_type: str, expected: str | None
) -> None:
    row, _ = rows(exchange(provider, path, request={"stream": True}, response=body, response_ct=content_type, streamed=True))
    assert issue_of(row) == expected
    assert (row["status_code"], row["success"], row["error_code"]) == (200, True, None)  # a flag, not a failure
    if expected is None:
        assert row["error"] is None


def test_unterminated_stream_keeps_its_usage() -> None:
    row, _ = rows(exchange("anthropic", "/v1/messages", request={"model": "claude-3-5-haiku-20241022"},
                           response=sse(*ANTHROPIC_EVENTS), response_ct=SSE, streamed=True))  # fmt: skip
    assert usage_of(row) == ("claude-3-5-haiku-20241022", 2, 3)
    assert row["error"] == "stream_unterminated: the stream ended without its end-of-stream marker, after 3 events"


@pytest.mark.parametrize(
    ("body", "content_type", "streamed", "expected"),
    [
        (b'{"id": "chatcmpl-1", "choices": [', JSON, False, "malformed_json"),
        (b'{"id": "chatcmpl-1", "choices": [', JSON, True, "malformed_json"),  # chunked, cut short
        (b"<html>oops</html>", "application/json; charset=utf-8", False, "malformed_json"),
        (b'{"a":1}\n{"a":2}\n', JSON, True, "malformed_json"),  # NDJSON is not one JSON document
        (b'{"type": "about:blank"', "application/problem+json", False, "malformed_json"),
        (b"null", JSON, False, None),
        (b'{"a":1}', JSON, False, None),
        (b"<html>fine</html>", "text/html", False, None),  # promised no JSON
        (b'{"a":1}\n{"a":', "application/x-ndjson", True, "stream_unterminated"),  # a stream type: judged as one
        (b"", JSON, False, None),  # nothing sent (HEAD, an empty 200): nothing to judge
    ],
)  # fmt: skip
def test_2xx_json_that_does_not_parse_is_flagged(body: bytes, content_type: str, streamed: bool, expected: str | None) -> None:
    row, _ = rows(exchange(request=OPENAI_REQUEST, response=body, response_ct=content_type, streamed=streamed))
    assert issue_of(row) == expected
    assert (row["status_code"], row["success"], row["error_code"]) == (200, True, None)


def test_malformed_json_error_names_the_content_type_and_the_parse_error() -> None:
    row, _ = rows(exchange(request=OPENAI_REQUEST, response=b'{"id": ', response_ct="application/json; charset=utf-8"))
    assert row["error"].startswith("malformed_json: the 200 answer is application/json but does not parse: ")


@pytest.mark.parametrize("status", [400, 500, 503])
def test_non_2xx_bodies_are_not_judged(status: int) -> None:
    row, _ = rows(exchange(request=OPENAI_REQUEST, response=b"{broken", status=status, error=f"upstream answered {status}"))
    assert row["error"] == f"upstream answered {status}"
    row, _ = rows(exchange(request=OPENAI_REQUEST, response=sse(OPENAI_CHUNK), response_ct=SSE, streamed=True, status=status))
    assert row["error"] is None


def test_a_gateway_error_is_not_blamed_on_the_upstream() -> None:
    # The client hung up mid-stream: the stream is short because of it, and the log already says so.
    ex = exchange(request=OPENAI_REQUEST, response=sse(OPENAI_CHUNK), response_ct=SSE, streamed=True,
                  error_code=2018, error="client disconnected after 120 bytes: ConnectionResetError")  # fmt: skip
    row, _ = rows(ex)
    assert row["error"] == "client disconnected after 120 bytes: ConnectionResetError"


def test_a_truncated_or_unread_capture_is_not_judged() -> None:
    ex = exchange(request=OPENAI_REQUEST, response=None, response_ct=SSE, streamed=True, response_truncated=True)
    assert rows(ex)[0]["error"] is None
    ex = exchange(request=OPENAI_REQUEST, response=None, response_truncated=True, unread_reason="gzip bomb")
    assert rows(ex)[0]["error"] == "body_unread: gzip bomb"


def test_cached_replay_of_an_unterminated_stream_is_flagged_too() -> None:
    ex = exchange(request=OPENAI_REQUEST, response=sse(OPENAI_CHUNK), response_ct=SSE, streamed=True, cached=True)
    assert issue_of(rows(ex)[0]) == "stream_unterminated"
