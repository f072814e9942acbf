"""Property tests: the three forms round-trip, and SQL selects exactly what ``matches`` selects."""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path
from typing import Any

from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from proxy_core.store.filters import Condition, LogFilter, matches, parse_json, parse_text, to_json, to_text
from tests.unit.test_filters import (
    ids_left_after_delete,
    log_row,
    open_db,
    replace_rows,
    select_ids,
    select_ids_each,
)

MAX_MS = 253_402_300_799_999
EQ = ("eq", "neq")
ORDERED = ("eq", "neq", "lt", "gt", "lte", "gte")
STRING = ("eq", "neq", "contains")

# --- round trips over wide values ------------------------------------------------------------

any_text = st.text(max_size=12)
any_number = st.one_of(st.integers(-(10**20), 10**20), st.floats(allow_nan=False, allow_infinity=False))
meta_name = st.from_regex(r"[\w.\-]{1,10}", fullmatch=True).filter(lambda n: n not in ("key", "value"))

WIDE: dict[str, tuple[tuple[str, ...], Any]] = {
    "id": (STRING, any_text), "request_content_type": (STRING, any_text), "response_content_type": (STRING, any_text),
    "request_type": (STRING, any_text), "provider": (STRING, any_text), "model": (STRING, any_text),
    "model_type": (STRING, any_text), "event_id": (STRING, any_text), "gateway_id": (STRING, any_text),
    "success": (EQ, st.booleans()), "cached": (EQ, st.booleans()),
    "cost": (ORDERED, any_number), "tokens": (ORDERED, any_number), "tokens_in": (ORDERED, any_number),
    "tokens_out": (ORDERED, any_number), "duration": (ORDERED, any_number), "status_code": (ORDERED, any_number),
    "score": (ORDERED, any_number), "step": (ORDERED, any_number),
    "created_at": (ORDERED, st.integers(0, MAX_MS)), "feedback": (ORDERED, st.sampled_from([-1, 0, 1])),
    "metadata.key": (STRING, any_text), "metadata.value": (STRING, st.one_of(any_text, any_number, st.booleans())),
    "guardrail": (EQ, st.sampled_from(["blocked", "flagged", "passed"])),
    "guardrail.category": (EQ, st.sampled_from([f"S{i}" for i in range(1, 15)])),
}  # fmt: skip
NULLABLE = {"id", "request_content_type", "response_content_type", "request_type", "provider", "model", "model_type",
            "event_id", "gateway_id", "cost", "tokens", "tokens_in", "tokens_out", "duration", "status_code", "score",
            "step", "guardrail", "metadata.<name>"}  # fmt: skip


@st.composite
def wide_conditions(draw: st.DrawFn) -> Condition:
    key = draw(st.sampled_from([*WIDE, "metadata.<name>"]))
    if key == "metadata.<name>":
        ops, values = STRING, st.one_of(any_text, any_number, st.booleans())
        name = "metadata." + draw(meta_name)
    else:
        (ops, values), name = WIDE[key], key
    op = draw(st.sampled_from(ops))
    if key in NULLABLE and op in EQ:
        values = st.one_of(values, st.none())
    return Condition(name, op, draw(st.lists(values, min_size=1, max_size=3)))


@st.composite
def wide_filters(draw: st.DrawFn) -> LogFilter:
    times = sorted(draw(st.lists(st.integers(0, MAX_MS), min_size=2, max_size=2)))
    return LogFilter(
        tuple(draw(st.lists(wide_conditions(), max_size=5))),
        times[0] if draw(st.booleans()) else None,
        times[1] if draw(st.booleans()) else None,
        draw(st.one_of(st.none(), st.text(max_size=20))),
    )


@settings(max_examples=200, deadline=None)
@given(wide_filters())
def test_text_and_json_forms_round_trip(f: LogFilter) -> None:
    assert parse_text(to_text(f)) == f
    assert parse_json(to_json(f)) == f
    assert parse_json(json.dumps(to_json(f))) == f
    cloudflare_array = json.dumps(to_json(f)["filters"])
    from_json = parse_json(cloudflare_array)
    assert parse_text(to_text(from_json)) == from_json
    assert from_json.conditions == f.conditions


# --- SQL against the in-memory oracle ----------------------------------------------------------

NAMES = ["user", "n", "flag", "team"]
META_POOL = ["alice", "Alice", "bob", "5", "5.0", "true", "", "x_y", "50%", "É", 0, 5, -1, 5.0, 0.5, 1e20, -2.5, True, False, None]
META_VALUES = st.sampled_from(META_POOL)
STRINGS = st.sampled_from(["a", "A", "b", "open", "_", "%", "/", "x_y", "É", "é", "ai", "5"])
TIMES = [0, 1_000, 2_000, 3_000]
POOLS: dict[str, tuple[tuple[str, ...], Any]] = {
    "id": (STRING, st.sampled_from(["r0", "r1", "r2", "R1"])),
    "provider": (STRING, st.sampled_from(["openai", "OpenAI", "anthropic", "groq"])),
    "model": (STRING, st.sampled_from(["gpt-4o", "gpt-4o-mini", "claude", "x_y"])),
    "model_type": (STRING, st.sampled_from(["chat", "embeddings"])),
    "request_type": (STRING, st.sampled_from(["provider", "compat", "universal"])),
    "request_content_type": (STRING, st.sampled_from(["application/json", "text/plain"])),
    "response_content_type": (STRING, st.sampled_from(["application/json", "text/event-stream"])),
    "event_id": (STRING, st.sampled_from(["e1", "E1", "e2"])),
    "gateway_id": (STRING, st.sampled_from(["default", "other"])),
    "success": (EQ, st.booleans()), "cached": (EQ, st.booleans()),
    "cost": (ORDERED, st.sampled_from([0, 0.01, 0.5, 1.5, 2])),
    "tokens": (ORDERED, st.sampled_from([0, 10, 100, 150, 1000])),
    "tokens_in": (ORDERED, st.sampled_from([0, 10, 100])), "tokens_out": (ORDERED, st.sampled_from([0, 50, 100])),
    "duration": (ORDERED, st.sampled_from([5, 100, 300, 1000.5])),
    "status_code": (ORDERED, st.sampled_from([200, 404, 500])), "score": (ORDERED, st.sampled_from([0, 50, 90])),
    "step": (ORDERED, st.sampled_from([0, 1])), "created_at": (ORDERED, st.sampled_from(TIMES)),
    "feedback": (ORDERED, st.sampled_from([-1, 0, 1])),
    "metadata.key": (STRING, st.sampled_from([*NAMES, "zzz", "U", "e"])),
    "metadata.value": (STRING, META_VALUES.filter(lambda v: v is not None)),
    "guardrail": (EQ, st.sampled_from(["blocked", "flagged", "passed"])),
    "guardrail.category": (EQ, st.sampled_from(["S1", "S2", "S14"])),
}  # fmt: skip


def _condition_strategies() -> list[Any]:
    """Per key and operator, a strategy of conditions drawing values from small pools rows share."""
    out = []
    for key, (ops, values) in [*POOLS.items(), *(("metadata." + n, (STRING, META_VALUES)) for n in NAMES)]:
        for op in ops:
            pool = STRINGS if op == "contains" else st.one_of(values, st.none()) if key in NULLABLE and op in EQ else values
            out.append(st.lists(pool, min_size=1, max_size=3).map(lambda v, k=key, o=op: Condition(k, o, v)))
    return out


pool_conditions = st.one_of(_condition_strategies())
SEARCHES = st.one_of(st.none(), STRINGS, st.sampled_from(["hello", "HELLO w", "50%"]))
rarely = st.integers(0, 3).map(lambda n: n == 0)  # True one time in four
pool_filters = st.tuples(
    st.lists(pool_conditions, min_size=1, max_size=2), st.sampled_from(TIMES), st.sampled_from(TIMES), rarely, rarely,
    st.one_of(st.none(), st.none(), st.none(), SEARCHES),
).map(lambda t: LogFilter(tuple(t[0]), min(t[1], t[2]) if t[3] else None, max(t[1], t[2]) if t[4] else None, t[5]))


def random_rows(seed: int) -> list[dict[str, Any]]:
    """3 to 10 log rows drawn from the pools the filters use (plain ``random``: drawing every field
    through hypothesis made the test several times slower, and the seed reproduces a failure)."""
    rnd = random.Random(seed)

    def maybe(*pool: Any) -> Any:
        return None if rnd.random() < 0.3 else rnd.choice(pool)

    def body() -> bytes | None:
        return None if rnd.random() < 0.3 else "".join(rnd.choices("aAbB _%/xÉé5Hhello ", k=rnd.randint(0, 12))).encode()

    rows = []
    for i in range(rnd.randint(3, 10)):
        guardrails = None if rnd.random() < 0.3 else {"action": rnd.choice(["blocked", "flagged", "passed"])}
        if guardrails is not None and rnd.random() < 0.7:
            guardrails["categories"] = rnd.sample(["S1", "S2", "S14"], rnd.randint(0, 2))
        metadata = None if rnd.random() < 0.3 else {n: rnd.choice(META_POOL) for n in rnd.sample(NAMES, rnd.randint(0, 3))}
        rows.append(
            log_row(
                f"r{i}",
                provider=rnd.choice(["openai", "OpenAI", "anthropic", "groq"]),
                model=maybe("gpt-4o", "gpt-4o-mini", "claude", "x_y"),
                model_type=rnd.choice(["chat", "embeddings"]),
                request_type=rnd.choice(["provider", "compat", "universal"]),
                request_content_type=maybe("application/json", "text/plain"),
                response_content_type=maybe("application/json", "text/event-stream"),
                event_id=maybe("e1", "E1", "e2"),
                gateway_id=rnd.choice(["default", "other"]),
                success=rnd.random() < 0.7,
                cached=rnd.random() < 0.3,
                cost=maybe(0.0, 0.01, 0.5, 1.5),
                tokens_in=maybe(0, 10, 100),
                tokens_out=maybe(0, 50, 100),
                duration=rnd.choice([5, 100, 300, 1000]),
                status_code=rnd.choice([200, 404, 500]),
                score=maybe(0, 50, 90),
                step=rnd.choice([0, 1]),
                created_at=rnd.choice(TIMES),
                feedback=rnd.choice([-1, 0, 1]),
                metadata=metadata,
                guardrails=guardrails,
                request_body=body(),
                response_body=body(),
            )
        )
    return rows


def sql_agrees_with_matches(runner: asyncio.Runner, engine: Any, seed: int, filters: list[LogFilter]) -> None:
    """On the rows of ``seed``: each filter's SELECT (all in one query, then the first alone) and
    DELETE pick exactly the rows ``matches`` picks."""
    rows = random_rows(seed)
    runner.run(replace_rows(engine, rows))
    expected = [{row["id"] for row in rows if matches(f, row)} for f in filters]
    got = runner.run(select_ids_each(engine, filters))
    wrong = [f"{to_text(f)!r}: memory {sorted(e)}, SQL {sorted(g)}" for f, e, g in zip(filters, expected, got) if e != g]
    assert not wrong, f"rows of seed {seed}:\n" + "\n".join(wrong)
    first = filters[0]
    assert runner.run(select_ids(engine, first)) == expected[0], to_text(first)
    every = {row["id"] for row in rows}
    assert runner.run(ids_left_after_delete(engine, first)) == every - expected[0], to_text(first)


def check_sql_against_matches(runner: asyncio.Runner, engine: Any, filters: Any, max_examples: int) -> None:
    """Hypothesis over seeds and lists drawn from ``filters``, each run through
    :func:`sql_agrees_with_matches`; disposes of ``engine`` at the end."""

    # No shrink phase: shrinking re-runs the database for minutes; the failure message already
    # names the seed and each filter SQL and memory disagree on.
    @settings(max_examples=max_examples, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate])
    @given(st.integers(0, 2**32), st.lists(filters, min_size=8, max_size=16))
    def check(seed: int, chosen: list[LogFilter]) -> None:
        sql_agrees_with_matches(runner, engine, seed, chosen)

    try:
        check()
    finally:
        runner.run(engine.dispose())


def test_sql_selects_exactly_what_matches_selects(tmp_path: Path) -> None:
    with asyncio.Runner() as runner:
        engine = runner.run(open_db(tmp_path / "property.db"))
        check_sql_against_matches(runner, engine, pool_filters, max_examples=60)
