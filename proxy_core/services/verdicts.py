"""A log's guardrail results as an operator reads them: per stage, the action taken and each
category found by code *and* name (from the one S1–S14 table), never the raw ``stages {…}`` JSON.

The log's ``guardrails`` column is written by :meth:`proxy_core.guardrails.outcome.GuardrailOutcome.to_log`;
logs written before stages were recorded have only the top-level fields, which read as one stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from proxy_core.guardrails.categories import CATEGORIES

__all__ = ["FoundCategory", "StageVerdict", "describe_guardrails"]


@dataclass(frozen=True, slots=True)
class FoundCategory:
    """One hazard category the evaluator found in a stage's text."""

    code: str
    """``S1`` … ``S14`` (an unknown code is kept as written)."""
    name: str
    """``Violent crimes``; ``unknown category`` for a code outside the table."""
    action: str
    """What the gateway's policy did about it: ``flag``, ``block`` or ``ignore``."""


@dataclass(frozen=True, slots=True)
class StageVerdict:
    """The guardrails' result for one stage (``prompt`` or ``response``) of one request."""

    stage: str
    action: str
    """``passed``, ``flagged`` or ``blocked``."""
    evaluated: bool
    """``False`` when nothing was judged (evaluator unreachable or too slow: see ``error``)."""
    evaluator: str
    latency_ms: int | None
    error: str | None
    found: tuple[FoundCategory, ...]


def _found(entry: Mapping[str, Any]) -> tuple[FoundCategory, ...]:
    actions = entry.get("actions") if isinstance(entry.get("actions"), Mapping) else {}
    codes = list(actions) or [c for c in entry.get("categories") or () if isinstance(c, str)]
    counted = set(entry.get("categories") or ())
    out = []
    for code in codes:
        category = CATEGORIES.get(str(code))
        action = str(actions.get(code) or ("flag" if code in counted else "ignore"))
        out.append(FoundCategory(str(code), category.name if category else "unknown category", action))
    return tuple(out)


def _stage(stage: str, entry: Mapping[str, Any]) -> StageVerdict:
    latency = entry.get("latency_ms")
    error = entry.get("error")
    return StageVerdict(
        stage=stage,
        action=str(entry.get("action") or "passed"),
        evaluated=bool(entry.get("evaluated", True)),
        evaluator=str(entry.get("evaluator") or "-"),
        latency_ms=int(latency) if isinstance(latency, (int, float)) else None,
        error=str(error) if error else None,
        found=_found(entry),
    )


def describe_guardrails(guardrails: Mapping[str, Any] | None) -> tuple[StageVerdict, ...]:
    """The stages a log's ``guardrails`` column records, prompt first; empty when not evaluated."""
    if not guardrails:
        return ()
    stages = guardrails.get("stages")
    if isinstance(stages, Mapping) and stages:
        order = sorted(stages, key=lambda name: (name != "prompt", name))
        return tuple(_stage(str(name), stages[name]) for name in order if isinstance(stages[name], Mapping))
    return (_stage(str(guardrails.get("stage") or "prompt"), guardrails),)
