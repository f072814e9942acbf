"""The OpenAI family: OpenAI's API and every provider that speaks it (one registry row each)."""

from proxy_core.providers.openai.compat import AZURE_API_VERSION, ChatRoute, OpenAITranslator
from proxy_core.providers.openai.family import OpenAIFamily

__all__ = ["AZURE_API_VERSION", "ChatRoute", "OpenAIFamily", "OpenAITranslator"]
