"""Each provider family: model type, requested model, and token usage from real response shapes."""

from __future__ import annotations

from typing import Any

import pytest

from proxy_core.providers import FAMILIES, ModelType, ProviderRegistry, Usage

T, E, A, I, U = ModelType.TEXT, ModelType.EMBEDDINGS, ModelType.AUDIO, ModelType.IMAGE, ModelType.UNKNOWN
VERTEX = "/v1/projects/my-proj/locations/us-central1/publishers"


def family(name: str):
    """A family by id, or the family a built-in provider uses (``@cartesia``)."""
    if name.startswith("@"):
        return ProviderRegistry({}).get(name[1:]).family
    return FAMILIES[name]


def from_response(name: str, body: Any) -> Usage:
    usage = Usage()
    family(name).parse_response(body, usage)
    return usage


def from_stream(name: str, events: list[Any]) -> Usage:
    usage = Usage()
    for event in events:
        family(name).parse_stream_chunk(event, usage)
    return usage


def as_tuple(usage: Usage) -> tuple[str | None, int | None, int | None]:
    return usage.model, usage.tokens_in, usage.tokens_out


# -- model_type ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "path", "expected"),
    [
        ("openai", "/chat/completions", T),
        ("openai", "/completions", T),
        ("openai", "/responses", T),
        ("openai", "/embeddings", E),
        ("openai", "/audio/speech", A),
        ("openai", "/audio/transcriptions", A),
        ("openai", "/images/generations", I),
        ("openai", "/moderations", U),
        ("openai", "/models", U),
        ("anthropic", "/v1/messages", T),
        ("anthropic", "/v1/complete", T),
        ("anthropic", "/v1/models", U),
        ("google", "/v1beta/models/gemini-2.0-flash:generateContent", T),
        ("google", "/v1beta/models/gemini-2.0-flash:streamGenerateContent", T),
        ("google", "/v1beta/models/text-embedding-004:embedContent", E),
        ("google", "/v1beta/models/text-embedding-004:batchEmbedContents", E),
        ("google", VERTEX + "/google/models/text-embedding-005:predict", E),
        ("google", VERTEX + "/google/models/gemini-1.5-pro:generateContent", T),
        ("google", "/v1beta/models", U),
        ("cohere", "/v1/chat", T),
        ("cohere", "/v2/chat", T),
        ("cohere", "/v1/generate", T),
        ("cohere", "/v2/embed", E),
        ("cohere", "/v1/rerank", U),
        ("workers-ai", "/@cf/meta/llama-3.1-8b-instruct", T),
        ("workers-ai", "/@cf/meta/llama-3.2-11b-vision-instruct", T),
        ("workers-ai", "/@cf/baai/bge-base-en-v1.5", E),
        ("workers-ai", "/@cf/openai/whisper", A),
        ("workers-ai", "/@cf/myshell-ai/melotts", A),
        ("workers-ai", "/@cf/black-forest-labs/flux-1-schnell", I),
        ("workers-ai", "/@cf/stabilityai/stable-diffusion-xl-base-1.0", I),
        ("workers-ai", "/v1/chat/completions", T),
        ("workers-ai", "/v1/embeddings", E),
        ("workers-ai", "/models/search", U),
        ("bedrock", "/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke", T),
        ("bedrock", "/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke-with-response-stream", T),
        ("bedrock", "/model/amazon.nova-lite-v1%3A0/converse", T),
        ("bedrock", "/model/amazon.nova-lite-v1%3A0/converse-stream", T),
        ("bedrock", "/model/amazon.titan-embed-text-v2:0/invoke", E),
        ("bedrock", "/model/cohere.embed-english-v3/invoke", E),
        ("@cartesia", "/tts/bytes", A),
        ("@cartesia", "/voices", A),
        ("@elevenlabs", "/v1/text-to-speech/JBFqnCBsd6RMkjVDRZzb", A),
        ("@huggingface", "/bigcode/starcoder", U),
        ("@replicate", "/predictions", U),
    ],
)
def test_model_type(name: str, path: str, expected: str) -> None:
    assert family(name).model_type(path) == expected


# -- request_model -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "path", "body", "expected"),
    [
        ("openai", "/chat/completions", {"model": "gpt-4o-mini", "messages": []}, "gpt-4o-mini"),
        ("openai", "/chat/completions", None, None),
        ("openai", "/chat/completions", {"model": 4}, None),
        ("openai", "/chat/completions", ["gpt-4o"], None),
        ("anthropic", "/v1/messages", {"model": "claude-3-5-haiku-20241022", "max_tokens": 10}, "claude-3-5-haiku-20241022"),
        ("anthropic", "/v1/messages", {"max_tokens": 10}, None),
        ("google", "/v1beta/models/gemini-2.0-flash:generateContent", {"contents": []}, "gemini-2.0-flash"),
        ("google", "/v1/models/gemini-1.5-pro:streamGenerateContent", None, "gemini-1.5-pro"),
        ("google", VERTEX + "/google/models/gemini-1.0-pro-001:generateContent", None, "gemini-1.0-pro-001"),
        ("google", VERTEX + "/anthropic/models/claude-3-5-sonnet@20240620:rawPredict", None, "claude-3-5-sonnet@20240620"),
        ("google", "/v1beta/models", None, None),
        ("cohere", "/v2/chat", {"model": "command-r-plus-08-2024", "messages": []}, "command-r-plus-08-2024"),
        ("cohere", "/v1/chat", {"message": "hi"}, None),
        ("workers-ai", "/@cf/meta/llama-3.1-8b-instruct", {"prompt": "hi"}, "@cf/meta/llama-3.1-8b-instruct"),
        ("workers-ai", "/v1/chat/completions", {"model": "@cf/meta/llama-3.1-8b-instruct"}, "@cf/meta/llama-3.1-8b-instruct"),
        ("bedrock", "/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke", {}, "anthropic.claude-3-haiku-20240307-v1:0"),
        ("bedrock", "/model/amazon.nova-lite-v1:0/converse", None, "amazon.nova-lite-v1:0"),
        ("bedrock", "/guardrail/abc/version/1/apply", None, None),
        ("@elevenlabs", "/v1/text-to-speech/JBFqnCBsd6RMkjVDRZzb", {"model_id": "eleven_multilingual_v2"}, "eleven_multilingual_v2"),
        ("@cartesia", "/tts/bytes", {"model_id": "sonic-2", "transcript": "hi"}, "sonic-2"),
        ("@replicate", "/predictions", {"version": "5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa"},
         "5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa"),
        ("@replicate", "/predictions", {"input": {}}, None),
        ("@huggingface", "/bigcode/starcoder", {"inputs": "def f():"}, "bigcode/starcoder"),
        ("@huggingface", "", None, None),
    ],
)  # fmt: skip
def test_request_model(name: str, path: str, body: Any, expected: str | None) -> None:
    assert family(name).request_model(path, body) == expected


# -- non-streamed responses ----------------------------------------------------------------------

OPENAI_CHAT = {
    "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
    "object": "chat.completion",
    "created": 1741570283,
    "model": "gpt-4o-2024-08-06",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}],
    "usage": {
        "prompt_tokens": 1117,
        "completion_tokens": 46,
        "total_tokens": 1163,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    },
    "system_fingerprint": "fp_fc9f1d7035",
}
OPENAI_EMBEDDINGS = {
    "object": "list",
    "data": [{"object": "embedding", "index": 0, "embedding": [0.0023, -0.0093]}],
    "model": "text-embedding-3-small",
    "usage": {"prompt_tokens": 8, "total_tokens": 8},
}
OPENAI_RESPONSES = {
    "id": "resp_67ccd2bed1ec8190b14f964abc054267",
    "object": "response",
    "status": "completed",
    "model": "gpt-4.1-2025-04-14",
    "output": [{"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Hi"}]}],
    "usage": {
        "input_tokens": 36,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 87,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 123,
    },
}
ANTHROPIC_MESSAGE = {
    "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
    "type": "message",
    "role": "assistant",
    "model": "claude-3-5-haiku-20241022",
    "content": [{"type": "text", "text": "Hello!"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 2095, "output_tokens": 503, "cache_creation_input_tokens": 2051, "cache_read_input_tokens": 0},
}
GEMINI = {
    "candidates": [{"content": {"parts": [{"text": "Hi"}], "role": "model"}, "finishReason": "STOP", "index": 0}],
    "usageMetadata": {
        "promptTokenCount": 8,
        "candidatesTokenCount": 12,
        "totalTokenCount": 20,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 8}],
    },
    "modelVersion": "gemini-2.0-flash",
    "responseId": "BzXQaL2QC5bXnvgPz5W0sQU",
}
GEMINI_THINKING = {
    "candidates": [{"content": {"parts": [{"text": "42"}], "role": "model"}, "finishReason": "STOP"}],
    "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 50, "thoughtsTokenCount": 100, "totalTokenCount": 160},
    "modelVersion": "gemini-2.5-flash",
}
COHERE_V1_CHAT = {
    "response_id": "c14c80c3-18eb-4519-9460-6c92edd8cfb4",
    "text": "LLMs are ...",
    "generation_id": "9b28b6b2-3f1d-43ad-9d53-7d1fc2bcf3c9",
    "finish_reason": "COMPLETE",
    "meta": {
        "api_version": {"version": "1"},
        "billed_units": {"input_tokens": 17, "output_tokens": 29},
        "tokens": {"input_tokens": 83, "output_tokens": 29},
    },
}
COHERE_V2_CHAT = {
    "id": "c14c80c3-18eb-4519-9460-6c92edd8cfb4",
    "message": {"role": "assistant", "content": [{"type": "text", "text": "LLMs are ..."}]},
    "finish_reason": "COMPLETE",
    "usage": {"billed_units": {"input_tokens": 5, "output_tokens": 418}, "tokens": {"input_tokens": 71, "output_tokens": 418}},
}
COHERE_EMBED = {
    "id": "da6e531f-1e3c-4c4b-bb0d-5e86b5a1d8f4",
    "embeddings": [[0.016296387, -0.008354187]],
    "texts": ["hello"],
    "meta": {"api_version": {"version": "1"}, "billed_units": {"input_tokens": 2}},
}
WORKERS_AI_RUN = {
    "result": {"response": "Hello", "usage": {"prompt_tokens": 21, "completion_tokens": 34, "total_tokens": 55}},
    "success": True,
    "errors": [],
    "messages": [],
}
WORKERS_AI_COMPAT = {
    "id": "id-1741570283",
    "object": "chat.completion",
    "created": 1741570283,
    "model": "@cf/meta/llama-3.1-8b-instruct",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17},
}
WORKERS_AI_EMBEDDING = {
    "result": {"shape": [1, 768], "data": [[0.1, 0.2]], "pooling": "mean"},
    "success": True,
    "errors": [],
    "messages": [],
}
BEDROCK_CONVERSE = {
    "output": {"message": {"role": "assistant", "content": [{"text": "Hello"}]}},
    "stopReason": "end_turn",
    "usage": {"inputTokens": 30, "outputTokens": 628, "totalTokens": 658},
    "metrics": {"latencyMs": 1275},
}
BEDROCK_INVOKE_CLAUDE = {
    "id": "msg_bdrk_01Hz9W5P4LgSyyumHEGdZtg1",
    "type": "message",
    "role": "assistant",
    "model": "claude-3-haiku-20240307",
    "content": [{"type": "text", "text": "Hi"}],
    "stop_reason": "end_turn",
    "usage": {"input_tokens": 12, "output_tokens": 6},
}


@pytest.mark.parametrize(
    ("name", "body", "expected"),
    [
        ("openai", OPENAI_CHAT, ("gpt-4o-2024-08-06", 1117, 46)),
        ("openai", OPENAI_EMBEDDINGS, ("text-embedding-3-small", 8, 0)),
        ("openai", OPENAI_RESPONSES, ("gpt-4.1-2025-04-14", 36, 87)),
        ("openai", {"error": {"message": "Rate limit", "type": "requests", "code": "rate_limit_exceeded"}}, (None, None, None)),
        ("openai", {"model": "gpt-4o", "usage": {"prompt_tokens": "12", "completion_tokens": True}}, ("gpt-4o", None, None)),
        ("anthropic", ANTHROPIC_MESSAGE, ("claude-3-5-haiku-20241022", 2095 + 2051, 503)),
        ("anthropic", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, (None, None, None)),
        ("google", GEMINI, ("gemini-2.0-flash", 8, 12)),
        ("google", GEMINI_THINKING, ("gemini-2.5-flash", 10, 150)),
        ("google", {"embedding": {"values": [0.013, -0.008]}}, (None, None, None)),
        ("google", {"usageMetadata": {"promptTokenCount": 7, "totalTokenCount": 7}}, (None, 7, 0)),
        ("cohere", COHERE_V1_CHAT, (None, 17, 29)),
        ("cohere", COHERE_V2_CHAT, (None, 5, 418)),
        ("cohere", COHERE_EMBED, (None, 2, 0)),
        ("workers-ai", WORKERS_AI_RUN, (None, 21, 34)),
        ("workers-ai", WORKERS_AI_COMPAT, ("@cf/meta/llama-3.1-8b-instruct", 12, 5)),
        ("workers-ai", WORKERS_AI_EMBEDDING, (None, None, None)),
        ("workers-ai", {"result": None, "success": False, "errors": [{"code": 5006, "message": "bad"}]}, (None, None, None)),
        ("bedrock", BEDROCK_CONVERSE, (None, 30, 628)),
        ("bedrock", BEDROCK_INVOKE_CLAUDE, (None, 12, 6)),
        ("bedrock", {"embedding": [0.1], "inputTextTokenCount": 5}, (None, None, None)),
        ("generic", {"usage": {"prompt_tokens": 3, "completion_tokens": 4}}, (None, None, None)),
    ],
)  # fmt: skip
def test_parse_response(name: str, body: Any, expected: tuple) -> None:
    assert as_tuple(from_response(name, body)) == expected


@pytest.mark.parametrize("name", sorted(FAMILIES))
@pytest.mark.parametrize("body", [None, "text", 12, [], b"bytes"])
def test_non_objects_leave_usage_empty(name: str, body: Any) -> None:
    assert as_tuple(from_response(name, body)) == (None, None, None)
    assert as_tuple(from_stream(name, [body])) == (None, None, None)


# -- streams -------------------------------------------------------------------------------------


def openai_chunk(content: str | None, usage: dict | None = None, *, finish: str | None = None) -> dict:
    choices = [] if content is None else [{"index": 0, "delta": {"content": content}, "finish_reason": finish}]
    return {
        "id": "chatcmpl-123",
        "object": "chat.completion.chunk",
        "created": 1694268190,
        "model": "gpt-4o-mini-2024-07-18",
        "system_fingerprint": "fp_44709d6fcb",
        "choices": choices,
        "usage": usage,
    }


OPENAI_CHAT_STREAM = [
    openai_chunk(""),
    openai_chunk("Hello"),
    openai_chunk("!", finish="stop"),
    openai_chunk(None, {"prompt_tokens": 9, "completion_tokens": 12, "total_tokens": 21}),
]
OPENAI_RESPONSES_STREAM = [
    {"type": "response.created", "sequence_number": 0,
     "response": {"id": "resp_1", "object": "response", "status": "in_progress", "model": "gpt-4.1-2025-04-14", "usage": None}},
    {"type": "response.in_progress", "sequence_number": 1,
     "response": {"id": "resp_1", "object": "response", "status": "in_progress", "model": "gpt-4.1-2025-04-14", "usage": None}},
    {"type": "response.output_text.delta", "sequence_number": 4, "item_id": "msg_1", "output_index": 0, "content_index": 0, "delta": "Hi"},
    {"type": "response.completed", "sequence_number": 9,
     "response": {"id": "resp_1", "object": "response", "status": "completed", "model": "gpt-4.1-2025-04-14",
                  "usage": {"input_tokens": 37, "output_tokens": 11, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 48}}},
]  # fmt: skip
ANTHROPIC_STREAM = [
    {"type": "message_start", "message": {
        "id": "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", "type": "message", "role": "assistant", "content": [],
        "model": "claude-sonnet-4-20250514", "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": 25, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 10, "output_tokens": 1}}},
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "ping"},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}},
    {"type": "content_block_stop", "index": 0},
    {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": {"output_tokens": 15}},
    {"type": "message_stop"},
]  # fmt: skip
GEMINI_STREAM = [
    {"candidates": [{"content": {"parts": [{"text": "The"}], "role": "model"}}],
     "usageMetadata": {"promptTokenCount": 8, "totalTokenCount": 8}, "modelVersion": "gemini-2.0-flash"},
    {"candidates": [{"content": {"parts": [{"text": " sky"}], "role": "model"}}],
     "usageMetadata": {"promptTokenCount": 8, "candidatesTokenCount": 3, "totalTokenCount": 11}, "modelVersion": "gemini-2.0-flash"},
    {"candidates": [{"content": {"parts": [{"text": " is blue."}], "role": "model"}, "finishReason": "STOP"}],
     "usageMetadata": {"promptTokenCount": 8, "candidatesTokenCount": 25, "totalTokenCount": 33}, "modelVersion": "gemini-2.0-flash"},
]  # fmt: skip
COHERE_V1_STREAM = [
    {"is_finished": False, "event_type": "stream-start", "generation_id": "ea9e1d2b-7c34-4b5e-8d0c-8d5d8bd3a6b1"},
    {"is_finished": False, "event_type": "text-generation", "text": "Hello"},
    {"is_finished": True, "event_type": "stream-end", "finish_reason": "COMPLETE",
     "response": {"response_id": "r1", "text": "Hello", "generation_id": "g1",
                  "meta": {"api_version": {"version": "1"}, "billed_units": {"input_tokens": 3, "output_tokens": 9},
                           "tokens": {"input_tokens": 69, "output_tokens": 9}}}},
]  # fmt: skip
COHERE_V2_STREAM = [
    {"type": "message-start", "id": "29f14a5a", "delta": {"message": {"role": "assistant", "content": []}}},
    {"type": "content-start", "index": 0, "delta": {"message": {"content": {"type": "text", "text": ""}}}},
    {"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": "Hello"}}}},
    {"type": "content-end", "index": 0},
    {"type": "message-end", "delta": {"finish_reason": "COMPLETE",
     "usage": {"billed_units": {"input_tokens": 3, "output_tokens": 2}, "tokens": {"input_tokens": 69, "output_tokens": 2}}}},
]  # fmt: skip
WORKERS_AI_STREAM = [
    {"response": "Hel", "p": "abcdefgh"},
    {"response": "lo", "p": "abc"},
    {"response": "", "usage": {"prompt_tokens": 21, "completion_tokens": 2, "total_tokens": 23}},
]
BEDROCK_CONVERSE_STREAM = [
    {"messageStart": {"role": "assistant"}},
    {"contentBlockDelta": {"delta": {"text": "Hi"}, "contentBlockIndex": 0}},
    {"messageStop": {"stopReason": "end_turn"}},
    {"metadata": {"usage": {"inputTokens": 10, "outputTokens": 20, "totalTokens": 30}, "metrics": {"latencyMs": 500}}},
]


@pytest.mark.parametrize(
    ("name", "events", "expected"),
    [
        ("openai", OPENAI_CHAT_STREAM, ("gpt-4o-mini-2024-07-18", 9, 12)),
        ("openai", OPENAI_CHAT_STREAM[:-1], ("gpt-4o-mini-2024-07-18", None, None)),
        ("openai", OPENAI_RESPONSES_STREAM, ("gpt-4.1-2025-04-14", 37, 11)),
        ("openai", OPENAI_RESPONSES_STREAM[:-1], ("gpt-4.1-2025-04-14", None, None)),
        ("anthropic", ANTHROPIC_STREAM, ("claude-sonnet-4-20250514", 35, 15)),
        ("anthropic", ANTHROPIC_STREAM[:1], ("claude-sonnet-4-20250514", 35, 1)),
        ("google", GEMINI_STREAM, ("gemini-2.0-flash", 8, 25)),
        ("google", GEMINI_STREAM[:1], ("gemini-2.0-flash", 8, 0)),
        ("cohere", COHERE_V1_STREAM, (None, 3, 9)),
        ("cohere", COHERE_V2_STREAM, (None, 3, 2)),
        ("cohere", COHERE_V2_STREAM[:-1], (None, None, None)),
        ("workers-ai", WORKERS_AI_STREAM, (None, 21, 2)),
        ("workers-ai", [openai_chunk("Hi"), openai_chunk(None, {"prompt_tokens": 4, "completion_tokens": 2})],
         ("gpt-4o-mini-2024-07-18", 4, 2)),
        ("bedrock", BEDROCK_CONVERSE_STREAM, (None, 10, 20)),
        ("generic", WORKERS_AI_STREAM, (None, None, None)),
    ],
)  # fmt: skip
def test_parse_stream(name: str, events: list[Any], expected: tuple) -> None:
    assert as_tuple(from_stream(name, events)) == expected


def test_anthropic_message_delta_with_cumulative_input_does_not_replace_message_start() -> None:
    events = [ANTHROPIC_STREAM[0], {"type": "message_delta", "delta": {}, "usage": {"input_tokens": 99, "output_tokens": 7}}]
    assert as_tuple(from_stream("anthropic", events)) == ("claude-sonnet-4-20250514", 35, 7)


def test_anthropic_message_delta_alone_supplies_input_tokens() -> None:
    events = [{"type": "message_delta", "delta": {}, "usage": {"input_tokens": 40, "cache_read_input_tokens": 2, "output_tokens": 7}}]
    assert as_tuple(from_stream("anthropic", events)) == (None, 42, 7)


def test_google_json_array_stream_is_read_as_one_response() -> None:
    assert as_tuple(from_response("google", GEMINI_STREAM)) == ("gemini-2.0-flash", 8, 25)


# -- usage from headers --------------------------------------------------------------------------


def from_headers(name: str, headers: dict[str, str], usage: Usage | None = None) -> Usage:
    usage = usage or Usage()
    family(name).parse_headers(headers, usage)
    return usage


def test_bedrock_token_count_headers() -> None:
    headers = {
        "x-amzn-bedrock-input-token-count": "12",
        "x-amzn-bedrock-output-token-count": "6",
        "x-amzn-bedrock-invocation-latency": "312",
    }
    assert as_tuple(from_headers("bedrock", headers)) == (None, 12, 6)


@pytest.mark.parametrize("value", ["", "abc", "-3", "1.5"])
def test_bedrock_ignores_non_numeric_token_headers(value: str) -> None:
    headers = {"x-amzn-bedrock-input-token-count": value, "x-amzn-bedrock-output-token-count": value}
    assert as_tuple(from_headers("bedrock", headers, Usage(tokens_in=1, tokens_out=2))) == (None, 1, 2)


@pytest.mark.parametrize("name", [n for n in sorted(FAMILIES) if n != "bedrock"])
def test_other_families_ignore_bedrock_headers(name: str) -> None:
    headers = {"x-amzn-bedrock-input-token-count": "12", "x-amzn-bedrock-output-token-count": "6"}
    assert as_tuple(from_headers(name, headers)) == (None, None, None)


def test_family_ids_match_registry_keys() -> None:
    assert all(fam.id == key for key, fam in FAMILIES.items())
