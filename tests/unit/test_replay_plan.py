"""Planning a replay (pure): routes, model swaps, where the operator's key goes, the replay mark,
and each family's native request read back into OpenAI's shape."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from proxy_core.compat import CompatError
from proxy_core.providers import ProviderRegistry
from proxy_core.replay import LoggedRequest, ReplayRefused, ReplayTarget, answer_text, plan_replay
from proxy_core.providers.registry import FAMILIES

REGISTRY = ProviderRegistry({})


def logged(provider: str, path: str, body: dict[str, Any], *, model: str | None = None, **extra: Any) -> LoggedRequest:
    headers = extra.pop("headers", {"content-type": "application/json", "authorization": "[REDACTED]"})
    return LoggedRequest("01LOG", provider, model or body.get("model"), path, "POST", headers, orjson.dumps(body),
                         extra.pop("metadata", None))  # fmt: skip


def test_same_provider_swaps_the_model_in_the_body_and_puts_the_key_where_the_credential_was() -> None:
    plan = plan_replay(
        REGISTRY, logged("openai", "/chat/completions", {"model": "gpt-4o-mini", "messages": []}),
        ReplayTarget("openai", "gpt-4o"), api_key="sk-1", fresh=True,
    )  # fmt: skip
    assert plan.route == "provider" and plan.path == "/openai/chat/completions"
    assert orjson.loads(plan.body)["model"] == "gpt-4o"
    assert plan.headers["authorization"] == "Bearer sk-1" and plan.headers["cf-aig-skip-cache"] == "true"
    assert orjson.loads(plan.headers["cf-aig-metadata"]) == {"replay_of": "01LOG"}
    assert plan.headers["cf-aig-collect-log"] == "true"


def test_same_provider_swaps_a_model_named_in_the_path_and_a_redacted_query_key() -> None:
    request = logged(
        "google-ai-studio", "/v1beta/models/gemini-1.5-flash:generateContent?key=[REDACTED]&alt=json",
        {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}, model="gemini-1.5-flash",
        headers={"content-type": "application/json"},
    )  # fmt: skip
    plan = plan_replay(REGISTRY, request, ReplayTarget("google-ai-studio", "gemini-2.0-flash"), api_key="g-key", fresh=False)
    assert plan.path == "/google-ai-studio/v1beta/models/gemini-2.0-flash:generateContent?key=g-key&alt=json"
    assert "cf-aig-skip-cache" not in plan.headers


def test_without_a_key_redacted_credentials_are_left_out() -> None:
    request = logged("anthropic", "/v1/messages", {"model": "c", "messages": []},
                     headers={"x-api-key": "[REDACTED]", "anthropic-version": "2023-06-01", "cf-aig-event-id": "e"})
    plan = plan_replay(REGISTRY, request, ReplayTarget("anthropic", "c"), api_key=None, fresh=True)
    assert "x-api-key" not in plan.headers and plan.headers["anthropic-version"] == "2023-06-01"
    assert "cf-aig-event-id" not in plan.headers


def test_the_mark_keeps_the_original_metadata_up_to_five_entries_and_points_at_the_direct_parent() -> None:
    metadata = {"replay_of": "01OLDER", "a": 1, "b": 2, "c": 3, "d": 4, "e": 5}
    plan = plan_replay(REGISTRY, logged("openai", "/chat/completions", {"model": "m", "messages": []}, metadata=metadata),
                       ReplayTarget("openai", "m"), api_key=None, fresh=True)  # fmt: skip
    assert orjson.loads(plan.headers["cf-aig-metadata"]) == {"replay_of": "01LOG", "a": 1, "b": 2, "c": 3, "d": 4}


def test_another_provider_goes_through_compat_with_the_request_in_openai_shape() -> None:
    request = logged("anthropic", "/v1/messages", {
        "model": "claude", "max_tokens": 64, "system": [{"type": "text", "text": "Be brief."}], "stop_sequences": ["x"],
        "messages": [{"role": "user", "content": "one"}, {"role": "assistant", "content": [{"type": "text", "text": "two"}]}],
    })  # fmt: skip
    plan = plan_replay(REGISTRY, request, ReplayTarget("groq", "llama-3.1-8b-instant"), api_key="gk", fresh=True)
    assert plan.route == "compat" and plan.path == "/compat/chat/completions"
    assert orjson.loads(plan.body) == {
        "model": "groq/llama-3.1-8b-instant", "max_tokens": 64, "stop": ["x"],
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "one"},
                     {"role": "assistant", "content": "two"}],
    }  # fmt: skip
    assert plan.headers["authorization"] == "Bearer gk"


@pytest.mark.parametrize(
    ("provider", "path", "body", "message"),
    [
        ("anthropic", "/v1/messages",
         {"messages": [{"role": "user", "content": [{"type": "image", "source": {}}]}]}, "'image' part"),
        ("aws-bedrock", "/model/x/converse", {"messages": []}, "cannot be translated"),
        ("openai", "/embeddings", {"model": "e", "input": "x"}, "only chat requests"),
    ],
)
def test_what_cannot_be_carried_across_formats_is_refused_by_name(
    provider: str, path: str, body: dict[str, Any], message: str
) -> None:
    with pytest.raises(ReplayRefused, match=message):
        plan_replay(REGISTRY, logged(provider, path, body, model="m"), ReplayTarget("mistral", "m"), api_key=None, fresh=True)


def test_providers_whose_log_lacks_path_segments_replay_only_elsewhere() -> None:
    request = logged("azure-openai", "/chat/completions", {"messages": [{"role": "user", "content": "x"}]}, model="gpt")
    with pytest.raises(ReplayRefused, match="resource"):
        plan_replay(REGISTRY, request, ReplayTarget("azure-openai", "gpt"), api_key=None, fresh=True)


@pytest.mark.parametrize(
    ("provider", "path", "native", "expected"),
    [
        ("google-ai-studio", "/v1beta/models/g:streamGenerateContent?alt=sse",
         {"systemInstruction": {"parts": [{"text": "s"}]}, "generationConfig": {"maxOutputTokens": 5, "topP": 0.5},
          "contents": [{"role": "user", "parts": [{"text": "q"}]}, {"role": "model", "parts": [{"text": "a"}]}]},
         {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "q"},
                       {"role": "assistant", "content": "a"}], "max_tokens": 5, "top_p": 0.5, "stream": True}),
        ("cohere", "/v1/chat",
         {"preamble": "p", "message": "now", "chat_history": [{"role": "USER", "message": "x"}, {"role": "CHATBOT", "message": "y"}]},
         {"messages": [{"role": "system", "content": "p"}, {"role": "user", "content": "x"},
                       {"role": "assistant", "content": "y"}, {"role": "user", "content": "now"}]}),
        ("cohere", "/v2/chat", {"model": "c", "p": 0.9, "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]},
         {"messages": [{"role": "user", "content": "hi"}], "top_p": 0.9}),
        ("workers-ai", "/@cf/meta/llama-3.1-8b-instruct", {"prompt": "tell me", "max_tokens": 9},
         {"messages": [{"role": "user", "content": "tell me"}], "max_tokens": 9}),
    ],
)
def test_each_family_reads_its_native_request_back(provider: str, path: str, native: dict, expected: dict) -> None:
    translator = REGISTRY.get(provider).family.translator()
    assert translator.openai_request(path, native) == expected


def test_a_request_with_no_turn_left_is_refused() -> None:
    with pytest.raises(CompatError, match="no user or assistant message"):
        REGISTRY.get("anthropic").family.translator().openai_request("/v1/messages", {"system": "s", "messages": []})


def test_answers_are_read_from_json_and_from_stored_streams() -> None:
    stream = (b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
              b'"delta":{"type":"text_delta","text":"Hel"}}\n\ndata: {"type":"content_block_delta","index":0,'
              b'"delta":{"type":"text_delta","text":"lo"}}\n\n')  # fmt: skip
    assert answer_text(FAMILIES["anthropic"], stream, streamed=True) == "Hello"
    body = orjson.dumps({"choices": [{"message": {"content": "an answer"}}]})
    assert answer_text(FAMILIES["openai"], body, streamed=False) == "an answer"
    assert answer_text(FAMILIES["openai"], None, streamed=False) is None
