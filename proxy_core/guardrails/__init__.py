"""Guardrails: hazard categories, per-gateway policy, evaluators and enforcement."""

from proxy_core.guardrails.categories import ACTIONS, CATEGORIES, default_policy, normalize_policy

__all__ = ["ACTIONS", "CATEGORIES", "default_policy", "normalize_policy"]
