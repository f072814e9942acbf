"""Guardrails: hazard categories, per-gateway policy, evaluators and enforcement (SPEC §4).

What is judged depends on the model type (as Cloudflare does; the proxy applies it):

- ``text-generation``: the prompt, then the response;
- ``embeddings``: the prompt only (an embedding vector has nothing to moderate);
- unknown (and any other type): the prompt only; the response bypasses the guardrails.

A blocked prompt is answered with error ``2016``, a blocked response with ``2017``. The proxy calls
:meth:`GuardrailEngine.needs` to skip a stage, the ``extract_*`` functions to get the texts of a
family's request, response or stream, :meth:`GuardrailEngine.check` per stage, and logs
``prompt_outcome.merge(response_outcome).to_log()`` in the log's ``guardrails`` column.

Evaluators are registered by name (:data:`EVALUATORS`): ``builtin`` (an offline pattern lexicon,
the default), ``llama-guard`` (Llama Guard 3 on any OpenAI-compatible endpoint) and
``openai-moderation`` (OpenAI's moderation API).
"""

from proxy_core.guardrails.categories import ACTIONS, CATEGORIES, default_policy, normalize_policy
from proxy_core.guardrails.chunking import chunk
from proxy_core.guardrails.engine import GuardrailEngine
from proxy_core.guardrails.evaluators import EVALUATORS, Evaluator, EvaluatorUnavailable, build_evaluator
from proxy_core.guardrails.extract import extract_prompt_texts, extract_response_texts, extract_stream_texts
from proxy_core.guardrails.outcome import GuardrailOutcome, Verdict

__all__ = [
    "ACTIONS",
    "CATEGORIES",
    "EVALUATORS",
    "Evaluator",
    "EvaluatorUnavailable",
    "GuardrailEngine",
    "GuardrailOutcome",
    "Verdict",
    "build_evaluator",
    "chunk",
    "default_policy",
    "extract_prompt_texts",
    "extract_response_texts",
    "extract_stream_texts",
    "normalize_policy",
]
