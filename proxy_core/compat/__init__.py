"""The OpenAI-compatible endpoint's translations (``/compat/chat/completions``).

The client names ``model`` as ``{provider}/{model}``; :func:`split_model` splits it, the provider
registry gives the provider's family, and :func:`translator_for` the :class:`Translator` that
turns the OpenAI request into the family's native request and its answers (JSON, stream, errors)
back into OpenAI's shapes. Pure functions over dicts and bytes: the proxy does the I/O.

Families: ``openai`` (pass-through: OpenAI, Azure OpenAI, Groq, Mistral, DeepSeek, Grok, Cerebras,
OpenRouter, Perplexity, custom OpenAI-format providers), ``workers-ai`` (pass-through to Workers
AI's OpenAI-compatible ``/v1/chat/completions``), ``anthropic``, ``google`` (AI Studio and Vertex)
and ``cohere`` (v2 chat).
"""

from __future__ import annotations

import re

from proxy_core.compat.anthropic import AnthropicTranslator
from proxy_core.compat.base import CompatError, NativeRequest, StreamState, Translator
from proxy_core.compat.cohere import CohereTranslator
from proxy_core.compat.google import GoogleTranslator
from proxy_core.compat.openai import OPENAI_ROUTES, OpenAIRoute, OpenAITranslator
from proxy_core.compat.workers_ai import WorkersAITranslator

__all__ = [
    "CompatError",
    "NativeRequest",
    "StreamState",
    "Translator",
    "split_model",
    "translator_for",
]

_PROVIDER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_EXAMPLE = "e.g. 'openai/gpt-4o-mini' or 'anthropic/claude-3-5-haiku-latest'"


def split_model(value: object) -> tuple[str, str]:
    """``"anthropic/claude-3-5-haiku"`` → ``("anthropic", "claude-3-5-haiku")``.

    Splits at the first ``/`` only, so ``workers-ai/@cf/meta/llama-3.1-8b-instruct`` and
    ``openrouter/anthropic/claude-3.5-sonnet`` keep their slashes in the model part. Raises
    :class:`CompatError` (a ``ValueError``, status 400, ``param="model"``) for anything else.
    """
    if not isinstance(value, str) or not value:
        raise CompatError(f"'model' is required as '{{provider}}/{{model}}', {_EXAMPLE}", param="model")
    provider, sep, model = value.partition("/")
    if not sep or not provider or not model:
        raise CompatError(f"'model' must be '{{provider}}/{{model}}', {_EXAMPLE}; got {value!r}", param="model")
    if not _PROVIDER.fullmatch(provider):
        raise CompatError(f"{provider!r} is not a valid provider name in 'model' {value!r}", param="model")
    if any(c.isspace() or ord(c) < 32 for c in model):
        raise CompatError(f"the model name in {value!r} contains whitespace or control characters", param="model")
    return provider, model


def translator_for(family_id: str, provider: str | None = None) -> Translator | None:
    """The translator for a provider family id, or ``None`` when the family has no compat support.

    ``provider`` (the URL name, e.g. ``mistral`` or ``google-vertex-ai``) picks per-provider
    details within a family: where the OpenAI family's chat endpoint sits below each base URL
    (``/chat/completions`` or ``/v1/chat/completions``) and Azure's ``api-key`` header; Vertex's
    paths and OAuth for the Google family. Without it, the family's common default is used.
    """
    if family_id == "openai":
        return OpenAITranslator(OPENAI_ROUTES.get(provider or "", OpenAIRoute()))
    if family_id == "workers-ai":
        return WorkersAITranslator()
    if family_id == "anthropic":
        return AnthropicTranslator()
    if family_id == "google":
        return GoogleTranslator(vertex=provider == "google-vertex-ai")
    if family_id == "cohere":
        return CohereTranslator()
    return None
