"""Cloudflare Workers AI (``…/ai/run/@cf/{vendor}/{model}``; usage under ``result.usage``)."""

from __future__ import annotations

from typing import Any, Mapping

from proxy_core.providers.base import STREAM_DONE, ModelType, Usage, fill_base, int_or_none
from proxy_core.providers.openai import OpenAIFamily
from proxy_core.providers.workers_ai import texts
from proxy_core.providers.workers_ai.compat import WorkersAITranslator

__all__ = ["WorkersAIFamily"]

_EMBEDDING_HINTS = ("bge-", "embedding", "embed")
_AUDIO_HINTS = ("whisper", "melotts", "tts", "aura", "nova")
_IMAGE_HINTS = ("stable-diffusion", "flux", "dreamshaper", "image", "resnet", "detr")


class WorkersAIFamily:
    id = "workers-ai"
    _openai = OpenAIFamily()

    def upstream_base(self, provider: str, base: str, values: Mapping[str, str], path: str) -> str:
        """The OpenAI-compatible routes sit beside ``/run``: ``…/ai/v1/chat/completions``."""
        base = fill_base(base, values)
        if path.startswith("/v1/") and base.endswith("/ai/run"):
            return base[: -len("/run")]
        return base

    def model_type(self, path: str) -> str:
        p = path.lower()
        if "/v1/chat/completions" in p or "/v1/embeddings" in p:
            return self._openai.model_type(p)
        if any(h in p for h in _EMBEDDING_HINTS):
            return ModelType.EMBEDDINGS
        if any(h in p for h in _AUDIO_HINTS):
            return ModelType.AUDIO
        if any(h in p for h in _IMAGE_HINTS):
            return ModelType.IMAGE
        return ModelType.TEXT if p.lstrip("/").startswith("@") else ModelType.UNKNOWN

    def request_model(self, path: str, body: Any) -> str | None:
        p = path.lstrip("/")
        if p.startswith("@"):
            return p
        return self._openai.request_model(path, body)

    def parse_response(self, body: Any, usage: Usage) -> None:
        if not isinstance(body, dict):
            return
        result = body.get("result")
        container = result if isinstance(result, dict) else body
        usage_obj = container.get("usage")
        if isinstance(usage_obj, dict):
            usage.update(int_or_none(usage_obj.get("prompt_tokens")), int_or_none(usage_obj.get("completion_tokens")))
        if isinstance(body.get("model"), str):
            usage.model = body["model"]

    def parse_stream_chunk(self, event: Any, usage: Usage) -> None:
        self.parse_response(event, usage)

    def parse_headers(self, headers: Mapping[str, str], usage: Usage) -> None:
        return None

    def stream_ended(self, event: Any) -> bool | None:
        return event is STREAM_DONE  # /ai/run and its OpenAI-compatible routes both end with data: [DONE]

    prompt_texts = staticmethod(texts.prompt_texts)
    response_texts = staticmethod(texts.response_texts)
    read_stream_event = staticmethod(texts.read_stream_event)

    def translator(self) -> WorkersAITranslator:
        return WorkersAITranslator()
