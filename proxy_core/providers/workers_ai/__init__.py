"""The Workers AI family: Cloudflare's ``/ai/run`` API and its OpenAI-compatible routes."""

from proxy_core.providers.workers_ai.compat import WorkersAITranslator
from proxy_core.providers.workers_ai.family import WorkersAIFamily

__all__ = ["WorkersAIFamily", "WorkersAITranslator"]
