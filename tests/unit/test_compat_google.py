"""OpenAI chat completions ⇄ Google ``generateContent`` (AI Studio and Vertex AI).

Native fixtures follow the Gemini API reference (``GenerateContentResponse``, ``usageMetadata``,
``streamGenerateContent?alt=sse`` events separated by ``\\r\\n\\r\\n``, function calling with thought
signatures).
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from openai.types.chat import ChatCompletion

from proxy_core.compat import CompatError
from proxy_core.providers import ProviderRegistry
from proxy_core.providers.google.compat import SIGNATURE_MARK
from tests.unit.test_compat_api import SPLITS, accumulate, chunks, feed_all, without_created

T = ProviderRegistry({}).get("google-ai-studio").family.translator()
MODEL = "gemini-2.0-flash"
VERTEX_MODEL = "projects/my-proj/locations/us-central1/publishers/google/models/gemini-2.0-flash"

TEXT_ANSWER: dict[str, Any] = {
    "candidates": [{
        "content": {"parts": [{"text": "Paris is the capital of France."}], "role": "model"},
        "finishReason": "STOP",
        "avgLogprobs": -0.0123,
        "safetyRatings": [{"category": "HARM_CATEGORY_HATE_SPEECH", "probability": "NEGLIGIBLE"}],
    }],
    "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 8, "totalTokenCount": 17,
                      "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 9}]},
    "modelVersion": "gemini-2.0-flash",
    "responseId": "mK1qaJ7mBNe2nvgP8ZOg2Qo",
}

CALL_ANSWER: dict[str, Any] = {
    "candidates": [{
        "content": {"parts": [
            {"functionCall": {"name": "get_weather", "args": {"location": "Boston, MA"}},
             "thoughtSignature": "CiIBVKhc7oDnM+fKx/Q=="},
            {"functionCall": {"name": "get_time", "args": {"tz": "EST"}}},
        ], "role": "model"},
        "finishReason": "STOP",
        "index": 0,
    }],
    "usageMetadata": {"promptTokenCount": 57, "candidatesTokenCount": 15, "totalTokenCount": 128,
                      "thoughtsTokenCount": 56},
    "modelVersion": "gemini-2.5-flash",
    "responseId": "Vz1qaNuVN_-1nvgPt5u_yAk",
}


def _sse(*events: dict[str, Any]) -> bytes:
    return b"".join(b"data: " + orjson.dumps(e) + b"\r\n\r\n" for e in events)


def _chunk(parts: list[dict], finish: str | None = None, usage: dict | None = None) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    return {"candidates": [candidate],
            "usageMetadata": usage or {"promptTokenCount": 8, "totalTokenCount": 8},
            "modelVersion": "gemini-2.0-flash", "responseId": "RSP-1"}


TEXT_STREAM = _sse(
    _chunk([{"text": "The"}]),
    _chunk([{"text": " capital of France"}]),
    _chunk([{"text": " is Paris. \u00e9\u2603"}], "STOP",
           {"promptTokenCount": 8, "candidatesTokenCount": 7, "totalTokenCount": 15}),
)
CALL_STREAM = _sse(
    _chunk([{"text": "Thinking...", "thought": True}]),
    _chunk([{"functionCall": {"name": "get_weather", "args": {"location": "Boston, MA"}},
             "thoughtSignature": "SIGabc+/="}], "STOP",
           {"promptTokenCount": 57, "candidatesTokenCount": 15, "totalTokenCount": 128, "thoughtsTokenCount": 56}),
)


def _native(body: dict[str, Any], translator: Any = T, model: str = MODEL) -> tuple[str, dict[str, Any]]:
    request = translator.build_request(body, model)
    return request.path, orjson.loads(request.body)


WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather",
    "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"],
                   "additionalProperties": False}}}


def test_request_system_multi_turn_and_generation_config() -> None:
    path, native = _native({
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello."},
            {"role": "user", "content": [
                {"type": "text", "text": "Describe"},
                {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ"}},
                {"type": "image_url", "image_url": {"url": "https://x.test/cat.png?size=2"}},
                {"type": "input_audio", "input_audio": {"data": "UklGR", "format": "wav"}},
                {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBER", "filename": "a.pdf"}},
            ]},
        ],
        "temperature": 0.5, "top_p": 0.8, "max_tokens": 100, "stop": ["\n\n", "END"], "n": 2, "seed": 3,
        "presence_penalty": 0.1, "frequency_penalty": 0.2, "response_format": {"type": "json_object"},
    })
    assert path == "/v1beta/models/gemini-2.0-flash:generateContent"
    assert native == {
        "systemInstruction": {"parts": [{"text": "You are terse."}]},
        "contents": [
            {"role": "user", "parts": [{"text": "Hi"}]},
            {"role": "model", "parts": [{"text": "Hello."}]},
            {"role": "user", "parts": [
                {"text": "Describe"},
                {"inlineData": {"mimeType": "image/jpeg", "data": "/9j/4AAQ"}},
                {"fileData": {"mimeType": "image/png", "fileUri": "https://x.test/cat.png?size=2"}},
                {"inlineData": {"mimeType": "audio/wav", "data": "UklGR"}},
                {"inlineData": {"mimeType": "application/pdf", "data": "JVBER"}},
            ]},
        ],
        "generationConfig": {
            "temperature": 0.5, "topP": 0.8, "maxOutputTokens": 100, "seed": 3, "presencePenalty": 0.1,
            "frequencyPenalty": 0.2, "stopSequences": ["\n\n", "END"], "candidateCount": 2,
            "responseMimeType": "application/json",
        },
    }


def test_request_stream_path_and_json_schema() -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}}
    request = T.build_request({"messages": [{"role": "user", "content": "x"}], "stream": True,
                               "response_format": {"type": "json_schema",
                                                   "json_schema": {"name": "C", "schema": schema}}}, "models/" + MODEL)
    assert request.path == "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse" and request.stream
    config = orjson.loads(request.body)["generationConfig"]
    assert config == {"responseMimeType": "application/json", "responseJsonSchema": schema}


def test_request_tools_and_the_tool_loop() -> None:
    call_id = "call_1" + SIGNATURE_MARK + "SIGabc+/="
    _, native = _native({
        "messages": [
            {"role": "user", "content": "Weather in Boston?"},
            {"role": "assistant", "content": "Checking.", "tool_calls": [
                {"id": call_id, "type": "function",
                 "function": {"name": "get_weather", "arguments": "{\"location\": \"Boston\"}"}},
                {"id": "call_2", "type": "function", "function": {"name": "now", "arguments": "{}"}},
            ]},
            {"role": "tool", "tool_call_id": call_id, "content": "{\"temp_c\": 18}"},
            {"role": "tool", "tool_call_id": "call_2", "content": "9am"},
        ],
        "tools": [WEATHER_TOOL, {"type": "function", "function": {"name": "now", "parameters": {
            "type": "object", "properties": {}}}}],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
    })
    assert native["tools"] == [{"functionDeclarations": [
        {"name": "get_weather", "description": "Current weather",
         "parametersJsonSchema": WEATHER_TOOL["function"]["parameters"]},
        {"name": "now"},
    ]}]
    assert native["toolConfig"] == {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}}
    assert native["contents"][1] == {"role": "model", "parts": [
        {"text": "Checking."},
        {"functionCall": {"name": "get_weather", "args": {"location": "Boston"}}, "thoughtSignature": "SIGabc+/="},
        {"functionCall": {"name": "now", "args": {}}},
    ]}
    assert native["contents"][2] == {"role": "user", "parts": [
        {"functionResponse": {"name": "get_weather", "response": {"temp_c": 18}}},
        {"functionResponse": {"name": "now", "response": {"result": "9am"}}},
    ]}


@pytest.mark.parametrize(("choice", "mode"), [("auto", "AUTO"), ("none", "NONE"), ("required", "ANY")])
def test_request_tool_choice(choice: str, mode: str) -> None:
    _, native = _native({"messages": [{"role": "user", "content": "x"}], "tools": [WEATHER_TOOL],
                         "tool_choice": choice})
    assert native["toolConfig"] == {"functionCallingConfig": {"mode": mode}}


def test_request_rejections() -> None:
    with pytest.raises(CompatError, match="matches no earlier"):
        T.build_request({"messages": [{"role": "user", "content": "x"},
                                      {"role": "tool", "tool_call_id": "nope", "content": "1"}]}, MODEL)
    with pytest.raises(CompatError, match="matches no earlier"):
        T.build_request({"messages": [{"role": "user", "content": "x"},
                                      {"role": "tool", "tool_call_id": {"not": "hashable"}, "content": "1"}]}, MODEL)
    for bad in ("models/../secrets", "gemini?x=1", "a/b"):
        with pytest.raises(CompatError, match="model"):
            T.build_request({"messages": [{"role": "user", "content": "x"}]}, bad)
    with pytest.raises(CompatError, match="file_data"):
        T.build_request({"messages": [{"role": "user", "content": [
            {"type": "file", "file": {"file_id": "file-abc"}}]}]}, MODEL)


def test_vertex_paths_and_auth() -> None:
    vertex = ProviderRegistry({}).get("google-vertex-ai").family.translator()
    path, _ = _native({"messages": [{"role": "user", "content": "x"}]}, vertex, VERTEX_MODEL)
    assert path == f"/v1/{VERTEX_MODEL}:generateContent"
    assert vertex.auth_headers("Bearer ya29.token") == {"authorization": "Bearer ya29.token"}
    with pytest.raises(CompatError, match="projects/P"):
        vertex.build_request({"messages": [{"role": "user", "content": "x"}]}, "gemini-2.0-flash")
    assert T.auth_headers("Bearer AIzaSy") == {"x-goog-api-key": "AIzaSy"}


def test_response_text() -> None:
    out = T.parse_response(TEXT_ANSWER, MODEL)
    completion = ChatCompletion.model_validate(out)
    assert completion.id == "mK1qaJ7mBNe2nvgP8ZOg2Qo" and completion.model == "gemini-2.0-flash"
    assert completion.choices[0].message.content == "Paris is the capital of France."
    assert completion.choices[0].finish_reason == "stop"
    assert out["usage"] == {"prompt_tokens": 9, "completion_tokens": 8, "total_tokens": 17}


def test_response_function_calls_carry_the_thought_signature() -> None:
    out = T.parse_response(CALL_ANSWER, MODEL)
    completion = ChatCompletion.model_validate(out)
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    first, second = choice.message.tool_calls
    assert first.id.startswith("call_") and first.id.endswith(SIGNATURE_MARK + "CiIBVKhc7oDnM+fKx/Q==")
    assert SIGNATURE_MARK not in second.id
    assert orjson.loads(first.function.arguments) == {"location": "Boston, MA"}
    assert out["usage"] == {"prompt_tokens": 57, "completion_tokens": 71, "total_tokens": 128,
                            "completion_tokens_details": {"reasoning_tokens": 56}}
    # the client sends the assistant message back: the signature returns to its functionCall part
    message = choice.message.model_dump(exclude_none=True)
    _, native = _native({"messages": [{"role": "user", "content": "x"}, message,
                                      {"role": "tool", "tool_call_id": first.id, "content": "18C"},
                                      {"role": "tool", "tool_call_id": second.id, "content": "9am"}]})
    assert native["contents"][1]["parts"][0]["thoughtSignature"] == "CiIBVKhc7oDnM+fKx/Q=="
    assert "thoughtSignature" not in native["contents"][1]["parts"][1]


@pytest.mark.parametrize(
    ("reason", "finish"),
    [("STOP", "stop"), ("MAX_TOKENS", "length"), ("SAFETY", "content_filter"), ("RECITATION", "content_filter"),
     ("PROHIBITED_CONTENT", "content_filter"), ("BLOCKLIST", "content_filter"), ("SPII", "content_filter"),
     ("OTHER", "stop"), ("MALFORMED_FUNCTION_CALL", "stop"), (None, "stop")],
)
def test_finish_reasons(reason: str | None, finish: str) -> None:
    candidate = {**TEXT_ANSWER["candidates"][0], "finishReason": reason}
    assert T.parse_response({**TEXT_ANSWER, "candidates": [candidate]}, MODEL)["choices"][0]["finish_reason"] == finish


def test_blocked_prompt_and_several_candidates() -> None:
    blocked = {"promptFeedback": {"blockReason": "SAFETY", "safetyRatings": []},
               "usageMetadata": {"promptTokenCount": 7, "totalTokenCount": 7}, "modelVersion": "gemini-2.0-flash"}
    out = T.parse_response(blocked, MODEL)
    ChatCompletion.model_validate(out)
    assert out["choices"][0]["finish_reason"] == "content_filter"
    assert out["usage"] == {"prompt_tokens": 7, "completion_tokens": 0, "total_tokens": 7}
    two = {**TEXT_ANSWER, "candidates": [
        {"content": {"parts": [{"text": "B"}], "role": "model"}, "finishReason": "STOP", "index": 1},
        {"content": {"parts": [{"text": "A"}], "role": "model"}, "finishReason": "MAX_TOKENS", "index": 0}]}
    choices = ChatCompletion.model_validate(T.parse_response(two, MODEL)).choices
    assert [(c.index, c.message.content, c.finish_reason) for c in choices] == [(0, "A", "length"), (1, "B", "stop")]


@pytest.mark.parametrize("split", SPLITS)
def test_stream_text(split: str) -> None:
    out = feed_all(T.new_stream(MODEL, True), TEXT_STREAM, split)
    objects = chunks(out)
    assert {o["id"] for o in objects} == {"RSP-1"}
    assert objects[-1]["usage"] == {"prompt_tokens": 8, "completion_tokens": 7, "total_tokens": 15}
    completion = accumulate(out)
    assert completion.choices[0].message.content == "The capital of France is Paris. \u00e9\u2603"
    assert completion.choices[0].finish_reason == "stop"


@pytest.mark.parametrize("split", SPLITS)
def test_stream_function_call(split: str) -> None:
    out = feed_all(T.new_stream(MODEL, False), CALL_STREAM, split)
    completion = accumulate(out)
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert not choice.message.content  # the thought part is not returned
    (call,) = choice.message.tool_calls
    assert call.id.endswith(SIGNATURE_MARK + "SIGabc+/=") and call.function.name == "get_weather"
    assert orjson.loads(call.function.arguments) == {"location": "Boston, MA"}


def test_stream_same_whatever_the_split_and_lf_only() -> None:
    outs = [without_created(chunks(feed_all(T.new_stream(MODEL, True), TEXT_STREAM, s))) for s in SPLITS]
    lf_only = TEXT_STREAM.replace(b"\r\n", b"\n")
    outs.append(without_created(chunks(feed_all(T.new_stream(MODEL, True), lf_only, "bytes"))))
    assert outs[0] == outs[1] == outs[2] == outs[3]


def test_stream_error_and_blocked_prompt() -> None:
    error = _sse(_chunk([{"text": "Hi"}]),
                 {"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}})
    objects = chunks(feed_all(T.new_stream(MODEL, False), error, "sevens"))
    assert objects[-1] == {"error": {"message": "The model is overloaded.", "type": "api_error", "param": None,
                                     "code": "UNAVAILABLE"}}
    blocked = _sse({"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"},
                    "usageMetadata": {"promptTokenCount": 4, "totalTokenCount": 4}})
    completion = accumulate(feed_all(T.new_stream(MODEL, True), blocked, "whole"), snapshot=True)
    assert completion.choices[0].finish_reason == "content_filter"
    assert completion.usage.prompt_tokens == 4


def test_errors() -> None:
    native = (b'{"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.", '
              b'"status": "INVALID_ARGUMENT", "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", '
              b'"reason": "API_KEY_INVALID"}]}}')
    assert T.parse_error(400, native) == {"error": {
        "message": "API key not valid. Please pass a valid API key.", "type": "invalid_request_error",
        "param": None, "code": "INVALID_ARGUMENT"}}
    as_array = b'[{"error": {"code": 404, "message": "models/gemini-9 is not found", "status": "NOT_FOUND"}}]'
    assert T.parse_error(404, as_array)["error"]["type"] == "not_found_error"
    assert T.parse_error(429, b"Resource exhausted")["error"]["type"] == "rate_limit_error"
