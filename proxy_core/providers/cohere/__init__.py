"""The Cohere family: its v1 and v2 APIs, their usage, guardrail texts and the v2 chat translator."""

from proxy_core.providers.cohere.compat import CohereTranslator
from proxy_core.providers.cohere.family import CohereFamily

__all__ = ["CohereFamily", "CohereTranslator"]
