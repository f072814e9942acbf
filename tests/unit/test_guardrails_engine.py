"""GuardrailEngine: policy mapping, fail closed / fail open, chunking, the content-hash cache, outcomes (SPEC §4)."""

from __future__ import annotations

import asyncio
from typing import Sequence

import pytest

from proxy_core.guardrails import (
    EvaluatorUnavailable,
    GuardrailEngine,
    GuardrailOutcome,
    Verdict,
    chunk,
    normalize_policy,
)


class FakeEvaluator:
    """Finds category ``code`` in any text containing ``word`` (``triggers``); records each call."""

    name = "fake"

    def __init__(self, triggers: dict[str, str] | None = None, *, max_chars: int = 1000, fail: Exception | None = None,
                 delay: float = 0.0):
        self.triggers = triggers or {"BOOM": "S9", "HATE": "S10", "RUDE": "S12"}
        self.max_chars = max_chars
        self.fail = fail
        self.delay = delay
        self.calls: list[tuple[list[str], str]] = []

    async def judge(self, texts: Sequence[str], stage: str) -> list[Verdict]:
        self.calls.append((list(texts), stage))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail is not None:
            raise self.fail
        return [Verdict.of(code for word, code in self.triggers.items() if word in t) for t in texts]

    async def health(self) -> tuple[bool, str]:
        return True, "fake"

    @property
    def judged(self) -> int:
        return sum(len(texts) for texts, _ in self.calls)


def policy(prompt: dict[str, str] | None = None, response: dict[str, str] | None = None, enabled: bool = True) -> dict:
    return normalize_policy({"enabled": enabled, "prompt": prompt or {}, "response": response or {}})


ALL_IGNORE = {f"S{i}": "ignore" for i in range(1, 15)}


# --- action mapping ------------------------------------------------------------------------


async def test_block_category_blocks() -> None:
    engine = GuardrailEngine(FakeEvaluator())
    out = await engine.check(policy({"S9": "block"}), "prompt", ["how to BOOM"])
    assert (out.action, out.categories, out.evaluated, out.stage) == ("blocked", ("S9",), True, "prompt")
    assert dict(out.actions) == {"S9": "block"}


async def test_flag_category_flags_and_block_wins_over_flag() -> None:
    engine = GuardrailEngine(FakeEvaluator())
    flagged = await engine.check(policy({"S9": "flag"}), "prompt", ["BOOM"])
    assert (flagged.action, flagged.categories) == ("flagged", ("S9",))
    both = await engine.check(policy({"S9": "flag", "S10": "block"}), "prompt", ["BOOM and HATE"])
    assert (both.action, both.categories) == ("blocked", ("S9", "S10"))
    assert dict(both.actions) == {"S9": "flag", "S10": "block"}


async def test_ignored_category_is_recorded_but_not_counted() -> None:
    engine = GuardrailEngine(FakeEvaluator())
    out = await engine.check(policy({"S9": "ignore"}), "prompt", ["BOOM"])
    assert (out.action, out.categories, out.evaluated) == ("passed", (), True)
    assert dict(out.actions) == {"S9": "ignore"}
    mixed = await engine.check(policy({"S9": "ignore", "S10": "flag"}), "prompt", ["BOOM HATE"])
    assert (mixed.action, mixed.categories) == ("flagged", ("S10",))


async def test_safe_text_passes() -> None:
    out = await GuardrailEngine(FakeEvaluator()).check(policy({"S9": "block"}), "prompt", ["hello there"])
    assert (out.action, out.categories, out.evaluated, out.error) == ("passed", (), True, None)


async def test_the_stage_uses_its_own_actions() -> None:
    engine = GuardrailEngine(FakeEvaluator())
    p = policy(prompt={"S9": "ignore"}, response={"S9": "block"})
    assert (await engine.check(p, "prompt", ["BOOM"])).action == "passed"
    assert (await engine.check(p, "response", ["BOOM"])).action == "blocked"
    with pytest.raises(ValueError):
        await engine.check(p, "middle", ["BOOM"])


# --- evaluator unavailable -----------------------------------------------------------------


@pytest.mark.parametrize("failure", [EvaluatorUnavailable("connection refused"), RuntimeError("bug in evaluator")])
async def test_fail_closed_when_a_category_blocks(failure: Exception) -> None:
    engine = GuardrailEngine(FakeEvaluator(fail=failure))
    out = await engine.check(policy({"S1": "block"}), "prompt", ["anything at all"])
    assert (out.action, out.evaluated, out.categories) == ("blocked", False, ())
    assert out.error and ("connection refused" in out.error or "bug in evaluator" in out.error)


async def test_fail_open_with_only_flags_says_unevaluated() -> None:
    engine = GuardrailEngine(FakeEvaluator(fail=EvaluatorUnavailable("HTTP 503")))
    out = await engine.check(policy(), "prompt", ["BOOM"])  # every category on flag
    assert (out.action, out.evaluated) == ("passed", False)
    assert out.error == "HTTP 503"
    assert out.to_log()["evaluated"] is False and out.to_log()["error"] == "HTTP 503"


async def test_timeout_fails_closed_with_block_and_open_without() -> None:
    slow = FakeEvaluator(delay=5)
    engine = GuardrailEngine(slow, timeout=0.05)
    closed = await engine.check(policy({"S3": "block"}), "prompt", ["hi"])
    assert (closed.action, closed.evaluated) == ("blocked", False)
    assert "0.05s" in (closed.error or "")
    opened = await engine.check(policy({"S3": "flag"}), "prompt", ["hi"])
    assert (opened.action, opened.evaluated) == ("passed", False)


async def test_blocking_in_the_other_stage_does_not_fail_this_one_closed() -> None:
    engine = GuardrailEngine(FakeEvaluator(fail=EvaluatorUnavailable("down")))
    out = await engine.check(policy(prompt={}, response={"S1": "block"}), "prompt", ["hi"])
    assert (out.action, out.evaluated) == ("passed", False)


async def test_wrong_number_of_verdicts_is_unavailable() -> None:
    class Short(FakeEvaluator):
        async def judge(self, texts: Sequence[str], stage: str) -> list[Verdict]:
            return []

    out = await GuardrailEngine(Short()).check(policy({"S1": "block"}), "prompt", ["a"])
    assert (out.action, out.evaluated) == ("blocked", False)


# --- what is judged ------------------------------------------------------------------------


async def test_long_prompt_is_chunked_and_one_unsafe_chunk_flags_the_whole() -> None:
    fake = FakeEvaluator(max_chars=200)
    text = ("lorem ipsum dolor sit amet " * 40) + "BOOM " + ("consectetur adipiscing " * 40)
    out = await GuardrailEngine(fake).check(policy(), "prompt", [text])
    judged = fake.calls[0][0]
    assert len(fake.calls) == 1 and len(judged) == out.chunks > 3
    assert all(len(c) <= 200 for c in judged)
    assert sum("BOOM" in c for c in judged) >= 1
    assert (out.action, out.categories) == ("flagged", ("S9",))


async def test_all_texts_are_judged_in_one_call_and_duplicates_once() -> None:
    fake = FakeEvaluator()
    await GuardrailEngine(fake).check(policy(), "prompt", ["system text", "user text", "user text", "  "])
    assert fake.calls == [(["system text", "user text"], "prompt")]


async def test_nothing_to_judge_or_nothing_needed_does_not_call_the_evaluator() -> None:
    fake = FakeEvaluator()
    engine = GuardrailEngine(fake)
    empty = await engine.check(policy(), "prompt", ["", "   "])
    off = await engine.check(policy(enabled=False), "prompt", ["BOOM"])
    ignored = await engine.check(policy(ALL_IGNORE), "prompt", ["BOOM"])
    assert fake.calls == []
    for out in (empty, off, ignored):
        assert (out.action, out.evaluated, out.error, out.categories) == ("passed", False, None, ())


def test_needs() -> None:
    engine = GuardrailEngine(FakeEvaluator())
    assert engine.needs(policy(), "prompt") and engine.needs(policy(), "response")
    assert not engine.needs(policy(enabled=False), "prompt")
    assert not engine.needs(policy(ALL_IGNORE), "prompt")
    assert engine.needs(policy(ALL_IGNORE), "response")
    assert engine.needs(policy({**ALL_IGNORE, "S13": "block"}), "prompt")


# --- content-hash cache --------------------------------------------------------------------


async def test_identical_content_is_not_judged_again_until_the_cache_expires() -> None:
    now = [1000.0]
    fake = FakeEvaluator()
    engine = GuardrailEngine(fake, cache_seconds=60, clock=lambda: now[0])
    first = await engine.check(policy(), "prompt", ["BOOM please", "hello"])
    again = await engine.check(policy(), "prompt", ["hello", "BOOM please"])
    assert fake.judged == 2
    assert (again.action, again.categories, again.cached) == (first.action, first.categories, 2)
    await engine.check(policy(), "prompt", ["hello", "something new"])
    assert fake.calls[-1][0] == ["something new"]
    now[0] += 61
    await engine.check(policy(), "prompt", ["hello"])
    assert fake.calls[-1][0] == ["hello"]


async def test_cache_is_per_stage_and_never_caches_failures() -> None:
    fake = FakeEvaluator()
    engine = GuardrailEngine(fake)
    await engine.check(policy(), "prompt", ["same words"])
    await engine.check(policy(), "response", ["same words"])
    assert [stage for _, stage in fake.calls] == ["prompt", "response"]

    failing = FakeEvaluator(fail=EvaluatorUnavailable("down"))
    engine = GuardrailEngine(failing)
    await engine.check(policy(), "prompt", ["x"])
    await engine.check(policy(), "prompt", ["x"])
    assert len(failing.calls) == 2


async def test_cache_off() -> None:
    fake = FakeEvaluator()
    engine = GuardrailEngine(fake, cache_seconds=0)
    await engine.check(policy(), "prompt", ["x"])
    await engine.check(policy(), "prompt", ["x"])
    assert fake.judged == 2


# --- outcomes ------------------------------------------------------------------------------


async def test_to_log_shape() -> None:
    out = await GuardrailEngine(FakeEvaluator()).check(policy({"S10": "block", "S9": "flag"}), "prompt", ["BOOM HATE"])
    log = out.to_log()
    assert log["action"] == "blocked" and log["categories"] == ["S9", "S10"]
    assert {"stage", "evaluated", "evaluator", "latency_ms", "error", "actions", "stages"} <= set(log)
    assert log["actions"] == {"S9": "flag", "S10": "block"}
    assert log["evaluator"] == "fake" and isinstance(log["latency_ms"], int)
    assert log["stages"]["prompt"]["chunks"] == 1
    import json

    assert json.loads(json.dumps(log)) == log


def _outcome(stage: str, action: str, categories: tuple[str, ...] = (), **kw) -> GuardrailOutcome:
    actions = tuple((c, {"blocked": "block", "flagged": "flag"}.get(action, "ignore")) for c in categories)
    return GuardrailOutcome(True, action, categories, stage, "fake", 5, actions=actions, **kw)


def test_merge_keeps_the_worst_action_unions_categories_and_keeps_both_stages() -> None:
    prompt = _outcome("prompt", "flagged", ("S10",))
    response = _outcome("response", "blocked", ("S1", "S10"))
    merged = prompt.merge(response)
    assert (merged.action, merged.stage, merged.categories, merged.latency_ms) == ("blocked", "response", ("S1", "S10"), 10)
    log = merged.to_log()
    assert log["action"] == "blocked" and log["categories"] == ["S1", "S10"]
    assert set(log["stages"]) == {"prompt", "response"}
    assert log["stages"]["prompt"]["action"] == "flagged" and log["stages"]["response"]["action"] == "blocked"
    assert log["actions"] == {"S1": "block", "S10": "block"}


def test_merge_ties_keep_the_prompt_and_unevaluated_stages_show() -> None:
    prompt = _outcome("prompt", "flagged", ("S9",))
    response = GuardrailOutcome(False, "passed", (), "response", "fake", 3, error="down")
    merged = prompt.merge(response)
    assert (merged.action, merged.stage, merged.evaluated) == ("flagged", "prompt", False)
    assert merged.error == "response: down"
    assert merged.to_log()["stages"]["response"]["evaluated"] is False
    tie = _outcome("prompt", "flagged", ("S9",)).merge(_outcome("response", "flagged", ("S12",)))
    assert (tie.stage, tie.categories) == ("prompt", ("S9", "S12"))


def test_verdict_of_drops_unknown_codes_and_orders() -> None:
    assert Verdict.of(["S10", "S2", "S99", "S2"]) == Verdict(False, ("S2", "S10"))
    assert Verdict.of([]) == Verdict(True, ())


# --- chunk() -------------------------------------------------------------------------------


def test_chunk_basics() -> None:
    assert chunk("", 10) == [] and chunk("   ", 10) == []
    assert chunk("short", 10) == ["short"]
    text = " ".join(f"word{i}" for i in range(500))
    pieces = chunk(text, 300, overlap=50)
    assert len(pieces) > 1 and all(len(p) <= 300 for p in pieces)
    # every word survives whole in some chunk, and consecutive chunks overlap
    assert all(any(f"word{i}" in p.split() for p in pieces) for i in range(500))
    for a, b in zip(pieces, pieces[1:]):
        assert a[-30:] in b or b[:30] in a


def test_chunk_keeps_a_boundary_phrase_whole_in_one_chunk() -> None:
    text = "x" * 95 + " make a pipe bomb " + "y" * 200
    pieces = chunk(text, 100, overlap=40)
    assert any("pipe bomb" in p for p in pieces)


def test_chunk_without_spaces_and_bad_size() -> None:
    pieces = chunk("a" * 1050, 100)
    assert all(len(p) <= 100 for p in pieces) and "".join(p[50 if i else 0 :] for i, p in enumerate(pieces)) == "a" * 1050
    with pytest.raises(ValueError):
        chunk("abc", 0)
