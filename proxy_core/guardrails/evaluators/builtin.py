"""``builtin``: the offline default evaluator, a pattern lexicon (no model, no server, no download).

It is a floor, not a classifier: it catches plainly worded requests and statements of intent that
match :mod:`~proxy_core.guardrails.evaluators.lexicon`, after normalising case, leetspeak, punctuation
and letter-spacing. It misses paraphrase, indirection, role-play framing, other languages and
anything spread across turns; use ``llama-guard`` or ``openai-moderation`` where that matters.
"""

from __future__ import annotations

import asyncio
from typing import Any, Mapping, Sequence

from proxy_core.guardrails.evaluators.base import check_options, positive_number
from proxy_core.guardrails.evaluators.lexicon import LEXICON
from proxy_core.guardrails.evaluators.normalize import views_of
from proxy_core.guardrails.evaluators.patternindex import PatternIndex
from proxy_core.guardrails.outcome import Verdict

__all__ = ["BuiltinEvaluator", "build", "matches"]


_INDEX = PatternIndex(entry for lex in LEXICON.values() for entry in lex.entries())


def matches(text: str) -> dict[str, str]:
    """S-code → the phrase that matched, for every category whose lexicon matches ``text``."""
    views = views_of(text)
    found = _INDEX.search(views.words)
    for code, lexicon in LEXICON.items():
        if code not in found:
            hit = lexicon.match_raw(views)
            if hit is not None:
                found[code] = hit
    return dict(sorted(found.items(), key=lambda kv: int(kv[0][1:])))


def judge_text(text: str) -> Verdict:
    """The builtin verdict for one text: the categories whose lexicon matches."""
    return Verdict.of(matches(text))


class BuiltinEvaluator:
    """Judges with the pattern lexicon, in-process (well under a millisecond per typical prompt)."""

    name = "builtin"

    def __init__(self, max_chars: int = 4000):
        self.max_chars = max_chars

    async def judge(self, texts: Sequence[str], stage: str) -> list[Verdict]:
        verdicts = []
        for i, text in enumerate(texts):
            if i:
                await asyncio.sleep(0)  # matching holds the GIL: let the event loop run between chunks
            verdicts.append(judge_text(text))
        return verdicts

    async def health(self) -> tuple[bool, str]:
        patterns = sum(lex.size for lex in LEXICON.values())
        return True, f"built-in pattern lexicon: {patterns} patterns over {len(LEXICON)} categories (offline)"

    async def aclose(self) -> None:
        """Nothing to release (the HTTP evaluators close their own session here)."""


def build(options: Mapping[str, Any], session_factory: Any = None) -> BuiltinEvaluator:
    """Options: ``max_chars`` (chunk size, default 4000: about 5 ms of matching, then the loop gets a turn)."""
    check_options("builtin", options, {"max_chars"})
    max_chars = int(positive_number("builtin", "max_chars", options.get("max_chars", 4000)))
    return BuiltinEvaluator(max_chars=max_chars)
