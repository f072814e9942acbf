"""Workers AI through its OpenAI-compatible endpoint: a pass-through, not a translation.

Cloudflare documents ``POST …/ai/v1/chat/completions`` for Workers AI text-generation models
(``model: "@cf/meta/llama-3.1-8b-instruct"``), both in the Workers AI docs ("OpenAI compatible API
endpoints") and in AI Gateway's Workers AI provider page (``…/workers-ai/v1/chat/completions``).
It takes OpenAI's messages, tools and ``stream`` and answers with OpenAI's JSON and SSE, ids,
finish reasons and usage included; the native ``/run/@cf/…`` API answers
``{"result": {"response": …}}`` and streams bare ``{"response": …}`` events with neither. So the
compat endpoint forwards the body (with the native model id) to ``/v1/chat/completions``, which
the provider registry maps to ``…/accounts/{account}/ai/v1/chat/completions``. Only errors differ:
Cloudflare wraps them in its ``{"success": false, "errors": [{"code", "message"}]}`` envelope.
"""

from __future__ import annotations

from typing import Any

from proxy_core.compat.base import error_body, json_or_none
from proxy_core.providers.openai.compat import ChatRoute, OpenAITranslator, openai_style_error

__all__ = ["WorkersAITranslator"]


class WorkersAITranslator(OpenAITranslator):
    """Pass-through to ``/v1/chat/completions``; Cloudflare's error envelope mapped to OpenAI's."""

    family = "workers-ai"

    def __init__(self) -> None:
        super().__init__(ChatRoute("/v1/chat/completions"))

    def parse_error(self, status: int, native_body: bytes) -> dict[str, Any]:
        data = json_or_none(native_body)
        errors = data.get("errors") if isinstance(data, dict) else None
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first = errors[0]
            messages = [str(e.get("message")) for e in errors if isinstance(e, dict) and e.get("message")]
            return error_body("; ".join(messages) or f"the provider answered HTTP {status}", status,
                              code=first.get("code"))
        return openai_style_error(status, native_body)
