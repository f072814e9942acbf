"""The Anthropic family: the Messages API, its usage, guardrail texts and compat translator."""

from proxy_core.providers.anthropic.compat import AnthropicTranslator
from proxy_core.providers.anthropic.family import AnthropicFamily

__all__ = ["AnthropicFamily", "AnthropicTranslator"]
