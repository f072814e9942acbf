"""openai-moderation: request shape and the OpenAI → S-code category map, against a fake /moderations."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, AsyncIterator

import pytest
from aiohttp import web

from proxy_core.guardrails import EvaluatorUnavailable, GuardrailEngine, Verdict, build_evaluator, normalize_policy
from proxy_core.guardrails.evaluators.openai_moderation import BATCH, CATEGORY_MAP, verdict_from_result

OPENAI_CATEGORIES = [
    "harassment", "harassment/threatening", "hate", "hate/threatening", "illicit", "illicit/violent", "self-harm",
    "self-harm/intent", "self-harm/instructions", "sexual", "sexual/minors", "violence", "violence/graphic",
]
# Texts of the form "flag:<category>[,<category>]" come back flagged for those categories.


def _result(text: str) -> dict[str, Any]:
    flagged = set(text.removeprefix("flag:").split(",")) if text.startswith("flag:") else set()
    return {"flagged": bool(flagged), "categories": {c: c in flagged for c in OPENAI_CATEGORIES},
            "category_scores": {c: 0.9 if c in flagged else 0.01 for c in OPENAI_CATEGORIES}}


@dataclass
class FakeModeration:
    received: list[dict[str, Any]] = field(default_factory=list)
    auth: list[str] = field(default_factory=list)
    status: int = 200
    short: bool = False

    async def moderations(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.received.append(body)
        self.auth.append(request.headers.get("Authorization", ""))
        if self.status != 200:
            return web.json_response({"error": {"message": "bad key"}}, status=self.status)
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        results = [_result(t) for t in inputs][: -1 if self.short else None]
        return web.json_response({"id": "modr-1", "model": body["model"], "results": results})


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeModeration, str]]:
    server = FakeModeration()
    app = web.Application()
    app.router.add_post("/v1/moderations", server.moderations)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield server, f"http://127.0.0.1:{port}/v1"
    await runner.cleanup()


@pytest.mark.parametrize(
    "flagged, codes",
    [
        ("violence", ("S1",)),
        ("violence/graphic", ("S1",)),
        ("illicit", ("S2",)),
        ("illicit/violent", ("S1", "S2")),
        ("sexual", ("S12",)),
        ("sexual,sexual/minors", ("S4", "S12")),
        ("hate", ("S10",)),
        ("harassment", ("S10",)),
        ("harassment/threatening", ("S1", "S10")),
        ("self-harm/intent", ("S11",)),
        ("self-harm,self-harm/instructions", ("S11",)),
    ],
)
async def test_categories_map_to_s_codes(fake, flagged: str, codes: tuple[str, ...]) -> None:
    server, url = fake
    evaluator = build_evaluator("openai-moderation", {"base_url": url, "api_key": "sk-test"})
    try:
        assert await evaluator.judge([f"flag:{flagged}"], "prompt") == [Verdict(False, codes)]
    finally:
        await evaluator.aclose()
    assert server.received[0] == {"model": "omni-moderation-latest", "input": [f"flag:{flagged}"]}
    assert server.auth[0] == "Bearer sk-test"


def test_every_openai_category_is_mapped_and_unknown_ones_are_ignored() -> None:
    assert set(CATEGORY_MAP) == set(OPENAI_CATEGORIES)
    assert verdict_from_result({"flagged": True, "categories": {"brand-new": True}}) == Verdict(True)
    with pytest.raises(EvaluatorUnavailable):
        verdict_from_result({"flagged": True})


async def test_batches_and_order(fake) -> None:
    server, url = fake
    evaluator = build_evaluator("openai-moderation", {"base_url": url, "api_key": "k", "model": "text-moderation-latest"})
    texts = ["flag:hate" if i % 7 == 0 else f"fine {i}" for i in range(BATCH + 5)]
    try:
        verdicts = await evaluator.judge(texts, "response")
    finally:
        await evaluator.aclose()
    assert [len(b["input"]) for b in server.received] == [BATCH, 5]
    assert server.received[0]["model"] == "text-moderation-latest"
    assert [not v.safe for v in verdicts] == [i % 7 == 0 for i in range(BATCH + 5)]


async def test_errors_are_unavailable_and_apply_the_policy(fake) -> None:
    server, url = fake
    evaluator = build_evaluator("openai-moderation", {"base_url": url, "api_key": "bad"})
    engine = GuardrailEngine(evaluator)
    try:
        server.status = 401
        with pytest.raises(EvaluatorUnavailable, match="HTTP 401"):
            await evaluator.judge(["x"], "prompt")
        ok, detail = await evaluator.health()
        assert not ok and "401" in detail
        server.status, server.short = 200, True
        out = await engine.check(normalize_policy({"enabled": True, "prompt": {"S10": "block"}}), "prompt", ["a", "b"])
        assert (out.action, out.evaluated) == ("blocked", False) and "result per input" in (out.error or "")
        server.short = False
        out = await engine.check(normalize_policy({"enabled": True, "prompt": {"S10": "block"}}), "prompt", ["flag:hate"])
        assert (out.action, out.categories, out.evaluated) == ("blocked", ("S10",), True)
    finally:
        await evaluator.aclose()


def test_build_requires_an_api_key() -> None:
    with pytest.raises(ValueError, match="api_key"):
        build_evaluator("openai-moderation", {})
    with pytest.raises(ValueError, match="'organization'"):
        build_evaluator("openai-moderation", {"api_key": "k", "organization": "o"})
    assert build_evaluator("openai-moderation", {"api_key": "k"}).client.base_url == "https://api.openai.com/v1"
