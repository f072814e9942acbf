"""The filter language: model validation, every parser, SQL compilation and the in-memory matcher."""

from __future__ import annotations

from pathlib import Path
from typing import Any, AsyncIterator, Iterable

import pytest
from sqlalchemy import case, delete, event, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from proxy_core.store.filters import (
    CF_KEYS,
    MAX_PER_PAGE,
    Condition,
    FilterError,
    LogFilter,
    Paging,
    matches,
    parse_json,
    parse_paging,
    parse_query,
    parse_text,
    to_json,
    to_text,
)
from proxy_core.store.filter_text import SHORT_KEYS
from proxy_core.store.filter_sql import compile_filter, filter_clause, order_clauses, search_clause
from proxy_core.store.logwriter import index_search_backlog
from proxy_core.store.migrate import upgrade_to_head
from proxy_core.store.models import Log, LogBody

# --- helpers shared with test_filters_property ------------------------------------------------

BODY_FIELDS = ("request_body", "response_body")


def log_row(id: str, **values: Any) -> dict[str, Any]:
    """A complete ``logs`` row as the log writer builds it; bodies may ride along (see replace_rows)."""
    row: dict[str, Any] = {
        "id": id, "account_id": "local", "gateway_id": "default", "created_at": 1_000, "provider": "openai",
        "model": None, "model_type": "chat", "path": "/v1/chat/completions", "request_type": "provider",
        "method": "POST", "status_code": 200, "success": True, "error_code": None, "error": None, "cached": False,
        "step": 0, "event_id": None, "duration": 10, "ttfb": None, "tokens_in": None, "tokens_out": None,
        "cost": None, "custom_cost": False, "metadata": None, "feedback": 0, "score": None, "guardrails": None,
        "request_content_type": None, "response_content_type": None, "request_size": 0, "response_size": 0,
        "body_stored": True, "body_truncated": False, "streamed": False,
    }  # fmt: skip
    row.update(values)
    return row


def _fast_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=OFF")  # a throwaway test database: skip the fsyncs
    cursor.execute("PRAGMA journal_mode=MEMORY")
    cursor.close()


async def open_db(path: Path) -> AsyncEngine:
    engine = create_async_engine(f"sqlite+aiosqlite:///{path}")
    event.listen(engine.sync_engine, "connect", _fast_pragmas)
    async with engine.begin() as conn:
        await conn.run_sync(upgrade_to_head)  # the real schema, search index included
    return engine


async def replace_rows(engine: AsyncEngine, rows: Iterable[dict[str, Any]]) -> None:
    """Empty both tables, then insert ``rows``, their bodies going to ``log_bodies``."""
    logs, bodies = [], []
    for row in rows:
        logs.append({k: v for k, v in row.items() if k not in BODY_FIELDS})
        if any(row.get(name) is not None for name in BODY_FIELDS):
            bodies.append({"log_id": row["id"], **{name: row.get(name) for name in BODY_FIELDS}})
    async with engine.begin() as conn:
        await conn.execute(delete(LogBody.__table__))
        await conn.execute(delete(Log.__table__))
        if logs:
            await conn.execute(insert(Log.__table__), logs)
        if bodies:
            await conn.execute(insert(LogBody.__table__), bodies)
        if engine.dialect.name == "sqlite":
            await index_search_backlog(conn, len(bodies) + 1)  # what the log writer does when idle


async def select_ids(engine: AsyncEngine, f: LogFilter) -> set[str]:
    async with engine.connect() as conn:
        result = await conn.execute(select(Log.__table__.c.id).where(*compile_filter(f, Log)))
        return {row[0] for row in result}


async def select_ids_each(engine: AsyncEngine, filters: list[LogFilter]) -> list[set[str]]:
    """For each filter, the ids it selects, all in one query (one CASE column per filter)."""
    logs = Log.__table__
    columns = [case((filter_clause(f), 1), else_=0) for f in filters]
    async with engine.connect() as conn:
        rows = (await conn.execute(select(logs.c.id, *columns))).all()
    return [{row[0] for row in rows if row[i + 1]} for i in range(len(filters))]


async def ids_left_after_delete(engine: AsyncEngine, f: LogFilter) -> set[str]:
    """The ids that ``DELETE FROM logs WHERE <f>`` leaves (rolled back afterwards)."""
    async with engine.connect() as conn:
        transaction = await conn.begin()
        await conn.execute(delete(Log).where(*compile_filter(f)))
        left = {row[0] for row in await conn.execute(select(Log.__table__.c.id))}
        await transaction.rollback()
        return left


def errors(call: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(FilterError) as info:
        call(*args, **kwargs)
    return str(info.value)


# --- the model -------------------------------------------------------------------------------


def test_condition_normalizes_values_by_key() -> None:
    assert Condition("success", "eq", "true").values == (True,)
    assert Condition("cached", "neq", [0, "FALSE"]).values == (False, False)
    assert Condition("cost", "gt", "0.01").values == (0.01,)
    assert Condition("tokens", "lt", ["100", 5.5]).values == (100, 5.5)
    assert Condition("feedback", "eq", ["-1", 1.0]).values == (-1, 1)
    assert Condition("created_at", "gt", "1970-01-01T00:00:01Z").values == (1000,)
    assert Condition("created_at", "lt", "2024-05-01").values == (1714521600000,)
    assert Condition("metadata.user", "eq", [5, True, "x"]).values == ("5", "true", "x")
    assert Condition("metadata.value", "eq", 1.5).values == ("1.5",)
    assert Condition("guardrail", "eq", "BLOCKED").values == ("blocked",)
    assert Condition("guardrail.category", "neq", ["s1", "S14"]).values == ("S1", "S14")
    assert Condition("model", "eq", None).values == (None,)
    assert Condition("provider", "eq", "openai") == Condition("provider", "eq", ["openai"])


def test_all_cloudflare_keys_and_extensions_are_accepted() -> None:
    samples = {"success": True, "cached": False, "cost": 1, "tokens": 1, "tokens_in": 1, "tokens_out": 1,
               "duration": 1, "feedback": 1, "created_at": 1}  # fmt: skip
    for key in CF_KEYS + ("status_code", "score", "step", "gateway_id", "metadata.user"):
        Condition(key, "eq", samples.get(key, "x" if key not in ("status_code", "score", "step") else 1))
    Condition("guardrail", "eq", "flagged")
    Condition("guardrail.category", "eq", "S3")


@pytest.mark.parametrize(
    ("key", "op", "values", "message"),
    [
        ("provder", "eq", ["x"], "unknown filter key 'provder'"),
        ("authentication", "eq", [True], "unknown filter key 'authentication'"),
        ("provider", "like", ["x"], "unknown operator 'like'"),
        ("provider", "lt", ["x"], "operator 'lt' does not apply to a string key"),
        ("cost", "contains", ["1"], "operator 'contains' does not apply to a number key"),
        ("success", "gt", [True], "operator 'gt' does not apply to a boolean key"),
        ("guardrail", "contains", ["b"], "operator 'contains' does not apply"),
        ("success", "eq", ["yes"], "filter 'success': value 'yes' is not a boolean"),
        ("cached", "eq", [None], "filter 'cached': null is not allowed"),
        ("cost", "gt", ["cheap"], "filter 'cost': value 'cheap' is not a number"),
        ("cost", "gt", [True], "value True is not a number"),
        ("cost", "gt", [float("nan")], "is not a number"),
        ("cost", "gt", [None], "null is not allowed with operator 'gt'"),
        ("feedback", "eq", [2], "filter 'feedback': value 2 is not a feedback value"),
        ("created_at", "gt", ["yesterday"], "filter 'created_at': value 'yesterday' is not a time"),
        ("created_at", "gt", [-5], "is not a time"),
        ("model", "eq", [5], "filter 'model': value 5 is not a string"),
        ("model", "contains", [None], "null is not allowed with operator 'contains'"),
        ("guardrail", "eq", ["maybe"], "value 'maybe' is not a guardrail action"),
        ("guardrail.category", "eq", ["S15"], "value 'S15' is not a guardrail category"),
        ("metadata.value", "eq", [None], "filter 'metadata.value': null is not allowed"),
        ("metadata.a b", "eq", ["x"], "metadata names may only hold"),
        ("metadata.user", "eq", [{"a": 1}], "is not a string"),
        ("provider", "eq", [], "needs at least one value"),
        ("provider", "eq", ["x"] * 101, "more than 100 values"),
        ("provider", "eq", ["x" * 1025], "longer than 1024"),
    ],
)
def test_condition_errors_name_the_problem(key: str, op: str, values: list[Any], message: str) -> None:
    error = errors(Condition, key, op, values)
    assert message in error
    with pytest.raises(ValueError):  # FilterError is a ValueError: the API turns it into a 400
        Condition(key, op, values)  # type: ignore[arg-type]


def test_filter_error_carries_the_key() -> None:
    with pytest.raises(FilterError) as info:
        Condition("cost", "gt", ["x"])
    assert info.value.key == "cost"


def test_log_filter_validation_and_combine() -> None:
    assert LogFilter().is_empty
    assert LogFilter(search="").search is None
    assert LogFilter(start_ms="1970-01-01T00:00:02Z").start_ms == 2000  # type: ignore[arg-type]
    assert "is after end" in errors(LogFilter, (), 10, 5)
    assert "search must be a string" in errors(LogFilter, (), None, None, 5)
    a = LogFilter((Condition("provider", "eq", "a"),), 10, 100, "x")
    b = LogFilter((Condition("model", "eq", "m"),), 20, 50, "y")
    assert a.combine(b) == LogFilter(a.conditions + b.conditions, 20, 50, "x y")
    with pytest.raises(AttributeError):
        a.search = "z"  # type: ignore[misc]


# --- JSON form ---------------------------------------------------------------------------------


def test_parse_json_cloudflare_array() -> None:
    f = parse_json([
        {"key": "provider", "operator": "eq", "value": ["openai", "groq"]},
        {"key": "cost", "operator": "gt", "value": 0.01},
        {"key": "metadata.value", "operator": "eq", "value": ["alice"]},
    ])  # fmt: skip
    assert f.conditions == (
        Condition("provider", "eq", ("openai", "groq")),
        Condition("cost", "gt", (0.01,)),
        Condition("metadata.value", "eq", ("alice",)),
    )
    assert parse_json('[{"key": "success", "operator": "eq", "value": [false]}]').conditions == (
        Condition("success", "eq", (False,)),
    )
    assert parse_json({"key": "model", "operator": "neq", "value": None}).conditions == (Condition("model", "neq", None),)
    assert parse_json(None) == LogFilter() == parse_json("[]")


def test_json_document_round_trip() -> None:
    f = LogFilter((Condition("feedback", "eq", (-1, 1)), Condition("metadata.user", "eq", "bob")), 5, 10, "hi")
    doc = to_json(f)
    assert doc == {
        "filters": [
            {"key": "feedback", "operator": "eq", "value": [-1, 1]},
            {"key": "metadata.user", "operator": "eq", "value": ["bob"]},
        ],
        "start_ms": 5,
        "end_ms": 10,
        "search": "hi",
    }
    assert parse_json(doc) == f
    assert to_json(LogFilter()) == {"filters": []}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("[{", "filters: not valid JSON"),
        ('"x"', "expected a JSON array"),
        ([{"key": "provider", "value": ["x"]}], "filters[0]: missing 'operator'"),
        ([{"key": "provider", "operator": "eq", "value": "a"}, "x"], "filters[1]: expected an object"),
        ([{"key": "cost", "operator": "contains", "value": ["1"]}], "filters[0]: filter 'cost': operator 'contains'"),
        ({"filters": [], "extra": 1}, "unknown field(s) extra"),
    ],
)
def test_parse_json_errors(data: Any, message: str) -> None:
    assert message in errors(parse_json, data)


# --- query strings -----------------------------------------------------------------------------


def test_parse_query_flattened_form_as_the_cloudflare_sdk_sends_it() -> None:
    from cloudflare._qs import Querystring

    filters = [
        {"key": "metadata.value", "operator": "eq", "value": ["alice", "bob"]},
        {"key": "cost", "operator": "gt", "value": [0.01]},
        {"key": "success", "operator": "eq", "value": [True]},
    ]
    pairs = Querystring(nested_format="dots", array_format="repeat").stringify_items({"filters": filters, "page": 2})
    assert parse_query(pairs).conditions == (
        Condition("metadata.value", "eq", ("alice", "bob")),
        Condition("cost", "gt", (0.01,)),
        Condition("success", "eq", (True,)),
    )


def test_parse_query_flattened_form_zipped_by_position() -> None:
    pairs = [
        ("filters.key", "metadata.value"), ("filters.key", "cost"), ("filters.operator", "eq"),
        ("filters.operator", "gt"), ("filters.value", "alice"), ("filters.value", "0.01"),
    ]  # fmt: skip
    assert parse_query(pairs).conditions == (Condition("metadata.value", "eq", "alice"), Condition("cost", "gt", 0.01))
    assert parse_query([("filters.key", "model"), ("filters.operator", "eq"), ("filters.value", "null")]).conditions == (
        Condition("model", "eq", None),
    )


def test_parse_query_flattened_errors() -> None:
    pairs = [("filters.key", "cost"), ("filters.key", "model"), ("filters.operator", "gt"), ("filters.value", "1")]
    assert "as many keys, operators and values (2 filters.key, 1 filters.operator, 1 filters.value)" in errors(parse_query, pairs)
    bad = [("filters.key", "cost"), ("filters.operator", "gt"), ("filters.value", "lots")]
    assert "filters[0]: filter 'cost': value 'lots' is not a number" in errors(parse_query, bad)


def test_parse_query_simple_parameters() -> None:
    query = {
        "provider": "openai", "model": "gpt-4o", "model_type": "chat", "request_content_type": "application/json",
        "response_content_type": "text/event-stream", "event_id": "ev1", "success": "false", "cached": "true",
        "feedback": "1", "min_cost": "0.5", "max_cost": "2", "min_duration": "10", "max_duration": "20",
        "min_tokens_in": "1", "max_tokens_in": "2", "min_tokens_out": "3", "max_tokens_out": "4",
        "min_total_tokens": "5", "max_total_tokens": "6", "start_date": "2024-05-01T00:00:00Z",
        "end_date": "2024-05-02T00:00:00.5+00:00", "search": "hello", "page": "3", "per_page": "50",
        "order_by": "cost", "order_by_direction": "asc", "direction": "asc", "meta_info": "true", "whatever": "1",
    }  # fmt: skip
    f = parse_query(query)
    assert f.conditions == (
        Condition("provider", "eq", "openai"), Condition("model", "eq", "gpt-4o"), Condition("model_type", "eq", "chat"),
        Condition("request_content_type", "eq", "application/json"),
        Condition("response_content_type", "eq", "text/event-stream"), Condition("event_id", "eq", "ev1"),
        Condition("success", "eq", False), Condition("cached", "eq", True), Condition("feedback", "eq", 1),
        Condition("cost", "gte", 0.5), Condition("cost", "lte", 2), Condition("duration", "gte", 10),
        Condition("duration", "lte", 20), Condition("tokens_in", "gte", 1), Condition("tokens_in", "lte", 2),
        Condition("tokens_out", "gte", 3), Condition("tokens_out", "lte", 4), Condition("tokens", "gte", 5),
        Condition("tokens", "lte", 6),
    )  # fmt: skip
    assert (f.start_ms, f.end_ms, f.search) == (1714521600000, 1714608000500, "hello")


def test_parse_query_mixes_forms_and_repeats() -> None:
    pairs = [
        ("filters", '[{"key": "tokens", "operator": "lt", "value": [100]}]'),
        ("provider", "openai"), ("provider", "groq"), ("model", ""),
        ("filters.key", "feedback"), ("filters.operator", "eq"), ("filters.value", "-1"),
    ]  # fmt: skip
    assert parse_query(pairs).conditions == (
        Condition("feedback", "eq", -1),
        Condition("tokens", "lt", 100),
        Condition("provider", "eq", ("openai", "groq")),
    )


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"min_cost": "cheap"}, "query parameter min_cost: filter 'cost': value 'cheap' is not a number"),
        ({"success": "maybe"}, "query parameter success: filter 'success': value 'maybe' is not a boolean"),
        ({"feedback": "5"}, "query parameter feedback"),
        ({"start_date": "last week"}, "start_date: 'last week' is not an ISO 8601 date-time"),
        ({"start_date": "2024-05-02", "end_date": "2024-05-01"}, "is after end"),
        ({"filters": "{not json"}, "filters: not valid JSON"),
    ],
)
def test_parse_query_errors(query: dict[str, str], message: str) -> None:
    assert message in errors(parse_query, query)


def test_parse_paging() -> None:
    assert parse_paging({}) == Paging(1, 20, "created_at", "desc", None)
    paging = parse_paging([("page", "3"), ("per_page", "50"), ("order_by", "cost"), ("direction", "ASC"), ("limit", "7")])
    assert paging == Paging(3, 50, "cost", "asc", 7)
    assert paging.offset == 100
    assert parse_paging({"order_by_direction": "asc", "direction": "desc"}).direction == "asc"
    assert parse_paging({"per_page": str(MAX_PER_PAGE)}).per_page == MAX_PER_PAGE


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"page": "0"}, "page: '0' is not an integer of at least 1"),
        ({"page": "two"}, "page: 'two'"),
        ({"per_page": "101"}, "per_page: '101' is not an integer between 1 and 100"),
        ({"order_by": "path"}, "order_by: 'path' is not one of created_at"),
        ({"order_by_direction": "up"}, "order_by_direction: 'up' is not asc or desc"),
        ({"limit": "-1"}, "limit: '-1'"),
    ],
)
def test_parse_paging_errors(query: dict[str, str], message: str) -> None:
    assert message in errors(parse_paging, query)


def test_order_clauses() -> None:
    sql = str(select(Log.id).order_by(*order_clauses(Paging(order_by="cost", direction="asc"))))
    assert "ORDER BY logs.cost ASC, logs.id ASC" in sql


# --- text form ---------------------------------------------------------------------------------

NOW = 1_714_521_600_000  # 2024-05-01T00:00:00Z


def test_parse_text_example_from_the_brief() -> None:
    text = (
        'provider:openai status:error cost>0.01 meta.user=alice model:gpt-4o,gpt-4o-mini feedback:-1 tokens<100 '
        'cached:true since:1h "free text search" -provider:anthropic event:abc guardrail:blocked'
    )
    assert parse_text(text, now_ms=NOW) == LogFilter(
        (
            Condition("provider", "eq", "openai"), Condition("success", "eq", False), Condition("cost", "gt", 0.01),
            Condition("metadata.user", "eq", "alice"), Condition("model", "eq", ("gpt-4o", "gpt-4o-mini")),
            Condition("feedback", "eq", -1), Condition("tokens", "lt", 100), Condition("cached", "eq", True),
            Condition("provider", "neq", "anthropic"), Condition("event_id", "eq", "abc"),
            Condition("guardrail", "eq", "blocked"),
        ),  # fmt: skip
        start_ms=NOW - 3_600_000,
        search="free text search",
    )


@pytest.mark.parametrize(
    ("text", "condition"),
    [
        ("model=gpt-4o", Condition("model", "eq", "gpt-4o")),
        ("model!=gpt-4o", Condition("model", "neq", "gpt-4o")),
        ("-model:gpt-4o", Condition("model", "neq", "gpt-4o")),
        ("model~GPT", Condition("model", "contains", "GPT")),
        ("cost>=1.5", Condition("cost", "gte", 1.5)),
        ("cost<=2", Condition("cost", "lte", 2)),
        ("duration>100", Condition("duration", "gt", 100)),
        ('model:"gpt 4",null', Condition("model", "eq", ("gpt 4", None))),
        ('model:"null"', Condition("model", "eq", "null")),
        ('event_id:"say \\"hi\\""', Condition("event_id", "eq", 'say "hi"')),
        ("status:ok,success", Condition("success", "eq", (True, True))),
        ("-status:failed", Condition("success", "neq", False)),
        ("status:404,500", Condition("status_code", "eq", (404, 500))),
        ("status>499", Condition("status_code", "gt", 499)),
        ("meta.user:alice", Condition("metadata.user", "eq", "alice")),
        ("META.User:alice", Condition("metadata.User", "eq", "alice")),
        ("metadata.team.name:x", Condition("metadata.team.name", "eq", "x")),
        ("meta.key:user", Condition("metadata.key", "eq", "user")),
        ("meta.value~ali", Condition("metadata.value", "contains", "ali")),
        ("gateway:default", Condition("gateway_id", "eq", "default")),
        ("category:s1,S2", Condition("guardrail.category", "eq", ("S1", "S2"))),
        ("Provider:openai", Condition("provider", "eq", "openai")),
        ("created_at>2024-05-01T00:00:00Z", Condition("created_at", "gt", NOW)),
        ("created_at<1000", Condition("created_at", "lt", 1000)),
        ("score>=90 step:1", Condition("score", "gte", 90)),
    ],
)
def test_parse_text_conditions(text: str, condition: Condition) -> None:
    assert parse_text(text).conditions[0] == condition


def test_parse_text_search_and_time() -> None:
    f = parse_text('hello   "big world"  again since:15m until:2024-05-01T02:00:00Z', now_ms=NOW + 3_600_000)
    assert f.search == "hello big world again"
    assert (f.start_ms, f.end_ms) == (NOW + 3_600_000 - 900_000, NOW + 7_200_000)
    assert parse_text("since:7d", now_ms=NOW).start_ms == NOW - 7 * 86_400_000
    assert parse_text("until=1714521600000").end_ms == NOW
    assert parse_text("   ") == LogFilter()


def test_an_unknown_key_lists_the_documented_short_keys_on_one_line() -> None:
    with pytest.raises(FilterError) as caught:
        parse_text("provder:openai")
    message = str(caught.value)
    assert message == (
        f"at position 0 ('provder:openai'): unknown filter key 'provder'; keys: {SHORT_KEYS} "
        "(quote the term to search for it)"
    )
    assert "\n" not in message and "request_content_type" not in message and "meta.NAME" in message
    for key in SHORT_KEYS.replace("meta.NAME", "meta.user").split():  # every key listed is a known one
        try:
            parse_text(f"{key}:1h")
        except FilterError as exc:  # a value of the wrong type is fine here: the key was understood
            assert "unknown filter key" not in str(exc), key


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("provider:openai provder:x", "at position 16 ('provder:x'): unknown filter key 'provder'", 16),
        ("cost>abc", "at position 0 ('cost>abc'): filter 'cost': value 'abc' is not a number", 0),
        ("model~", "at position 6 ('model~'): missing value", 6),
        ("model:a,,b", "at position 8 ('model:a,,b'): missing value", 8),
        ('model:"abc', "at position 6: unterminated quote", 6),
        ('"abc"def', "at position 5 ('\"abc\"def'): unexpected text after the closing quote", 5),
        ('model:a"b"', "a quote may only open a value", 7),
        ('model:"a"b', "expected ',' between values", 9),
        ("-cost>5", "'-' only negates key:value, not '>'", 0),
        ("-hello", "'-' negates a key:value condition", 0),
        ("hello!", "unknown operator", 5),
        (":x", "missing key before the operator", 0),
        ("since>1h", "since takes ':' or '='", 5),
        ("since:1h since:2h", "since given twice", 9),
        ("since:1y", "'1y' is not a duration", 6),
        ("since:1h,2h", "since/until take exactly one time", 6),
        ("status:error,404", "status takes error/failed/success/ok or status codes", 0),
        ("success:maybe", "filter 'success': value 'maybe' is not a boolean", 0),
        ("cost~1", "operator 'contains' does not apply to a number key", 0),
        ("since:1h until:2h", "since/until: time range: start", None),
    ],
)
def test_parse_text_errors_say_which_term_and_where(text: str, message: str, position: int | None) -> None:
    with pytest.raises(FilterError) as info:
        parse_text(text, now_ms=NOW)
    assert message in str(info.value)
    assert info.value.position == position


def test_to_text_round_trips_awkward_values() -> None:
    f = LogFilter(
        (
            Condition("model", "eq", ("", "null", None, 'a "b"', "c,d", "back\\slash", "tab\there", "-x", "a:b")),
            Condition("metadata.user", "neq", ("5", None)),
            Condition("created_at", "gte", 1234),
            Condition("cost", "lt", (1e-05, 3)),
            Condition("success", "eq", True),
            Condition("provider", "contains", "Open AI"),
        ),
        start_ms=1,
        end_ms=2,
        search=' quoted "search" ',
    )
    text = to_text(f)
    assert text.startswith('model:"","null",null,"a \\"b\\"","c,d","back\\\\slash","tab\there",-x,a:b ')
    assert "created_at>=1970-01-01T00:00:01.234Z" in text
    assert parse_text(text) == f


# --- SQL and matches on one small data set ----------------------------------------------------

ROWS = [
    log_row(
        "a", provider="openai", model="gpt-4o", success=True, cost=0.02, tokens_in=100, tokens_out=50, duration=300,
        feedback=1, status_code=200, created_at=1_000, event_id="ev1", request_content_type="application/json",
        response_content_type="application/json", score=90, request_type="provider", model_type="chat",
        metadata={"user": "alice", "n": 5, "flag": True}, guardrails={"action": "passed", "categories": []},
        request_body=b'{"q": "Hello World"}', response_body=b"answer: 100%",
    ),
    log_row(
        "b", provider="anthropic", model="claude-3", success=False, status_code=500, duration=1000, feedback=-1,
        created_at=2_000, step=1, request_type="universal", gateway_id="other", metadata={"user": "bob", "n": "5.0"},
        guardrails={"action": "blocked", "categories": ["S1", "S10"]}, response_content_type="text/event-stream",
    ),
    log_row(
        "c", provider="openai", success=True, cached=True, cost=0.0, tokens_in=10, duration=5, created_at=3_000,
        event_id="ev2", request_type="compat", guardrails={"action": "flagged", "categories": ["S2"]},
        request_body=b"snake_case here",
    ),
    log_row(
        "d", provider="groq", model="llama-3", cost=1.5, tokens_in=1000, tokens_out=2000, duration=50,
        created_at=4_000, event_id="EV1", metadata={"user": "Alice Smith", "n": 5.5, "team": "x_y"},
        model_type="embeddings", score=40,
    ),
]  # fmt: skip

CASES = [
    ("id:a,d", "ad"), ("-id:a", "bcd"), ("id~A", "a"),
    ("created_at>1000", "bcd"), ("created_at<2000", "a"), ("created_at>=2000 created_at<=3000", "bc"),
    ("created_at:1970-01-01T00:00:03Z", "c"),
    ("request_content_type:application/json", "a"), ("request_content_type:null", "bcd"),
    ("-request_content_type:application/json", "bcd"), ("response_content_type~STREAM", "b"),
    ("request_type:compat,universal", "bc"), ("-request_type:compat,universal", "ad"),
    ("success:true", "acd"), ("success:false", "b"), ("status:error", "b"), ("-success:true", "b"),
    ("cached:true", "c"), ("cached:false", "abd"),
    ("provider:openai", "ac"), ("-provider:openai", "bd"), ("provider~OPEN", "ac"), ("provider:OpenAI", ""),
    ("model:gpt-4o,null", "ac"), ("model:null", "c"), ("-model:null", "abd"), ("-model:gpt-4o", "bcd"),
    ("model~gpt,LLAMA", "ad"),
    ("model_type:embeddings", "d"), ("model_type~at", "abc"),
    ("cost>0.01", "ad"), ("cost<0.02", "c"), ("cost<=0.02", "ac"), ("cost:0", "c"), ("cost:null", "b"),
    ("-cost:null", "acd"), ("-cost:0", "abd"),
    ("tokens>100", "ad"), ("tokens:150", "a"), ("tokens:10", "c"), ("tokens:null", "b"), ("tokens<=10", "c"),
    ("tokens_in>=100", "ad"), ("tokens_out<100", "a"), ("tokens_out:null", "bc"),
    ("duration>100", "ab"), ("duration<=50", "cd"),
    ("feedback:-1", "b"), ("-feedback:0", "ab"), ("feedback>0", "a"), ("feedback:1,-1", "ab"),
    ("event_id:ev1", "a"), ("event_id~EV1", "ad"), ("event_id:null", "b"), ("-event_id:ev1", "bcd"),
    ("metadata.key:team", "d"), ("metadata.key:user", "abd"), ("-metadata.key:user", "c"), ("metadata.key~FL", "a"),
    ("metadata.value:alice", "a"), ("metadata.value:5", "a"), ("metadata.value:5.0", "ab"), ("metadata.value:true", "a"),
    ("metadata.value~ALICE", "ad"), ("-metadata.value:alice,bob", "cd"), ("metadata.value~_", "d"),
    ("meta.user:alice", "a"), ("meta.user:alice,bob", "ab"), ("-meta.user:alice", "bcd"), ("meta.user:null", "c"),
    ("-meta.user:null", "abd"), ("meta.user~alice", "ad"), ("meta.n:5", "a"), ("meta.n:5.5", "d"),
    ("meta.n:5.0", "ab"), ("meta.flag:true", "a"), ("meta.flag:1", ""), ("meta.n~5", "b"),
    ("status_code:500", "b"), ("status>=500", "b"), ("-status_code:500", "acd"),
    ("score>50", "a"), ("score:null", "bc"), ("-score:90", "bcd"),
    ("step:1", "b"), ("step<1", "acd"), ("gateway_id:other", "b"), ("gateway:default", "acd"),
    ("guardrail:blocked,flagged", "bc"), ("-guardrail:blocked", "acd"), ("guardrail:passed", "a"), ("guardrail:null", "d"),
    ("category:S1", "b"), ("category:S10", "b"), ("category:S2,S1", "bc"), ("-category:S1", "acd"),
    ("since:1970-01-01T00:00:02Z", "bcd"), ("until:2000", "ab"), ("since:2000 until:3000", "bc"),
    ("world", "a"), ('"100%"', "a"), ("snake_case", "c"), ("_", "cd"), ("alice", "ad"), ("nothing-like-it", ""),
    ("provider:openai,groq cost>0.01 -model:llama-3", "a"),
]  # fmt: skip


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = await open_db(tmp_path / "filters.db")
    await replace_rows(engine, ROWS)
    yield engine
    await engine.dispose()


async def test_every_key_and_operator_selects_the_same_rows_in_sql_and_in_memory(engine: AsyncEngine) -> None:
    failures = []
    for text, expected in CASES:
        f = parse_text(text)
        in_memory = {row["id"] for row in ROWS if matches(f, row)}
        in_sql = await select_ids(engine, f)
        if not (in_memory == in_sql == set(expected)):
            failures.append(f"{text!r}: expected {sorted(expected)}, memory {sorted(in_memory)}, sql {sorted(in_sql)}")
    assert not failures, "\n".join(failures)


async def test_delete_by_filter(engine: AsyncEngine) -> None:
    assert await ids_left_after_delete(engine, parse_text("meta.user~alice")) == {"b", "c"}
    assert await ids_left_after_delete(engine, parse_text("world")) == {"b", "c", "d"}
    assert await ids_left_after_delete(engine, parse_text("category:S1")) == {"a", "c", "d"}


async def test_orm_select_with_filter_clause(engine: AsyncEngine) -> None:
    from sqlalchemy.ext.asyncio import async_sessionmaker

    async with async_sessionmaker(engine)() as session:
        logs = (await session.scalars(select(Log).where(filter_clause(parse_text("-provider:openai"))))).all()
        assert sorted(log.id for log in logs) == ["b", "d"]
        everything = (await session.scalars(select(Log).where(filter_clause(LogFilter())))).all()
        assert len(everything) == 4


def test_matches_without_bodies_uses_metadata_for_search() -> None:
    row = log_row("x", metadata={"user": "alice"})
    assert matches(parse_text("ALICE"), row)
    assert not matches(parse_text("hello"), row)
    assert matches(parse_text("hello"), {**row, "response_body": "say Hello"})
    assert matches(LogFilter(), {})


def test_postgresql_rendering() -> None:
    dialect = postgresql.dialect()
    f = parse_text('meta.user:alice meta.n:5 metadata.key:user -metadata.value:x category:S1 guardrail:blocked "hi"')
    sql = str(select(Log.id).where(*compile_filter(f)).compile(dialect=dialect))
    assert "json_typeof" in sql and "json_each(CASE WHEN" in sql and "json_array_elements_text" in sql
    assert "CAST(" in sql and "AS NUMERIC)" in sql and "convert_from(log_bodies.request_body" in sql and "translate(" in sql
    assert "json_extract" not in sql
    lite = str(select(Log.id).where(*compile_filter(f)).compile(dialect=sqlite.dialect()))
    assert "json_extract" in lite and "json_each(logs.metadata)" in lite and "json_typeof" not in lite


def test_search_clause_is_one_replaceable_clause() -> None:
    sql = str(select(Log.id).where(search_clause("hi")).compile(dialect=sqlite.dialect()))
    assert "logs_fts MATCH" in sql and "log_bodies.rowid" in sql
    no_words = str(select(Log.id).where(search_clause("%%")).compile(dialect=sqlite.dialect()))
    assert "CAST(log_bodies.request_body AS TEXT)" in no_words


async def test_compile_against_a_table_alias_and_an_aliased_class(engine: AsyncEngine) -> None:
    from sqlalchemy.orm import aliased

    f = parse_text("meta.user~alice category:S1,S2 world -provider:groq")  # no row has all of these
    g = parse_text("meta.user~alice -provider:groq")
    table_alias = Log.__table__.alias("l")
    class_alias = aliased(Log, name="k")
    async with engine.connect() as conn:
        for target, id_column in ((table_alias, table_alias.c.id), (class_alias, class_alias.id)):
            assert (await conn.execute(select(id_column).where(*compile_filter(f, target)))).all() == []
            rows = (await conn.execute(select(id_column).where(*compile_filter(g, target)))).all()
            assert [row[0] for row in rows] == ["a"]
