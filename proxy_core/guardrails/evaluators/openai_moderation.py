"""``openai-moderation``: OpenAI's moderation endpoint (``POST {base_url}/moderations``), mapped to S1–S14.

OpenAI's categories are not Llama Guard's; each flagged OpenAI category maps to the S-codes below
(unmapped names are ignored, so an answer flagged only for a category we do not know is *safe*):

==============================  ==========================================================
OpenAI category                 S-codes
==============================  ==========================================================
``violence``                    S1 Violent crimes
``violence/graphic``            S1
``illicit``                     S2 Non-violent crimes
``illicit/violent``             S2, S1 (violent wrongdoing, procuring weapons)
``sexual``                      S12 Sexual content
``sexual/minors``               S4 Child sexual exploitation
``hate``                        S10 Hate
``hate/threatening``            S10, S1
``harassment``                  S10
``harassment/threatening``      S10, S1
``self-harm``                   S11 Suicide & self-harm
``self-harm/intent``            S11
``self-harm/instructions``      S11
==============================  ==========================================================

OpenAI has nothing for S3, S5–S9, S13 and S14: with this evaluator those categories are never
found, whatever the policy says for them.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from proxy_core.guardrails.evaluators.base import (
    EvaluatorUnavailable,
    HttpClient,
    SessionFactory,
    check_options,
    positive_number,
)
from proxy_core.guardrails.outcome import Verdict

__all__ = ["OpenAIModerationEvaluator", "build", "CATEGORY_MAP", "verdict_from_result"]

DEFAULT_BASE = "https://api.openai.com/v1"
DEFAULT_MODEL = "omni-moderation-latest"
BATCH = 16
"""Texts per request (the endpoint takes an array of inputs)."""

CATEGORY_MAP: dict[str, tuple[str, ...]] = {
    "violence": ("S1",),
    "violence/graphic": ("S1",),
    "illicit": ("S2",),
    "illicit/violent": ("S2", "S1"),
    "sexual": ("S12",),
    "sexual/minors": ("S4",),
    "hate": ("S10",),
    "hate/threatening": ("S10", "S1"),
    "harassment": ("S10",),
    "harassment/threatening": ("S10", "S1"),
    "self-harm": ("S11",),
    "self-harm/intent": ("S11",),
    "self-harm/instructions": ("S11",),
}


def verdict_from_result(result: Any) -> Verdict:
    """The verdict for one entry of the endpoint's ``results``."""
    if not isinstance(result, dict) or not isinstance(result.get("categories"), dict):
        raise EvaluatorUnavailable("openai-moderation: a result without categories")
    codes = [code for name, hit in result["categories"].items() if hit is True for code in CATEGORY_MAP.get(name, ())]
    return Verdict.of(codes)


class OpenAIModerationEvaluator:
    """Judges up to :data:`BATCH` texts per request."""

    name = "openai-moderation"

    def __init__(self, client: HttpClient, model: str, max_chars: int):
        self.client = client
        self.model = model
        self.max_chars = max_chars

    async def judge(self, texts: Sequence[str], stage: str) -> list[Verdict]:
        verdicts: list[Verdict] = []
        for start in range(0, len(texts), BATCH):
            batch = list(texts[start : start + BATCH])
            body = await self.client.request("POST", "/moderations", {"model": self.model, "input": batch})
            results = body.get("results") if isinstance(body, dict) else None
            if not isinstance(results, list) or len(results) != len(batch):
                raise EvaluatorUnavailable("openai-moderation: the answer has no result per input")
            verdicts.extend(verdict_from_result(r) for r in results)
        return verdicts

    async def health(self) -> tuple[bool, str]:
        try:
            await self.judge(["Hello"], "prompt")
        except EvaluatorUnavailable as exc:
            return False, f"{self.model} at {self.client.base_url}: {exc}"
        return True, f"{self.model} at {self.client.base_url}"

    async def aclose(self) -> None:
        await self.client.aclose()


def build(options: Mapping[str, Any], session_factory: SessionFactory | None = None) -> OpenAIModerationEvaluator:
    """Options: ``api_key`` (required), ``base_url`` (default ``https://api.openai.com/v1``),
    ``model`` (default ``omni-moderation-latest``), ``timeout`` (seconds, default 10),
    ``max_chars`` (chunk size, default 10000)."""
    check_options("openai-moderation", options, {"api_key", "base_url", "model", "timeout", "max_chars"}, {"api_key"})
    timeout = positive_number("openai-moderation", "timeout", options.get("timeout", 10))
    client = HttpClient(
        str(options.get("base_url") or DEFAULT_BASE), {"authorization": f"Bearer {options['api_key']}"}, timeout, session_factory
    )
    max_chars = int(positive_number("openai-moderation", "max_chars", options.get("max_chars", 10000)))
    return OpenAIModerationEvaluator(client, model=str(options.get("model") or DEFAULT_MODEL), max_chars=max_chars)
