"""Guardrail evaluators, registered by name (``builtin``, ``llama-guard``, ``openai-moderation``).

Each module implements :class:`Evaluator` and a ``build(options, session_factory)`` function;
:data:`EVALUATORS` maps the name the config and the console use to that function.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from proxy_core.guardrails.evaluators import builtin, llama_guard, openai_moderation
from proxy_core.guardrails.evaluators.base import Evaluator, EvaluatorUnavailable, SessionFactory

__all__ = ["EVALUATORS", "Evaluator", "EvaluatorUnavailable", "SessionFactory", "build_evaluator"]

EVALUATORS: dict[str, Callable[[Mapping[str, Any], SessionFactory | None], Evaluator]] = {
    "builtin": builtin.build,
    "llama-guard": llama_guard.build,
    "openai-moderation": openai_moderation.build,
}


def build_evaluator(name: str, options: Mapping[str, Any] | None = None, session_factory: SessionFactory | None = None) -> Evaluator:
    """The evaluator registered as ``name``, built from its options.

    ``ValueError`` names an unknown evaluator, an unknown option or a missing one.
    ``session_factory`` returns an ``aiohttp.ClientSession`` the caller owns; without it (as the
    gateway builds them) an HTTP evaluator opens its own session. Every evaluator has ``async
    aclose()`` (a no-op when the session is the caller's), called at shutdown.
    """
    try:
        factory = EVALUATORS[name]
    except KeyError:
        raise ValueError(f"guardrails: unknown evaluator {name!r} (known: {', '.join(EVALUATORS)})") from None
    return factory(options or {}, session_factory)
