"""The compat package's public API, the shared request checks, the SSE decoder and the pass-throughs.

Also home of the stream helpers the per-family tests import: feed a provider stream in awkward
splits, read the OpenAI events back strictly, and accumulate them with the ``openai`` SDK.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletion, ChatCompletionChunk

import proxy_core.compat as compat
from proxy_core.compat import CompatError, split_model
from proxy_core.compat.base import StreamState
from proxy_core.compat.sse import SSEDecoder, SSEEvent
from proxy_core.config import ProviderSettings
from proxy_core.providers import FAMILIES, ProviderRegistry

SPLITS = ("whole", "bytes", "sevens")


def feed_all(state: StreamState, native: bytes, split: str) -> bytes:
    """Feed ``native`` whole, one byte at a time, or in 7-byte slices; then finish."""
    size = {"whole": len(native) or 1, "bytes": 1, "sevens": 7}[split]
    out = b"".join(state.feed(native[i : i + size]) for i in range(0, len(native), size))
    return out + state.finish()


def sse_data(out: bytes) -> list[str]:
    """The ``data`` of each event, checking the output is exactly ``data: …\\n\\n`` events."""
    assert out.endswith(b"\n\n")
    events = out[:-2].split(b"\n\n")
    for event in events:
        assert event.startswith(b"data: ") and b"\n" not in event, event
    return [e[6:].decode() for e in events]


def chunks(out: bytes) -> list[dict[str, Any]]:
    """The chunk objects of an OpenAI stream that ends in ``[DONE]`` (each validated by the SDK)."""
    data = sse_data(out)
    assert data[-1] == "[DONE]" and "[DONE]" not in data[:-1]
    objects = [orjson.loads(d) for d in data[:-1]]
    for obj in objects:
        if "error" not in obj:
            ChatCompletionChunk.model_validate(obj, strict=False)
    return objects


def accumulate(out: bytes, *, snapshot: bool = False) -> ChatCompletion:
    """The completion the ``openai`` SDK assembles from the stream.

    ``snapshot``: the SDK's running snapshot instead of its final parse, which raises (by design)
    on the ``length`` and ``content_filter`` finish reasons.
    """
    state = ChatCompletionStreamState()
    for obj in chunks(out):
        state.handle_chunk(ChatCompletionChunk.model_validate(obj))
    if snapshot:
        return ChatCompletion.model_validate(state.current_completion_snapshot.model_dump())
    return state.get_final_completion()


def without_created(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in o.items() if k != "created"} for o in objects]


# --- public API ------------------------------------------------------------------------------


def test_exports() -> None:
    assert set(compat.__all__) == {"CompatError", "NativeRequest", "StreamState", "Translator", "split_model"}
    for name in compat.__all__:
        assert getattr(compat, name) is not None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("anthropic/claude-3-5-haiku", ("anthropic", "claude-3-5-haiku")),
        ("google-ai-studio/gemini-2.0-flash", ("google-ai-studio", "gemini-2.0-flash")),
        ("workers-ai/@cf/meta/llama-3.1-8b-instruct", ("workers-ai", "@cf/meta/llama-3.1-8b-instruct")),
        ("openrouter/anthropic/claude-3.5-sonnet", ("openrouter", "anthropic/claude-3.5-sonnet")),
    ],
)
def test_split_model(value: str, expected: tuple[str, str]) -> None:
    assert split_model(value) == expected


@pytest.mark.parametrize("value", ["gpt-4o", "", "/gpt-4o", "openai/", None, 42, "open ai/gpt", "openai/gpt 4"])
def test_split_model_rejects(value: Any) -> None:
    with pytest.raises(ValueError, match="model") as info:
        split_model(value)
    assert isinstance(info.value, CompatError) and info.value.status == 400
    assert info.value.body()["error"]["param"] == "model"


def test_split_model_message_shows_the_form() -> None:
    with pytest.raises(ValueError, match=r"\{provider\}/\{model\}.*'gpt-4o'"):
        split_model("gpt-4o")


@pytest.mark.parametrize("family", ["openai", "anthropic", "google", "cohere", "workers-ai"])
def test_families_with_a_translator(family: str) -> None:
    translator = FAMILIES[family].translator()
    assert translator is not None and translator.family == family
    for method in ("build_request", "auth_headers", "parse_response", "new_stream", "parse_error"):
        assert callable(getattr(translator, method))


@pytest.mark.parametrize("family", ["bedrock", "generic"])
def test_families_without_a_translator(family: str) -> None:
    assert FAMILIES[family].translator() is None


def test_compat_error_body() -> None:
    err = CompatError("bad n", param="n")
    assert err.body() == {"error": {"message": "bad n", "type": "invalid_request_error", "param": "n", "code": None}}
    assert CompatError("x", status=502).body()["error"]["type"] == "api_error"


# --- shared request checks (through the Anthropic translator) ---------------------------------

USER = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({}, "messages"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
        ({"messages": USER, "n": 2}, "n"),
        ({"messages": USER, "n": 0}, "n"),
        ({"messages": USER, "temperature": "hot"}, "temperature"),
        ({"messages": USER, "max_tokens": 0}, "max_tokens"),
        ({"messages": USER, "stop": [1]}, "stop"),
        ({"messages": USER, "logprobs": True}, "logprobs"),
        ({"messages": USER, "logit_bias": {"50256": -100}}, "logit_bias"),
        ({"messages": USER, "functions": [{"name": "f"}]}, "functions"),
        ({"messages": USER, "modalities": ["text", "audio"]}, "modalities"),
        ({"messages": USER, "tools": [{"type": "custom", "custom": {"name": "x"}}]}, "tools[0]"),
        ({"messages": USER, "tool_choice": "required"}, "tool_choice"),
        ({"messages": USER, "tools": [{"type": "function", "function": {"name": "a"}}],
          "tool_choice": {"type": "function", "function": {"name": "b"}}}, "tool_choice"),
        ({"messages": USER, "response_format": {"type": "json_schema", "json_schema": {"name": "x"}}},
         "response_format"),
        ({"messages": USER, "presence_penalty": 0.5}, "presence_penalty"),
        ({"messages": [{"role": "user", "content": [{"type": "video", "video": "x"}]}], }, "messages[0].content"),
    ],
)
def test_malformed_or_unsupported_requests(body: dict, param: str) -> None:
    with pytest.raises(CompatError) as info:
        FAMILIES["anthropic"].translator().build_request(body, "claude-3-5-haiku-latest")
    assert info.value.status == 400
    assert info.value.param == param
    assert info.value.message


def test_non_object_body() -> None:
    for family in ("anthropic", "google", "cohere", "openai", "workers-ai"):
        with pytest.raises(CompatError):
            FAMILIES[family].translator().build_request(["not", "an", "object"], "m")  # type: ignore[arg-type]


def test_zero_penalties_are_accepted_where_unsupported() -> None:
    body = {"messages": USER, "presence_penalty": 0, "frequency_penalty": 0.0}
    assert FAMILIES["anthropic"].translator().build_request(body, "claude").path == "/v1/messages"


# --- SSE decoder ------------------------------------------------------------------------------


def _decode(raw: bytes, size: int) -> list[SSEEvent]:
    decoder = SSEDecoder()
    events = []
    for i in range(0, len(raw), size):
        events += decoder.feed(raw[i : i + size])
    return events + decoder.flush()


@pytest.mark.parametrize("size", [1, 2, 3, 1000])
def test_sse_decoder_line_endings_and_splits(size: int) -> None:
    raw = (
        b": comment\r\n"
        b"event: one\r\ndata: {\"a\": 1}\r\n\r\n"
        b"data: multi\rdata: line\r\r"
        b"data:nospace\n\n"
        b"{\"bare\": true}\n"
        + "data: caf\u00e9 \u2603\n\n".encode()
        + b"data: last-without-newline"
    )
    events = _decode(raw, size)
    assert events == [
        SSEEvent("one", '{"a": 1}'),
        SSEEvent(None, "multi\nline"),
        SSEEvent(None, "nospace"),
        SSEEvent(None, '{"bare": true}'),
        SSEEvent(None, "caf\u00e9 \u2603"),
        SSEEvent(None, "last-without-newline"),
    ]


def test_sse_decoder_crlf_split_between_chunks_is_one_line_end() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: x\r") == []
    assert decoder.feed(b"\n") == []  # the \n of \r\n, not a blank line
    assert decoder.feed(b"\r\n") == [SSEEvent(None, "x")]


def test_sse_decoder_long_line_in_small_pieces_is_one_event() -> None:
    payload = b"data: " + b"x" * 4_000_000 + b"\n\n"
    decoder = SSEDecoder()
    events = [e for i in range(0, len(payload), 1024) for e in decoder.feed(payload[i : i + 1024])]
    assert [len(e.data) for e in events] == [4_000_000]


# --- OpenAI-format pass-through ---------------------------------------------------------------

OPENAI_ANSWER = {
    "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
    "object": "chat.completion",
    "created": 1741569952,
    "model": "gpt-4o-mini-2024-07-18",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello!", "refusal": None,
                                         "annotations": []}, "logprobs": None, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 19, "completion_tokens": 10, "total_tokens": 29},
    "service_tier": "default",
    "system_fingerprint": "fp_06737a9306",
}


@pytest.mark.parametrize(
    ("provider", "path"),
    [
        ("openai", "/chat/completions"),
        ("groq", "/chat/completions"),
        ("deepseek", "/chat/completions"),
        ("cerebras", "/chat/completions"),
        ("perplexity-ai", "/chat/completions"),
        ("mistral", "/v1/chat/completions"),
        ("grok", "/v1/chat/completions"),
        ("openrouter", "/v1/chat/completions"),
        ("azure-openai", "/chat/completions?api-version=2024-10-21"),
        ("my-vllm", "/chat/completions"),
        (None, "/chat/completions"),
    ],
)
def test_openai_family_paths(provider: str | None, path: str) -> None:
    body = {"model": "groq/llama-3.3-70b-versatile", "messages": USER, "temperature": 0.2, "stream": True,
            "stream_options": {"include_usage": True}, "vendor_extension": {"keep": 1}}
    registry = ProviderRegistry({"my-vllm": ProviderSettings(base_url="http://10.0.0.5:8000/v1")})
    family = registry.get(provider).family if provider else FAMILIES["openai"]
    native = family.translator().build_request(body, "llama-3.3-70b-versatile")
    assert native.path == path and native.stream is True
    assert orjson.loads(native.body) == {**body, "model": "llama-3.3-70b-versatile"}
    assert body["model"] == "groq/llama-3.3-70b-versatile"  # the caller's dict is not changed


def test_openai_family_auth() -> None:
    registry = ProviderRegistry({})
    assert registry.get("groq").family.translator().auth_headers("Bearer gsk_1") == {"authorization": "Bearer gsk_1"}
    assert registry.get("azure-openai").family.translator().auth_headers("Bearer az") == {"api-key": "az"}
    assert FAMILIES["openai"].translator().auth_headers(None) == {}


def test_openai_family_passes_answers_and_streams_through() -> None:
    translator = FAMILIES["openai"].translator()
    assert translator.parse_response(OPENAI_ANSWER, "gpt-4o-mini") is OPENAI_ANSWER
    ChatCompletion.model_validate(OPENAI_ANSWER)
    stream = b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[]}\n\n'
    for split in SPLITS:
        assert feed_all(translator.new_stream("m", True), stream + b"data: [DONE]\n\n", split) == (
            stream + b"data: [DONE]\n\n"
        )


@pytest.mark.parametrize(
    ("native", "message", "type_", "code"),
    [
        (b'{"error": {"message": "Incorrect API key provided", "type": "invalid_request_error", '
         b'"param": null, "code": "invalid_api_key"}}', "Incorrect API key provided", "invalid_request_error",
         "invalid_api_key"),
        (b'{"detail": "Not authenticated"}', "Not authenticated", "authentication_error", None),
        (b'<html>502 Bad Gateway</html>', "the provider answered HTTP 401", "authentication_error", None),
        (b'', "the provider answered HTTP 401", "authentication_error", None),
    ],
)
def test_openai_family_errors(native: bytes, message: str, type_: str, code: str | None) -> None:
    body = FAMILIES["openai"].translator().parse_error(401, native)
    assert body == {"error": {"message": message, "type": type_, "param": None, "code": code}}


# --- Workers AI -------------------------------------------------------------------------------


def test_workers_ai_uses_the_openai_compatible_endpoint() -> None:
    translator = FAMILIES["workers-ai"].translator()
    body = {"model": "workers-ai/@cf/meta/llama-3.1-8b-instruct", "messages": USER, "max_tokens": 64}
    native = translator.build_request(body, "@cf/meta/llama-3.1-8b-instruct")
    assert native.path == "/v1/chat/completions"
    assert orjson.loads(native.body)["model"] == "@cf/meta/llama-3.1-8b-instruct"
    assert translator.auth_headers("Bearer cf-token") == {"authorization": "Bearer cf-token"}


def test_workers_ai_errors_unwrap_the_cloudflare_envelope() -> None:
    native = (b'{"result": null, "success": false, "errors": [{"code": 5007, '
              b'"message": "No such model @cf/meta/llama-9"}], "messages": []}')
    assert FAMILIES["workers-ai"].translator().parse_error(400, native) == {
        "error": {"message": "No such model @cf/meta/llama-9", "type": "invalid_request_error", "param": None,
                  "code": "5007"}
    }
    assert FAMILIES["workers-ai"].translator().parse_error(500, b"oops")["error"]["type"] == "api_error"
