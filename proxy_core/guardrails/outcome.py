"""What an evaluator says about one text (:class:`Verdict`) and what a request's log records
(:class:`GuardrailOutcome`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from proxy_core.guardrails.categories import CATEGORIES

__all__ = ["Verdict", "GuardrailOutcome", "OUTCOME_ACTIONS"]

OUTCOME_ACTIONS = ("passed", "flagged", "blocked")
"""A request's guardrail action, mildest first (``merge`` keeps the worst)."""

_RANK = {action: i for i, action in enumerate(OUTCOME_ACTIONS)}
_CATEGORY_ACTION_RANK = {"ignore": 0, "flag": 1, "block": 2}


def _code_order(code: str) -> int:
    return int(code[1:]) if code[1:].isdigit() else 99


def sorted_codes(codes: Any) -> tuple[str, ...]:
    """S-codes deduplicated, in S1..S14 order."""
    return tuple(sorted(set(codes), key=_code_order))


@dataclass(frozen=True, slots=True)
class Verdict:
    """One judgement of one text: ``safe`` and the hazard categories (S-codes) found.

    An evaluator returns ``safe=False`` only with at least one category it recognises; an answer
    it cannot read is :class:`~proxy_core.guardrails.evaluators.EvaluatorUnavailable`, never a
    guess either way.
    """

    safe: bool
    categories: tuple[str, ...] = ()

    @classmethod
    def of(cls, categories: Any) -> "Verdict":
        """A verdict from the categories found (none found: safe). Unknown codes are dropped."""
        codes = sorted_codes(c for c in categories if c in CATEGORIES)
        return cls(safe=not codes, categories=codes)


@dataclass(frozen=True, slots=True)
class GuardrailOutcome:
    """The result of the guardrails for one stage of one request (or, merged, for both stages).

    ``evaluated`` is ``False`` when nothing was judged: the evaluator was unreachable or too slow
    (``error`` says why), or there was nothing to judge. ``categories`` are the categories found
    that the policy counts (``flag`` or ``block``); ``actions`` maps *every* category found to the
    policy action applied to it, ``ignore`` included.
    """

    evaluated: bool
    action: str
    """``passed``, ``flagged`` or ``blocked``."""
    categories: tuple[str, ...]
    stage: str
    """``prompt`` or ``response``; for a merged outcome, the stage that decided the action."""
    evaluator: str
    latency_ms: int
    error: str | None = None
    actions: tuple[tuple[str, str], ...] = ()
    """``(S-code, "flag" | "block" | "ignore")`` for each category found."""
    chunks: int = 0
    """How many chunks were judged (0 when not evaluated)."""
    cached: int = 0
    """How many of those chunks were answered from the content-hash cache."""
    parts: tuple["GuardrailOutcome", ...] = field(default=(), compare=False)
    """The per-stage outcomes a merged outcome was made of (empty for a single stage)."""

    def stages(self) -> tuple["GuardrailOutcome", ...]:
        """The single-stage outcomes behind this one (itself when it is not merged)."""
        return self.parts or (self,)

    def stage_dict(self) -> dict[str, Any]:
        """This single stage as JSON (the entries of ``to_log()["stages"]``)."""
        return {
            "action": self.action,
            "categories": list(self.categories),
            "evaluated": self.evaluated,
            "evaluator": self.evaluator,
            "latency_ms": self.latency_ms,
            "error": self.error,
            "actions": dict(self.actions),
            "chunks": self.chunks,
            "cached": self.cached,
        }

    def to_log(self) -> dict[str, Any]:
        """JSON for the log's ``guardrails`` column.

        Top level: ``action`` and ``categories`` (what the filter language reads as
        ``guardrails.action`` / ``guardrails.categories``), ``stage``, ``evaluated``, ``evaluator``,
        ``latency_ms``, ``error``, ``actions`` (S-code → action applied) and ``stages``: one entry per
        stage judged, keyed ``prompt`` / ``response``, with the same fields.
        """
        return {
            "action": self.action,
            "categories": list(self.categories),
            "stage": self.stage,
            "evaluated": self.evaluated,
            "evaluator": self.evaluator,
            "latency_ms": self.latency_ms,
            "error": self.error,
            "actions": dict(self.actions),
            "stages": {part.stage: part.stage_dict() for part in self.stages()},
        }

    def merge(self, later: "GuardrailOutcome") -> "GuardrailOutcome":
        """This outcome and a later stage's in one log entry.

        The worst action wins (its stage becomes ``stage``; on a tie the earlier stage), categories
        are unioned, ``evaluated`` holds only if every stage was evaluated, latencies add up, errors
        are joined and each category keeps its strictest action. Both stages stay in ``parts``.
        """
        parts = self.stages() + later.stages()
        decider = self if _RANK[later.action] <= _RANK[self.action] else later
        actions: dict[str, str] = {}
        for part in parts:
            for code, act in part.actions:
                if _CATEGORY_ACTION_RANK[act] >= _CATEGORY_ACTION_RANK.get(actions.get(code, "ignore"), 0):
                    actions[code] = act
        evaluators = list(dict.fromkeys(p.evaluator for p in parts))
        errors = [f"{p.stage}: {p.error}" for p in parts if p.error]
        return GuardrailOutcome(
            evaluated=all(p.evaluated for p in parts),
            action=decider.action,
            categories=sorted_codes(c for p in parts for c in p.categories),
            stage=decider.stage,
            evaluator="+".join(evaluators),
            latency_ms=sum(p.latency_ms for p in parts),
            error="; ".join(errors) or None,
            actions=tuple(sorted(actions.items(), key=lambda kv: _code_order(kv[0]))),
            chunks=sum(p.chunks for p in parts),
            cached=sum(p.cached for p in parts),
            parts=parts,
        )
