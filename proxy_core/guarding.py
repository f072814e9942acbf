"""Guardrails on the request path: judge the prompt before it is sent and the response before
(or, for flag-only streams, after) it reaches the client.

What is judged follows the model type: text generation — prompt and response; embeddings and
unknown types — the prompt only. Streaming: when any response category is on ``block`` the
stream is buffered (up to the stored-body limit), judged, then replayed or refused with 2017;
when response categories only ``flag``, the stream flows live and is judged once it has ended,
so the log records the verdict without delaying the client.
"""

from __future__ import annotations

from typing import Any, Mapping

from proxy_core.directory import GatewayConfig
from proxy_core.guardrails import GuardrailEngine, GuardrailOutcome, extract_prompt_texts, extract_response_texts
from proxy_core.guardrails import extract_stream_texts
from proxy_core.logrows import iter_stream_events
from proxy_core.providers.base import ModelType, ProviderFamily

__all__ = ["Guard", "ResponseMode", "merged_log"]


class ResponseMode:
    NONE = "none"
    BUFFER = "buffer"
    """Judge before the client sees anything (some response category is on ``block``)."""
    AFTER = "after"
    """Stream live, judge when the stream has ended (response categories only ``flag``)."""


class Guard:
    def __init__(self, engine: GuardrailEngine) -> None:
        self.engine = engine

    @staticmethod
    def policy(gateway: GatewayConfig) -> Mapping[str, Any] | None:
        policy = gateway.guardrails
        return policy if policy and policy.get("enabled") else None

    async def check_prompt(
        self, policy: Mapping[str, Any], family: ProviderFamily, path: str, body: bytes
    ) -> GuardrailOutcome | None:
        if not self.engine.needs(policy, "prompt"):
            return None
        texts = extract_prompt_texts(family, path, body) if body else []
        return await self.engine.check(policy, "prompt", texts)

    def response_mode(self, policy: Mapping[str, Any], family: ProviderFamily, path: str, streamed: bool) -> str:
        if family.model_type(path) != ModelType.TEXT or not self.engine.needs(policy, "response"):
            return ResponseMode.NONE
        blocking = any(action == "block" for action in (policy.get("response") or {}).values())
        return ResponseMode.BUFFER if blocking or not streamed else ResponseMode.AFTER

    async def check_response(
        self, policy: Mapping[str, Any], family: ProviderFamily, path: str, body: bytes, streamed: bool,
        content_type: str,
    ) -> GuardrailOutcome:  # fmt: skip
        if streamed:
            texts = extract_stream_texts(family, iter_stream_events(body, content_type))
        else:
            texts = extract_response_texts(family, path, body)
        return await self.engine.check(policy, "response", texts)


def merged_log(prompt: GuardrailOutcome | None, response: GuardrailOutcome | None) -> dict[str, Any] | None:
    """The log's ``guardrails`` column for whichever stages ran."""
    if prompt is not None and response is not None:
        return prompt.merge(response).to_log()
    outcome = prompt or response
    return outcome.to_log() if outcome is not None else None
