"""OpenAI chat completions ⇄ Cohere v2 chat.

Native fixtures follow Cohere's v2 API reference and its streaming and tool-use streaming guides
(``message-start``, ``content-delta``, ``tool-plan-delta``, ``tool-call-start/-delta/-end``,
``message-end`` with ``billed_units`` and ``tokens``).
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from openai.types.chat import ChatCompletion

from proxy_core.compat import CompatError
from proxy_core.providers import FAMILIES
from tests.unit.test_compat_api import SPLITS, accumulate, chunks, feed_all, without_created

T = FAMILIES["cohere"].translator()
MODEL = "command-a-03-2025"

TEXT_ANSWER: dict[str, Any] = {
    "id": "c14c80c3-18eb-4519-9460-6c92edd8cfb4",
    "finish_reason": "COMPLETE",
    "message": {"role": "assistant", "content": [
        {"type": "text", "text": "LLMs stand for Large Language Models, which are a type of neural network."}]},
    "usage": {"billed_units": {"input_tokens": 5, "output_tokens": 418},
              "tokens": {"input_tokens": 71, "output_tokens": 418}},
}

TOOL_ANSWER: dict[str, Any] = {
    "id": "3fbd8e80-0a6f-4e32-8c8f-3b3d9c7a6e1f",
    "finish_reason": "TOOL_CALL",
    "message": {
        "role": "assistant",
        "tool_plan": "I will search for the weather in Toronto.",
        "tool_calls": [{"id": "get_weather_1byjy32y4hvq", "type": "function",
                        "function": {"name": "get_weather", "arguments": "{\"location\":\"Toronto\"}"}}],
    },
    "usage": {"billed_units": {"input_tokens": 37, "output_tokens": 28},
              "tokens": {"input_tokens": 913, "output_tokens": 81}},
}


def _sse(*events: dict[str, Any]) -> bytes:
    return b"".join(b"event: " + e["type"].encode() + b"\ndata: " + orjson.dumps(e) + b"\n\n" for e in events)


def _content(text: str) -> dict[str, Any]:
    return {"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": text}}}}


START = {"id": "a8fc192e-4bb8-4e15-ae1f-a174e8b02ae8", "type": "message-start", "delta": {"message": {
    "role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}}}
TEXT_EVENTS = [
    START,
    {"type": "content-start", "index": 0, "delta": {"message": {"content": {"type": "text", "text": ""}}}},
    _content("Coca"), _content("-Cola is"), _content(" a soft drink \u2603."),
    {"type": "content-end", "index": 0},
    {"type": "message-end", "delta": {"finish_reason": "COMPLETE", "usage": {
        "billed_units": {"input_tokens": 21, "output_tokens": 105},
        "tokens": {"input_tokens": 186, "output_tokens": 105}}}},
]
TEXT_STREAM = _sse(*TEXT_EVENTS)

TOOL_STREAM = _sse(
    {**START, "id": "b2"},
    {"type": "tool-plan-delta", "delta": {"message": {"tool_plan": "I will"}}},
    {"type": "tool-plan-delta", "delta": {"message": {"tool_plan": " check."}}},
    {"type": "tool-call-start", "index": 0, "delta": {"message": {"tool_calls": {
        "id": "get_weather_nsz5zm3w56q3", "type": "function",
        "function": {"name": "get_weather", "arguments": ""}}}}},
    *[{"type": "tool-call-delta", "index": 0, "delta": {"message": {"tool_calls": {"function": {"arguments": a}}}}}
      for a in ("{\n  \"", "location", "\": \"Madrid\"\n}")],
    {"type": "tool-call-end", "index": 0},
    {"type": "tool-call-start", "index": 1, "delta": {"message": {"tool_calls": {
        "id": "get_weather_2", "type": "function",
        "function": {"name": "get_weather", "arguments": "{\"location\": \"Brasilia\"}"}}}}},
    {"type": "tool-call-end", "index": 1},
    {"type": "message-end", "delta": {"finish_reason": "TOOL_CALL", "usage": {
        "billed_units": {"input_tokens": 37, "output_tokens": 28},
        "tokens": {"input_tokens": 913, "output_tokens": 81}}}},
)


def _native(body: dict[str, Any]) -> dict[str, Any]:
    request = T.build_request(body, MODEL)
    assert request.path == "/v2/chat"
    return orjson.loads(request.body)


WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather",
    "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}}}


def test_request_messages_and_parameters() -> None:
    native = _native({
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": [{"type": "text", "text": "Hello."}]},
            {"role": "user", "content": [{"type": "text", "text": "What is this?"},
                                         {"type": "image_url", "image_url": {"url": "https://x.test/a.png"}}]},
        ],
        "temperature": 0.3, "top_p": 0.75, "max_tokens": 300, "stop": "END", "seed": 11,
        "presence_penalty": 0.5, "frequency_penalty": 0.25, "stream": True, "stream_options": {"include_usage": True},
    })
    assert native == {
        "model": MODEL,
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello."},
            {"role": "user", "content": [{"type": "text", "text": "What is this?"},
                                         {"type": "image_url", "image_url": {"url": "https://x.test/a.png"}}]},
        ],
        "temperature": 0.3, "p": 0.75, "max_tokens": 300, "seed": 11, "presence_penalty": 0.5,
        "frequency_penalty": 0.25, "stop_sequences": ["END"], "stream": True,
    }


def test_request_tools_and_tool_messages() -> None:
    native = _native({
        "messages": [
            {"role": "user", "content": "Weather?"},
            {"role": "assistant", "tool_calls": [{"id": "get_weather_1", "type": "function", "function": {
                "name": "get_weather", "arguments": "{\"location\":\"Toronto\"}"}}]},
            {"role": "tool", "tool_call_id": "get_weather_1", "content": "[{\"temperature\": 20}]"},
        ],
        "tools": [WEATHER_TOOL], "tool_choice": "required",
        "response_format": {"type": "json_schema", "json_schema": {"name": "W", "schema": {"type": "object"}}},
    })
    assert native["messages"][1:] == [
        {"role": "assistant", "tool_calls": [{"id": "get_weather_1", "type": "function", "function": {
            "name": "get_weather", "arguments": "{\"location\":\"Toronto\"}"}}]},
        {"role": "tool", "tool_call_id": "get_weather_1", "content": "[{\"temperature\": 20}]"},
    ]
    assert native["tools"] == [{"type": "function", "function": {
        "name": "get_weather", "parameters": WEATHER_TOOL["function"]["parameters"], "description": "Current weather"}}]
    assert native["tool_choice"] == "REQUIRED"
    assert native["response_format"] == {"type": "json_object", "json_schema": {"type": "object"}}


def test_request_named_tool_choice_offers_only_that_tool() -> None:
    other = {"type": "function", "function": {"name": "other"}}
    native = _native({"messages": [{"role": "user", "content": "x"}], "tools": [WEATHER_TOOL, other],
                      "tool_choice": {"type": "function", "function": {"name": "other"}}})
    assert [t["function"]["name"] for t in native["tools"]] == ["other"] and native["tool_choice"] == "REQUIRED"
    native = _native({"messages": [{"role": "user", "content": "x"}], "tools": [WEATHER_TOOL], "tool_choice": "none"})
    assert native["tool_choice"] == "NONE"
    assert "tool_choice" not in _native({"messages": [{"role": "user", "content": "x"}], "tools": [WEATHER_TOOL],
                                         "tool_choice": "auto"})
    assert _native({"messages": [{"role": "user", "content": "x"}],
                    "response_format": {"type": "json_object"}})["response_format"] == {"type": "json_object"}


def test_request_rejections() -> None:
    for body, param in [
        ({"n": 2}, "n"),
        ({"messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {
            "data": "x", "format": "mp3"}}]}]}, "messages[0]"),
        ({"messages": [{"role": "tool", "content": "x"}]}, "messages[0].tool_call_id"),
    ]:
        with pytest.raises(CompatError) as info:
            T.build_request({"messages": [{"role": "user", "content": "x"}], **body}, MODEL)
        assert info.value.param == param


def test_auth_header_is_the_bearer_token() -> None:
    assert T.auth_headers("Bearer co-key") == {"authorization": "Bearer co-key"}


def test_response_text() -> None:
    out = T.parse_response(TEXT_ANSWER, MODEL)
    completion = ChatCompletion.model_validate(out)
    assert completion.id == "c14c80c3-18eb-4519-9460-6c92edd8cfb4" and completion.model == MODEL
    assert completion.choices[0].message.content.startswith("LLMs stand for")
    assert completion.choices[0].finish_reason == "stop"
    assert out["usage"] == {"prompt_tokens": 5, "completion_tokens": 418, "total_tokens": 423}


def test_response_tool_call() -> None:
    completion = ChatCompletion.model_validate(T.parse_response(TOOL_ANSWER, MODEL))
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    (call,) = choice.message.tool_calls
    assert call.id == "get_weather_1byjy32y4hvq" and orjson.loads(call.function.arguments) == {"location": "Toronto"}


@pytest.mark.parametrize(
    ("reason", "finish"),
    [("COMPLETE", "stop"), ("STOP_SEQUENCE", "stop"), ("MAX_TOKENS", "length"), ("TOOL_CALL", "tool_calls")],
)
def test_finish_reasons(reason: str, finish: str) -> None:
    assert T.parse_response({**TEXT_ANSWER, "finish_reason": reason}, MODEL)["choices"][0]["finish_reason"] == finish


@pytest.mark.parametrize(("reason", "status"), [("ERROR", 502), ("TIMEOUT", 504)])
def test_failed_generations_are_errors(reason: str, status: int) -> None:
    with pytest.raises(CompatError) as info:
        T.parse_response({**TEXT_ANSWER, "finish_reason": reason}, MODEL)
    assert info.value.status == status
    native = _sse(START, {"type": "message-end", "delta": {"finish_reason": reason}})
    assert chunks(feed_all(T.new_stream(MODEL, False), native, "bytes"))[-1]["error"]["code"] == reason


def test_usage_falls_back_to_tokens() -> None:
    answer = {**TEXT_ANSWER, "usage": {"tokens": {"input_tokens": 71, "output_tokens": 9}}}
    assert T.parse_response(answer, MODEL)["usage"]["prompt_tokens"] == 71
    assert "usage" not in T.parse_response({**TEXT_ANSWER, "usage": {}}, MODEL)


@pytest.mark.parametrize("split", SPLITS)
def test_stream_text(split: str) -> None:
    out = feed_all(T.new_stream(MODEL, True), TEXT_STREAM, split)
    objects = chunks(out)
    assert {o["id"] for o in objects} == {"a8fc192e-4bb8-4e15-ae1f-a174e8b02ae8"}
    assert objects[-1]["usage"] == {"prompt_tokens": 21, "completion_tokens": 105, "total_tokens": 126}
    completion = accumulate(out)
    assert completion.choices[0].message.content == "Coca-Cola is a soft drink \u2603."
    assert completion.choices[0].finish_reason == "stop"


@pytest.mark.parametrize("split", SPLITS)
def test_stream_tool_calls(split: str) -> None:
    completion = accumulate(feed_all(T.new_stream(MODEL, False), TOOL_STREAM, split))
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls" and not choice.message.content
    assert [(c.id, orjson.loads(c.function.arguments)) for c in choice.message.tool_calls] == [
        ("get_weather_nsz5zm3w56q3", {"location": "Madrid"}), ("get_weather_2", {"location": "Brasilia"})]


def test_stream_as_bare_json_lines_and_any_split() -> None:
    ndjson = b"".join(orjson.dumps(e) + b"\n" for e in TEXT_EVENTS)
    outs = [without_created(chunks(feed_all(T.new_stream(MODEL, True), TEXT_STREAM, s))) for s in SPLITS]
    outs.append(without_created(chunks(feed_all(T.new_stream(MODEL, True), ndjson, "bytes"))))
    assert outs[0] == outs[1] == outs[2] == outs[3]


def test_errors() -> None:
    native = b'{"id": "5b6fe0a1-7b5e-4ad2-8f1e-3a0c7a1b2c3d", "message": "invalid request: model \'x\' not found"}'
    assert T.parse_error(404, native) == {"error": {"message": "invalid request: model 'x' not found",
                                                    "type": "not_found_error", "param": None, "code": None}}
    assert T.parse_error(401, b'{"message": "invalid api token"}')["error"]["type"] == "authentication_error"
