"""The official ``openai`` SDK, pointed at a fake ``/compat`` endpoint, reads every family's answers.

The fake endpoint does what the proxy does with a translator: split ``model``, build the native
request, take a canned native answer (JSON, stream or error) and translate it back; the stream is
handed over in 5-byte slices. The SDK runs with strict response validation, so a malformed field
fails the test rather than being tolerated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import httpx2
import openai
import orjson
import pytest
from openai.lib.streaming.chat import ChatCompletionStreamState

from proxy_core.compat import CompatError, NativeRequest, split_model
from proxy_core.providers import ProviderRegistry
from tests.unit import test_compat_anthropic as anthropic_fx
from tests.unit import test_compat_cohere as cohere_fx
from tests.unit import test_compat_google as google_fx
from tests.unit.test_compat_api import OPENAI_ANSWER

REGISTRY = ProviderRegistry({})
Reply = Callable[[NativeRequest], tuple[int, bytes]]


@dataclass
class FakeCompat:
    """A ``/compat/chat/completions`` endpoint over canned upstream replies, one per provider."""

    replies: dict[str, Reply]
    sent: list[tuple[str, NativeRequest, dict[str, str]]] = field(default_factory=list)

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        assert request.url.path == "/compat/chat/completions"
        body = orjson.loads(request.content)
        try:
            provider, model = split_model(body.get("model"))
            translator = REGISTRY.get(provider).family.translator()
            native = translator.build_request(body, model)
        except CompatError as err:
            return httpx2.Response(err.status, json=err.body())
        self.sent.append((provider, native, translator.auth_headers(request.headers.get("authorization"))))
        status, payload = self.replies[provider](native)
        if status >= 400:
            return httpx2.Response(status, json=translator.parse_error(status, payload))
        if native.stream:
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            state = translator.new_stream(model, include_usage)
            out = b"".join(state.feed(payload[i : i + 5]) for i in range(0, len(payload), 5)) + state.finish()
            return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=out)
        try:
            answer = translator.parse_response(orjson.loads(payload), model)
        except CompatError as err:
            return httpx2.Response(err.status, json=err.body())
        return httpx2.Response(200, json=answer)

    def client(self) -> openai.OpenAI:
        http = httpx2.Client(transport=httpx2.MockTransport(self.handle))
        return openai.OpenAI(api_key="sk-client-key", base_url="http://gateway.test/compat", http_client=http,
                             max_retries=0, _strict_response_validation=True)


def _json(answer: dict[str, Any]) -> Reply:
    return lambda native: (200, orjson.dumps(answer))


def _by_stream(answer: dict[str, Any], stream: bytes) -> Reply:
    return lambda native: (200, stream) if native.stream else (200, orjson.dumps(answer))


OPENAI_STREAM = b"".join(
    b"data: " + orjson.dumps(c) + b"\n\n"
    for c in [
        {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini",
         "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]},
        {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini",
         "choices": [{"index": 0, "delta": {"content": "Hi there"}, "finish_reason": None}]},
        {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini",
         "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
    ]
) + b"data: [DONE]\n\n"

TEXT_CASES = [
    ("anthropic/claude-3-5-haiku-latest", "Hello! How can I help you today?", "Hello, caf\u00e9 \u2603!"),
    ("google-ai-studio/gemini-2.0-flash", "Paris is the capital of France.",
     "The capital of France is Paris. \u00e9\u2603"),
    ("cohere/command-a-03-2025", cohere_fx.TEXT_ANSWER["message"]["content"][0]["text"],
     "Coca-Cola is a soft drink \u2603."),
    ("openai/gpt-4o-mini", "Hello!", "Hi there"),
    ("workers-ai/@cf/meta/llama-3.1-8b-instruct", "Hello!", "Hi there"),
]


def _gateway() -> FakeCompat:
    return FakeCompat({
        "anthropic": _by_stream(anthropic_fx.TEXT_ANSWER, anthropic_fx.TEXT_STREAM),
        "google-ai-studio": _by_stream(google_fx.TEXT_ANSWER, google_fx.TEXT_STREAM),
        "cohere": _by_stream(cohere_fx.TEXT_ANSWER, cohere_fx.TEXT_STREAM),
        "openai": _by_stream(OPENAI_ANSWER, OPENAI_STREAM),
        "workers-ai": _by_stream(OPENAI_ANSWER, OPENAI_STREAM),
    })


@pytest.mark.parametrize(("model", "text", "_streamed"), TEXT_CASES)
def test_sdk_reads_a_completion(model: str, text: str, _streamed: str) -> None:
    gateway = _gateway()
    completion = gateway.client().chat.completions.create(
        model=model, messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        max_tokens=50, temperature=0.2, stop=["END"])
    assert completion.choices[0].message.content == text
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None and completion.usage.total_tokens > 0
    provider, native, auth = gateway.sent[0]
    assert provider == model.split("/", 1)[0]
    expected_auth = {"anthropic": {"x-api-key": "sk-client-key"},
                     "google-ai-studio": {"x-goog-api-key": "sk-client-key"}}
    assert auth == expected_auth.get(provider, {"authorization": "Bearer sk-client-key"})


@pytest.mark.parametrize(("model", "_text", "streamed"), TEXT_CASES)
def test_sdk_reads_a_stream(model: str, _text: str, streamed: str) -> None:
    client = _gateway().client()
    state = ChatCompletionStreamState()
    with client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Hi"}], stream=True,
                                        stream_options={"include_usage": True}) as stream:
        received = list(stream)
    for chunk in received:
        state.handle_chunk(chunk)
    final = state.get_final_completion()
    assert final.choices[0].message.content == streamed
    assert final.choices[0].finish_reason == "stop"
    if not model.startswith(("openai/", "workers-ai/")):  # the canned OpenAI stream has no usage chunk
        assert received[-1].choices == [] and received[-1].usage.total_tokens > 0


def _tool_gateway() -> FakeCompat:
    return FakeCompat({
        "anthropic": _by_stream(anthropic_fx.TOOL_ANSWER, anthropic_fx.TOOL_STREAM),
        "google-ai-studio": _by_stream(google_fx.CALL_ANSWER, google_fx.CALL_STREAM),
        "cohere": _by_stream(cohere_fx.TOOL_ANSWER, cohere_fx.TOOL_STREAM),
    })


TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}}}]
TOOL_MODELS = ["anthropic/claude-3-5-sonnet-latest", "google-ai-studio/gemini-2.5-flash", "cohere/command-a-03-2025"]


@pytest.mark.parametrize("model", TOOL_MODELS)
@pytest.mark.parametrize("stream", [False, True])
def test_sdk_tool_call_round_trip(model: str, stream: bool) -> None:
    gateway = _tool_gateway()
    client = gateway.client()
    messages: list[dict[str, Any]] = [{"role": "user", "content": "What's the weather?"}]
    if stream:
        state = ChatCompletionStreamState()
        with client.chat.completions.create(model=model, messages=messages, tools=TOOLS, stream=True) as chunks:
            for chunk in chunks:
                state.handle_chunk(chunk)
        choice = state.get_final_completion().choices[0]
    else:
        choice = client.chat.completions.create(model=model, messages=messages, tools=TOOLS,
                                                tool_choice="required").choices[0]
    assert choice.finish_reason == "tool_calls"
    call = choice.message.tool_calls[0]
    assert call.function.name == "get_weather"
    assert "location" in orjson.loads(call.function.arguments)
    # the second turn: the assistant message as the SDK returned it, then every tool's result
    messages.append(choice.message.model_dump(exclude_none=True, exclude={"parsed"}))
    messages += [{"role": "tool", "tool_call_id": c.id, "content": "18C"} for c in choice.message.tool_calls]
    client.chat.completions.create(model=model, messages=messages, tools=TOOLS)
    second = orjson.loads(gateway.sent[-1][1].body)
    dumped = orjson.dumps(second).decode()
    assert "18C" in dumped and "get_weather" in dumped
    if model.startswith("google"):  # Gemini's thought signature came back on its functionCall part
        call_part = second["contents"][1]["parts"][0]
        assert call_part["functionCall"]["name"] == "get_weather" and call_part["thoughtSignature"]


@pytest.mark.parametrize(
    ("model", "status", "native", "error_class", "message"),
    [
        ("anthropic/claude-9", 404, anthropic_fx.ERROR_BODY, openai.NotFoundError, "model: claude-9"),
        ("google-ai-studio/gemini-2.0-flash", 400,
         b'{"error": {"code": 400, "message": "API key not valid.", "status": "INVALID_ARGUMENT"}}',
         openai.BadRequestError, "API key not valid."),
        ("cohere/command-a-03-2025", 429, b'{"message": "trial key rate limit"}', openai.RateLimitError,
         "trial key rate limit"),
        ("workers-ai/@cf/meta/llama-9", 401,
         b'{"success": false, "errors": [{"code": 10000, "message": "Authentication error"}]}',
         openai.AuthenticationError, "Authentication error"),
    ],
)
def test_sdk_raises_the_mapped_error(model: str, status: int, native: bytes, error_class: type, message: str) -> None:
    provider = model.split("/", 1)[0]
    client = FakeCompat({provider: lambda _native: (status, native)}).client()
    with pytest.raises(error_class) as info:
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Hi"}])
    assert info.value.status_code == status
    assert info.value.message == message or message in str(info.value)


def test_sdk_gets_a_400_for_untranslatable_requests() -> None:
    client = _gateway().client()
    with pytest.raises(openai.BadRequestError, match="'n' must be 1"):
        client.chat.completions.create(model="anthropic/claude", messages=[{"role": "user", "content": "x"}], n=2)
    with pytest.raises(openai.BadRequestError, match=r"\{provider\}/\{model\}"):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])


def test_sdk_raises_on_an_error_inside_a_stream() -> None:
    native = anthropic_fx._sse(anthropic_fx.MESSAGE_START,
                               {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    client = FakeCompat({"anthropic": lambda _n: (200, native)}).client()
    with pytest.raises(openai.APIError, match="Overloaded"):
        for _ in client.chat.completions.create(model="anthropic/claude", stream=True,
                                                messages=[{"role": "user", "content": "x"}]):
            pass


def test_sdk_reads_several_google_candidates() -> None:
    answer = {**google_fx.TEXT_ANSWER, "candidates": [
        {"content": {"parts": [{"text": "One"}], "role": "model"}, "finishReason": "STOP", "index": 0},
        {"content": {"parts": [{"text": "Two"}], "role": "model"}, "finishReason": "STOP", "index": 1}]}
    gateway = FakeCompat({"google-ai-studio": _json(answer)})
    completion = gateway.client().chat.completions.create(
        model="google-ai-studio/gemini-2.0-flash", messages=[{"role": "user", "content": "x"}], n=2)
    assert [c.message.content for c in completion.choices] == ["One", "Two"]
    assert orjson.loads(gateway.sent[0][1].body)["generationConfig"]["candidateCount"] == 2
