"""The filter language compiled to SQL (SQLite and PostgreSQL): the other half of
:func:`proxy_core.store.filters.matches`, and required to agree with it (property-tested on both).

Dialects
    Plain columns compile to portable SQL. The JSON tests (metadata, guardrail categories) and the
    case folding are written for SQLite (``json_each``/``json_type``/``lower``) and PostgreSQL
    (``json_each``/``json_typeof``/``translate`` on the ``json`` columns; bodies through
    ``convert_from(…, 'LATIN1')``) and chosen when a statement is compiled; other dialects get the
    SQLite form. Both were checked against :func:`matches` on real servers (SQLite 3.40, PG 15).
"""

from __future__ import annotations

from typing import Any, Callable

from sqlalchemy import (
    Boolean,
    Float,
    Integer,
    Numeric,
    String,
    Text,
    and_,
    case,
    cast,
    func,
    inspect,
    literal,
    literal_column,
    not_,
    null,
    or_,
    select,
    true,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import column as sql_column
from sqlalchemy.sql import table as sql_table
from sqlalchemy.sql.elements import ColumnElement

from proxy_core.store.filters.model import (  # the model's package-private helpers, shared on purpose
    _COMPARE,
    _K,
    Condition,
    LogFilter,
    Value,
    _fold,
    _kind,
    _number,
    search_tokens,
)
from proxy_core.store.filters.query import Paging
from proxy_core.store.models import Log, LogBody

__all__ = ["compile_filter", "filter_clause", "order_clauses", "search_clause", "PG_BODY_SEARCH"]


def order_clauses(paging: Paging, target: Any = Log) -> list[Any]:
    """ORDER BY clauses for ``paging`` with ``id`` as the tie-breaker (stable pages)."""
    cols = _table(target).c
    column, tie = cols[paging.order_by], cols["id"]
    if paging.direction == "asc":
        return [column.asc(), tie.asc()]
    return [column.desc(), tie.desc()]


class _PerDialect(ColumnElement[bool]):
    """A boolean clause built at compile time for the dialect at hand (SQLite's is the default).

    JSON and case folding have no portable SQL, so those tests are written twice, for SQLite
    (json_each / json_type / lower) and PostgreSQL (json_each / json_typeof / translate), and
    this element picks one when the statement is compiled, keeping compile_filter dialect-free.
    """

    inherit_cache = False  # holds builders, not bind parameters: never cache the statement
    type = Boolean()

    def __init__(self, sqlite: _Builder, postgresql: _Builder) -> None:
        self.builders = {"sqlite": sqlite, "postgresql": postgresql}


_Builder = Callable[[], ColumnElement[bool]]


@compiles(_PerDialect)
def _compile_per_dialect(element: _PerDialect, compiler: Any, **kw: Any) -> str:
    build = element.builders.get(compiler.dialect.name, element.builders["sqlite"])
    return "(" + compiler.process(build(), **kw) + ")"


def _per_dialect(build: Callable[[bool], ColumnElement[bool]]) -> _PerDialect:
    """``build(pg)`` for SQLite (``pg=False``) or PostgreSQL (``pg=True``)."""
    return _PerDialect(lambda: build(False), lambda: build(True))


_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _table(target: Any) -> Any:
    """The logs selectable of a mapped class, aliased class or table (``Log`` by default)."""
    found = inspect(target)
    return getattr(found, "selectable", found)


def _lit(value: Value) -> Any:
    kinds = {bool: Boolean(), int: Integer(), float: Float()}
    return literal(value, kinds.get(type(value), String()))


def _is(expr: Any, value: Value) -> ColumnElement[bool]:
    """``expr = value`` that is FALSE, never NULL, when ``expr`` is NULL (so NOT is exact)."""
    return and_(expr.is_not(None), expr == _lit(value))


def _pattern(text: str) -> str:
    return "%" + text.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"


def _contains(expr: Any, values: tuple[Value, ...]) -> ColumnElement[bool]:
    """Case-insensitive substring, folding ASCII only on every dialect (as :func:`matches` does)."""

    def build(pg: bool) -> ColumnElement[bool]:
        folded = func.translate(expr, _UPPER, _UPPER.lower()) if pg else func.lower(expr)
        tests = [folded.like(_pattern(_fold(str(v))), escape="/") for v in values]
        return and_(expr.is_not(None), or_(*tests))

    return _per_dialect(build)


def _entry_sql(t: Any, x: Any, op: str, values: tuple[Value, ...], pg: bool) -> ColumnElement[bool]:
    """A JSON entry of type ``t`` (json_type / json_typeof) and SQL value ``x`` against text
    values, as :func:`_meta_equals` compares them."""
    string = "string" if pg else "text"
    if op == "contains":
        return and_(t.is_not(None), t == string, _contains(x, values))
    tests = []
    for value in map(str, values):
        tests.append(and_(t.is_not(None), t == string, x == literal(value, String())))
        if value in ("true", "false"):  # SQLite's json_type says true/false; PostgreSQL's 'boolean'
            tests.append(and_(t.is_not(None), t == "boolean", x == value) if pg else and_(t.is_not(None), t == value))
        number = _number(value)
        if number is not None and pg:  # the CASE keeps PostgreSQL from casting a string
            numeric = case((t == "number", cast(x, Numeric())), else_=null())
            tests.append(and_(t.is_not(None), t == "number", numeric == _lit(float(number))))
        elif number is not None:
            tests.append(and_(t.is_not(None), t.in_(["integer", "real"]), x == _lit(number)))
    return or_(*tests)


def _json_object(column: Any) -> Any:
    """PostgreSQL: ``column`` if it holds a JSON object, else NULL (json_each would raise)."""
    return case((func.json_typeof(column) == "object", column), else_=null())


def _metadata_clause(c: Condition, logs: Any) -> ColumnElement[bool]:
    kind, op, m = _kind(c.key), c.operator, logs.c["metadata"]
    if kind is _K.META:
        name = c.key[len("metadata.") :]
        given = tuple(v for v in c.values if v is not None)

        def entry(pg: bool) -> ColumnElement[bool]:
            if pg:
                key = literal(name, Text())
                x, t = _json_object(m).op("->>")(key), func.json_typeof(_json_object(m).op("->")(key))
            else:
                path = f'$."{name}"'
                x, t = func.json_extract(m, path), func.json_type(m, path)
            tests = [_entry_sql(t, x, op, given, pg)] if given else []
            return or_(*tests, *([x.is_(None)] if None in c.values else []))

        return _per_dialect(entry)

    def each(pg: bool) -> ColumnElement[bool]:
        if pg:
            entries = func.json_each(_json_object(m)).table_valued("key", "value", joins_implicitly=True)
            t, x = func.json_typeof(entries.c.value), entries.c.value.op("#>>")(literal_column("'{}'"))
            guard = true()
        else:
            entries = func.json_each(m).table_valued("key", "value", "type", joins_implicitly=True)
            t, x, guard = entries.c.type, entries.c.value, func.json_type(m) == "object"
        if kind is _K.META_VALUE:
            test = _entry_sql(t, x, op, c.values, pg)
        elif op == "contains":
            test = _contains(entries.c.key, c.values)
        else:
            test = entries.c.key.in_([str(v) for v in c.values])
        return select(literal(1)).select_from(entries).where(guard, test).exists()

    return _per_dialect(each)


def _category_clause(c: Condition, logs: Any) -> ColumnElement[bool]:
    g = logs.c["guardrails"]

    def build(pg: bool) -> ColumnElement[bool]:
        if pg:
            found = _json_object(g).op("->")(literal("categories", Text()))
            array = case((func.json_typeof(found) == "array", found), else_=null())
            cats = func.json_array_elements_text(array).table_valued("value", joins_implicitly=True)
            where = [cats.c.value.in_(list(c.values))]
        else:
            cats = func.json_each(g, "$.categories").table_valued("value", "type", joins_implicitly=True)
            where = [func.json_type(g) == "object", cats.c.type == "text", cats.c.value.in_(list(c.values))]
        return select(literal(1)).select_from(cats).where(*where).exists()

    return _per_dialect(build)


def _column(key: str, logs: Any) -> Any:
    cols = logs.c
    if key == "tokens":  # NULL only when both sides are
        tin, tout = cols["tokens_in"], cols["tokens_out"]
        both_null = and_(tin.is_(None), tout.is_(None))
        return case((both_null, null()), else_=func.coalesce(tin, 0) + func.coalesce(tout, 0))
    if key == "guardrail":
        return cols["guardrails"]["action"].as_string()
    return cols[key]


def _condition_clause(c: Condition, logs: Any) -> ColumnElement[bool]:
    kind, op = _kind(c.key), c.operator
    if kind in (_K.META, _K.META_KEY, _K.META_VALUE):
        positive = _metadata_clause(c, logs)
    elif kind is _K.CATEGORY:
        positive = _category_clause(c, logs)
    elif op == "contains":
        positive = _contains(_column(c.key, logs), c.values)
    elif op in ("eq", "neq"):
        expr = _column(c.key, logs)
        positive = or_(*(expr.is_(None) if v is None else _is(expr, v) for v in c.values))
    else:
        expr = _column(c.key, logs)
        positive = and_(expr.is_not(None), or_(*(_COMPARE[op](expr, _lit(v)) for v in c.values)))
    return not_(positive) if op == "neq" else positive


def _pg_body_contains(body: Any, text: str) -> ColumnElement[bool]:
    """PostgreSQL: ``text`` in a bytea body, bytes compared as SQLite does (ASCII case folded).

    LATIN1 maps every byte to one character, so the match is a byte-substring match even for
    invalid UTF-8; text cannot hold NUL, so bodies with NUL bytes get an exact byte search.
    """
    folded = func.translate(func.convert_from(body, "LATIN1"), _UPPER, _UPPER.lower())
    pattern = _pattern(_fold(text).encode().decode("latin-1"))
    has_nul = func.position(literal_column("'\\x00'::bytea").op("IN")(body)) > 0
    exact = func.position(func.decode(text.encode().hex(), "hex").op("IN")(body)) > 0
    return and_(body.is_not(None), case((has_nul, exact), else_=folded.like(pattern, escape="/")))


PG_BODY_SEARCH = "translate(substr(encode({0}, 'escape'), 1, 65536), '" + _UPPER + "', '" + _UPPER.lower() + "')"
"""The text PostgreSQL's trigram indexes hold for a body (migration 0009 builds them on exactly
this expression, which is how the planner finds them): the body's ``escape`` encoding (NUL, ``\\``
and bytes over 0x7f become ``\\nnn``/``\\\\``, so a byte substring stays a substring), its
first 64 KiB as in SQLite's index, ASCII folded."""


def _escape_encoded(text: str) -> str:
    """``text``'s UTF-8 bytes as PostgreSQL's ``encode(…, 'escape')`` writes them."""
    out = []
    for byte in text.encode():
        if byte == 0 or byte >= 0x80:
            out.append(f"\\{byte:03o}")
        elif byte == 0x5C:
            out.append("\\\\")
        else:
            out.append(chr(byte))
    return "".join(out)


def _pg_indexed_body(body: Any, text: str) -> ColumnElement[bool]:
    """The trigram index's test for ``text`` in ``body``: a superset of the exact test within the
    indexed first 64 KiB, which the planner answers from ``ix_log_bodies_*_trgm``."""
    indexed = literal_column(PG_BODY_SEARCH.format(f"{body.table.name}.{body.name}"), String())
    return indexed.like(_pattern(_escape_encoded(_fold(text))), escape="/")


_FTS = sql_table("logs_fts", sql_column("rowid"))
_BODY_ROWID = literal_column("log_bodies.rowid")


def _fts_query(tokens: list[str]) -> str:
    """Every word must start a word of the bodies: ``"hel"* "wor"*`` (implicit AND)."""
    return " ".join(f'"{token}"*' for token in tokens)


def search_clause(text: str, logs: Any = Log) -> ColumnElement[bool]:
    """The free-text search over prompts and responses, and string metadata values.

    On SQLite it reads the FTS5 index kept by triggers on ``log_bodies`` (words, each matched
    as a prefix, all required; ``hel wor`` finds "hello world"), so it stays fast on a million
    logs; a search with no words (punctuation only) is a case-insensitive substring scan. On
    PostgreSQL it is a case-insensitive substring match within the first 64 KiB of each body,
    found through the trigram indexes (:data:`PG_BODY_SEARCH`) and rechecked exactly. A string
    metadata value containing the whole search also matches.
    """
    table, bodies = _table(logs), LogBody.__table__
    columns = (bodies.c.request_body, bodies.c.response_body)
    tokens = search_tokens(text)

    def in_bodies(pg: bool) -> ColumnElement[bool]:
        if pg:
            hits = [and_(_pg_indexed_body(col, text), _pg_body_contains(col, text)) for col in columns]
            return table.c.id.in_(select(bodies.c.log_id).where(or_(*hits)))
        if tokens:
            indexed = select(_FTS.c.rowid).where(literal_column("logs_fts").op("MATCH")(_fts_query(tokens)))
            return table.c.id.in_(select(bodies.c.log_id).where(_BODY_ROWID.in_(indexed)))
        hits = [func.lower(cast(col, Text())).like(_pattern(_fold(text)), escape="/") for col in columns]
        return select(literal(1)).where(bodies.c.log_id == table.c.id, or_(*hits)).exists()

    in_metadata = _metadata_clause(Condition("metadata.value", "contains", (text,)), table)
    return or_(_per_dialect(in_bodies), in_metadata)


def compile_filter(f: LogFilter, target: Any = Log) -> list[ColumnElement[bool]]:
    """SQL boolean clauses for ``f`` over the logs table, to AND together.

    ``target`` is ``Log`` (default), ``Log.__table__`` or an alias of either. Use as
    ``select(Log).where(*compile_filter(f))`` or ``delete(Log).where(*compile_filter(f))``. The
    clauses render for SQLite and PostgreSQL (JSON and case-folding tests pick their dialect when
    the statement is compiled) and are two-valued: never NULL, so ``not_()`` of one is exact.
    """
    logs = _table(target)
    clauses = [_condition_clause(c, logs) for c in f.conditions]
    created = logs.c["created_at"]
    if f.start_ms is not None:
        clauses.append(created >= _lit(f.start_ms))
    if f.end_ms is not None:
        clauses.append(created <= _lit(f.end_ms))
    if f.search is not None:
        clauses.append(search_clause(f.search, logs))
    return clauses


def filter_clause(f: LogFilter, target: Any = Log) -> ColumnElement[bool]:
    """:func:`compile_filter` as one clause (TRUE for an empty filter)."""
    clauses = compile_filter(f, target)
    return and_(*clauses) if clauses else true()
