"""OpenAI chat completions ⇄ Anthropic Messages.

Native fixtures follow Anthropic's API reference (messages, streaming and tool-use pages); each is
also validated against the official ``anthropic`` SDK's own types so they stay realistic.
"""

from __future__ import annotations

from typing import Any

import orjson
import pydantic
import pytest
from anthropic.types import Message, RawMessageStreamEvent
from openai.types.chat import ChatCompletion

from proxy_core.compat import CompatError
from proxy_core.providers import FAMILIES
from tests.unit.test_compat_api import SPLITS, accumulate, chunks, feed_all, without_created

T = FAMILIES["anthropic"].translator()
MODEL = "claude-3-5-haiku-latest"

TEXT_ANSWER: dict[str, Any] = {
    "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
    "type": "message",
    "role": "assistant",
    "model": "claude-3-5-haiku-20241022",
    "content": [{"type": "text", "text": "Hello! How can I help you today?"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 12, "output_tokens": 12, "cache_creation_input_tokens": 0,
              "cache_read_input_tokens": 0},
}

TOOL_ANSWER: dict[str, Any] = {
    "id": "msg_01Aq9w938a90dw8q",
    "type": "message",
    "role": "assistant",
    "model": "claude-3-5-sonnet-20241022",
    "content": [
        {"type": "text", "text": "I'll check the current weather in San Francisco for you."},
        {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather",
         "input": {"location": "San Francisco, CA", "unit": "celsius"}},
    ],
    "stop_reason": "tool_use",
    "stop_sequence": None,
    "usage": {"input_tokens": 472, "output_tokens": 89},
}


def _sse(*events: dict[str, Any]) -> bytes:
    return b"".join(b"event: " + e["type"].encode() + b"\ndata: " + orjson.dumps(e) + b"\n\n" for e in events)


MESSAGE_START = {"type": "message_start", "message": {
    "id": "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", "type": "message", "role": "assistant", "content": [],
    "model": "claude-3-5-haiku-20241022", "stop_reason": None, "stop_sequence": None,
    "usage": {"input_tokens": 25, "output_tokens": 1, "cache_read_input_tokens": 5,
              "cache_creation_input_tokens": 0}}}

TEXT_STREAM_EVENTS = [
    MESSAGE_START,
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "ping"},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": ", caf\u00e9 \u2603!"}},
    {"type": "content_block_stop", "index": 0},
    {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
     "usage": {"output_tokens": 15}},
    {"type": "message_stop"},
]
TEXT_STREAM = _sse(*TEXT_STREAM_EVENTS)

TOOL_STREAM_EVENTS = [
    {**MESSAGE_START, "message": {**MESSAGE_START["message"], "id": "msg_014p7gG3wDgGV9EUtLvnow3U"}},
    {"type": "content_block_start", "index": 0,
     "content_block": {"type": "thinking", "thinking": "", "signature": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Weather..."}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "EqQBCgIYAhIM"}},
    {"type": "content_block_stop", "index": 0},
    {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Let me check."}},
    {"type": "content_block_stop", "index": 1},
    {"type": "content_block_start", "index": 2, "content_block": {
        "type": "tool_use", "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "name": "get_weather", "input": {}}},
    {"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": ""}},
    {"type": "content_block_delta", "index": 2,
     "delta": {"type": "input_json_delta", "partial_json": "{\"location\": \"San Fra"}},
    {"type": "content_block_delta", "index": 2,
     "delta": {"type": "input_json_delta", "partial_json": "ncisco, CA\"}"}},
    {"type": "content_block_stop", "index": 2},
    {"type": "content_block_start", "index": 3, "content_block": {
        "type": "tool_use", "id": "toolu_02", "name": "get_time", "input": {}}},
    {"type": "content_block_delta", "index": 3,
     "delta": {"type": "input_json_delta", "partial_json": "{\"tz\": \"PST\"}"}},
    {"type": "content_block_stop", "index": 3},
    {"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": None},
     "usage": {"output_tokens": 89}},
    {"type": "message_stop"},
]
TOOL_STREAM = _sse(*TOOL_STREAM_EVENTS)

ERROR_BODY = b'{"type":"error","error":{"type":"not_found_error","message":"model: claude-9"},"request_id":"req_1"}'


def test_fixtures_match_the_anthropic_sdk_types() -> None:
    for answer in (TEXT_ANSWER, TOOL_ANSWER):
        Message.model_validate(answer)
    adapter = pydantic.TypeAdapter(RawMessageStreamEvent)
    for event in TEXT_STREAM_EVENTS + TOOL_STREAM_EVENTS:
        if event["type"] != "ping":
            adapter.validate_python(event)


def _native(body: dict[str, Any]) -> dict[str, Any]:
    request = T.build_request(body, MODEL)
    assert request.path == "/v1/messages"
    assert request.headers["anthropic-version"] == "2023-06-01"
    return orjson.loads(request.body)


def test_request_system_multi_turn_and_parameters() -> None:
    native = _native({
        "model": "anthropic/" + MODEL,
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "developer", "content": [{"type": "text", "text": "Answer in French."}]},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Bonjour."},
            {"role": "user", "content": [{"type": "text", "text": "What is this?"},
                                         {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO"}},
                                         {"type": "image_url", "image_url": {"url": "https://x.test/cat.jpg"}}]},
        ],
        "temperature": 0.3, "top_p": 0.9, "max_completion_tokens": 256, "stop": "END", "user": "u-42", "seed": 7,
    })
    assert native == {
        "model": MODEL,
        "max_tokens": 256,
        "system": "You are terse.\n\nAnswer in French.",
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Hi"}]},
            {"role": "assistant", "content": [{"type": "text", "text": "Bonjour."}]},
            {"role": "user", "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}},
                {"type": "image", "source": {"type": "url", "url": "https://x.test/cat.jpg"}},
            ]},
        ],
        "temperature": 0.3, "top_p": 0.9, "stop_sequences": ["END"], "metadata": {"user_id": "u-42"},
    }


def test_request_defaults_max_tokens_and_streams() -> None:
    request = T.build_request({"messages": [{"role": "user", "content": "hi"}], "stream": True,
                               "stream_options": {"include_usage": True}, "max_tokens": None}, MODEL)
    native = orjson.loads(request.body)
    assert native["max_tokens"] == 4096 and native["stream"] is True and request.stream is True
    assert "stream_options" not in native


WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather",
    "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}}}


def test_request_tools_calls_and_results() -> None:
    native = _native({
        "messages": [
            {"role": "user", "content": "Weather in SF and the time?"},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call_abc", "type": "function",
                 "function": {"name": "get_weather", "arguments": "{\"location\": \"SF\"}"}},
                {"id": "call_x__thought__Cg+/=", "type": "function", "function": {"name": "now", "arguments": ""}},
            ]},
            {"role": "tool", "tool_call_id": "call_abc", "content": "18C"},
            {"role": "tool", "tool_call_id": "call_x__thought__Cg+/=", "content": [{"type": "text", "text": "9am"}]},
            {"role": "user", "content": "Thanks"},
        ],
        "tools": [WEATHER_TOOL, {"type": "function", "function": {"name": "now"}}],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "parallel_tool_calls": False,
    })
    assert native["tools"] == [
        {"name": "get_weather", "description": "Current weather",
         "input_schema": WEATHER_TOOL["function"]["parameters"]},
        {"name": "now", "input_schema": {"type": "object", "properties": {}}},
    ]
    assert native["tool_choice"] == {"type": "tool", "name": "get_weather", "disable_parallel_tool_use": True}
    assert native["messages"][1] == {"role": "assistant", "content": [
        {"type": "tool_use", "id": "call_abc", "name": "get_weather", "input": {"location": "SF"}},
        {"type": "tool_use", "id": "call_x__thought__Cg___", "name": "now", "input": {}},
    ]}
    assert native["messages"][2] == {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "call_abc", "content": "18C"},
        {"type": "tool_result", "tool_use_id": "call_x__thought__Cg___", "content": "9am"},
        {"type": "text", "text": "Thanks"},
    ]}


@pytest.mark.parametrize(
    ("choice", "expected"),
    [("auto", {"type": "auto"}), ("required", {"type": "any"}), ("none", {"type": "none"}), (None, None)],
)
def test_request_tool_choice(choice: str | None, expected: dict | None) -> None:
    body: dict[str, Any] = {"messages": [{"role": "user", "content": "x"}], "tools": [WEATHER_TOOL]}
    if choice:
        body["tool_choice"] = choice
    assert _native(body).get("tool_choice") == expected


def test_request_json_schema_and_rejections() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"],
              "additionalProperties": False}
    native = _native({"messages": [{"role": "user", "content": "x"}],
                      "response_format": {"type": "json_schema", "json_schema": {"name": "A", "schema": schema}}})
    assert native["output_config"] == {"format": {"type": "json_schema", "schema": schema}}
    for body, param in [
        ({"response_format": {"type": "json_object"}}, "response_format"),
        ({"n": 3}, "n"),
        ({"frequency_penalty": 1}, "frequency_penalty"),
    ]:
        with pytest.raises(CompatError) as info:
            T.build_request({"messages": [{"role": "user", "content": "x"}], **body}, MODEL)
        assert info.value.param == param
    bad_args = [{"role": "assistant", "tool_calls": [
        {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{oops"}}]}]
    with pytest.raises(CompatError, match="not valid JSON"):
        T.build_request({"messages": [{"role": "user", "content": "x"}, *bad_args]}, MODEL)
    with pytest.raises(CompatError, match="at least one"):
        T.build_request({"messages": [{"role": "system", "content": "only"}]}, MODEL)
    with pytest.raises(CompatError, match="audio"):
        T.build_request({"messages": [{"role": "user", "content": [
            {"type": "input_audio", "input_audio": {"data": "UklG", "format": "wav"}}]}]}, MODEL)


def test_auth_header() -> None:
    assert T.auth_headers("Bearer sk-ant-123") == {"x-api-key": "sk-ant-123"}
    assert T.auth_headers("bearer  sk-ant-123 ") == {"x-api-key": "sk-ant-123"}
    assert T.auth_headers(None) == {} and T.auth_headers("Basic abc") == {}


def test_response_text() -> None:
    out = T.parse_response(TEXT_ANSWER, MODEL)
    completion = ChatCompletion.model_validate(out)
    assert completion.id == "msg_01XFDUDYJgAACzvnptvVoYEL"
    assert completion.model == "claude-3-5-haiku-20241022"
    assert completion.choices[0].message.content == "Hello! How can I help you today?"
    assert completion.choices[0].finish_reason == "stop"
    assert out["usage"] == {"prompt_tokens": 12, "completion_tokens": 12, "total_tokens": 24,
                            "prompt_tokens_details": {"cached_tokens": 0}}


def test_response_tool_use() -> None:
    completion = ChatCompletion.model_validate(T.parse_response(TOOL_ANSWER, MODEL))
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "I'll check the current weather in San Francisco for you."
    call = choice.message.tool_calls[0]
    assert call.id == "toolu_01A09q90qw90lq917835lq9" and call.function.name == "get_weather"
    assert orjson.loads(call.function.arguments) == {"location": "San Francisco, CA", "unit": "celsius"}
    assert completion.usage.total_tokens == 561


@pytest.mark.parametrize(
    ("stop_reason", "finish"),
    [("end_turn", "stop"), ("stop_sequence", "stop"), ("max_tokens", "length"), ("tool_use", "tool_calls"),
     ("refusal", "content_filter"), ("pause_turn", "stop"), ("model_context_window_exceeded", "length")],
)
def test_finish_reasons(stop_reason: str, finish: str) -> None:
    out = T.parse_response({**TEXT_ANSWER, "stop_reason": stop_reason}, MODEL)
    assert out["choices"][0]["finish_reason"] == finish


def test_response_cache_tokens_count_as_prompt() -> None:
    answer = {**TEXT_ANSWER, "usage": {"input_tokens": 10, "output_tokens": 5, "cache_creation_input_tokens": 100,
                                       "cache_read_input_tokens": 1000}}
    assert T.parse_response(answer, MODEL)["usage"]["prompt_tokens"] == 1110


def test_malformed_answer_is_a_502() -> None:
    with pytest.raises(CompatError) as info:
        T.parse_response({"type": "message"}, MODEL)
    assert info.value.status == 502


@pytest.mark.parametrize("split", SPLITS)
def test_stream_text(split: str) -> None:
    out = feed_all(T.new_stream(MODEL, True), TEXT_STREAM, split)
    objects = chunks(out)
    assert all(o["id"] == "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY" for o in objects)
    assert objects[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert objects[-1]["choices"] == [] and objects[-1]["usage"] == {
        "prompt_tokens": 30, "completion_tokens": 15, "total_tokens": 45, "prompt_tokens_details": {"cached_tokens": 5}}
    assert all(o["usage"] is None for o in objects[:-1])
    completion = accumulate(out)
    assert completion.choices[0].message.content == "Hello, caf\u00e9 \u2603!"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == "claude-3-5-haiku-20241022"


def test_stream_is_the_same_whatever_the_split() -> None:
    outs = [without_created(chunks(feed_all(T.new_stream(MODEL, True), TOOL_STREAM, s))) for s in SPLITS]
    assert outs[0] == outs[1] == outs[2]


@pytest.mark.parametrize("split", SPLITS)
def test_stream_tool_calls(split: str) -> None:
    out = feed_all(T.new_stream(MODEL, False), TOOL_STREAM, split)
    objects = chunks(out)
    assert all("usage" not in o for o in objects)
    completion = accumulate(out)
    choice = completion.choices[0]
    assert choice.message.content == "Let me check."  # the thinking block is not returned
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls
    assert [c.id for c in calls] == ["toolu_01T1x1fJ34qAmk2tNTrN7Up6", "toolu_02"]
    assert orjson.loads(calls[0].function.arguments) == {"location": "San Francisco, CA"}
    assert orjson.loads(calls[1].function.arguments) == {"tz": "PST"}


def test_stream_error_event() -> None:
    native = _sse(MESSAGE_START, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    objects = chunks(feed_all(T.new_stream(MODEL, False), native, "bytes"))
    assert objects[-1] == {"error": {"message": "Overloaded", "type": "overloaded_error", "param": None,
                                     "code": None}}


def test_stream_cut_short_still_ends_cleanly() -> None:
    out = feed_all(T.new_stream(MODEL, True), TEXT_STREAM[: TEXT_STREAM.index(b"event: message_delta")], "whole")
    objects = chunks(out)  # no finish reason was reported, so none is invented, and no usage chunk either
    assert all(c["finish_reason"] is None for o in objects for c in o["choices"])
    assert accumulate(out).choices[0].message.content == "Hello, caf\u00e9 \u2603!"


def test_errors() -> None:
    assert T.parse_error(404, ERROR_BODY) == {"error": {"message": "model: claude-9", "type": "not_found_error",
                                                        "param": None, "code": None}}
    overloaded = b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'
    assert T.parse_error(529, overloaded)["error"]["type"] == "overloaded_error"
    assert T.parse_error(502, b"upstream connect error")["error"] == {
        "message": "upstream connect error", "type": "api_error", "param": None, "code": None}
