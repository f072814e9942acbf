"""The Llama Guard 3 hazard categories and a gateway's guardrail policy (what to do per category)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

__all__ = ["CATEGORIES", "ACTIONS", "HazardCategory", "normalize_policy", "default_policy"]


@dataclass(frozen=True, slots=True)
class HazardCategory:
    """One of the S1–S14 hazard categories of Llama Guard 3."""

    code: str
    """``S1`` … ``S14``: what policies, verdicts, logs and filters name."""
    name: str
    """As the console and the documentation show it."""
    template_title: str
    """Exactly as the Llama Guard 3 prompt template lists it, which differs slightly from the
    model card's headings (``Sex Crimes`` for S3, ``Self-Harm`` for S11)."""


CATEGORIES: dict[str, HazardCategory] = {
    category.code: category
    for category in (
        HazardCategory("S1", "Violent crimes", "Violent Crimes"),
        HazardCategory("S2", "Non-violent crimes", "Non-Violent Crimes"),
        HazardCategory("S3", "Sex-related crimes", "Sex Crimes"),
        HazardCategory("S4", "Child sexual exploitation", "Child Exploitation"),
        HazardCategory("S5", "Defamation", "Defamation"),
        HazardCategory("S6", "Specialized advice", "Specialized Advice"),
        HazardCategory("S7", "Privacy", "Privacy"),
        HazardCategory("S8", "Intellectual property", "Intellectual Property"),
        HazardCategory("S9", "Indiscriminate weapons", "Indiscriminate Weapons"),
        HazardCategory("S10", "Hate", "Hate"),
        HazardCategory("S11", "Suicide & self-harm", "Self-Harm"),
        HazardCategory("S12", "Sexual content", "Sexual Content"),
        HazardCategory("S13", "Elections", "Elections"),
        HazardCategory("S14", "Code interpreter abuse", "Code Interpreter Abuse"),
    )
}
"""The one S1–S14 table, in order, keyed by code."""

ACTIONS = ("flag", "ignore", "block")


def default_policy() -> dict[str, Any]:
    """Guardrails off; every category on ``flag`` for prompts and responses."""
    return {
        "enabled": False,
        "prompt": {code: "flag" for code in CATEGORIES},
        "response": {code: "flag" for code in CATEGORIES},
    }


def normalize_policy(value: Any) -> dict[str, Any]:
    """Validate a policy and fill it out: categories left out mean ``flag``.

    Accepts Cloudflare's upper-case actions (``"BLOCK"``); raises ``ValueError`` naming an
    unknown field, category or action. A policy sent without ``enabled`` is on: whoever sets
    category actions means them to apply, and a silent "off" would pass what they meant to block.
    """
    if not isinstance(value, Mapping):
        raise ValueError("guardrails: expected an object with enabled, prompt and response")
    unknown = set(value) - {"enabled", "prompt", "response"}
    if unknown:
        raise ValueError(f"guardrails: unknown field {sorted(unknown)[0]!r}")
    enabled = value.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ValueError("guardrails.enabled: expected true or false")
    policy = default_policy()
    policy["enabled"] = enabled
    for side in ("prompt", "response"):
        actions = value.get(side) or {}
        if not isinstance(actions, Mapping):
            raise ValueError(f"guardrails.{side}: expected an object of category → action")
        for code, action in actions.items():
            key = str(code).upper()
            if key not in CATEGORIES:
                raise ValueError(f"guardrails.{side}: unknown category {code!r} (S1–S14)")
            if not isinstance(action, str) or action.lower() not in ACTIONS:
                raise ValueError(f"guardrails.{side}.{key}: unknown action {action!r} (flag, ignore, block)")
            policy[side][key] = action.lower()
    return policy
