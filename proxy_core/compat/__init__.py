"""The OpenAI-compatible endpoint's shared kit for translations (``/compat/chat/completions``).

The client names ``model`` as ``{provider}/{model}``; :func:`split_model` splits it, the provider
registry gives the provider's family, and the family's ``translator()`` the :class:`Translator`
that turns the OpenAI request into the family's native request and its answers (JSON, stream,
errors) back into OpenAI's shapes. Each translator lives in its family's folder
(``proxy_core/providers/<family>/compat.py``); this package holds what they share: the contract
(:mod:`~proxy_core.compat.base`), reading OpenAI requests (:mod:`~proxy_core.compat.request`),
writing OpenAI answers and chunks (:mod:`~proxy_core.compat.completion`) and SSE
(:mod:`~proxy_core.compat.sse`). Pure functions over dicts and bytes: the proxy does the I/O.
"""

from __future__ import annotations

import re

from proxy_core.compat.base import CompatError, NativeRequest, StreamState, Translator

__all__ = [
    "CompatError",
    "NativeRequest",
    "StreamState",
    "Translator",
    "split_model",
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
