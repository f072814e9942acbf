"""A filter evaluated in memory (the live tail), agreeing with its SQL form row for row."""

from __future__ import annotations

from typing import Any, Mapping

from proxy_core.store.filters.model import _COMPARE, _K, _KEYS, Condition, LogFilter, Value, _fold, _kind, _number
from proxy_core.store.filters.model import search_tokens

# ---------------------------------------------------------------------------------------------
# in-memory evaluation




def _has_text(values: tuple[Value, ...], text: object) -> bool:
    return isinstance(text, str) and any(_fold(str(v)) in _fold(text) for v in values)


def _meta_equals(entry: object, text: str) -> bool:
    """A JSON metadata entry against a filter text: strings as text, booleans as true/false,
    numbers by numeric value (objects and arrays never match)."""
    if isinstance(entry, bool):
        return text == ("true" if entry else "false")
    if isinstance(entry, (int, float)):
        number = _number(text)
        return number is not None and entry == number
    return isinstance(entry, str) and entry == text


def _meta_match(op: str, values: tuple[Value, ...], entry: object) -> bool:
    if op == "contains":
        return _has_text(values, entry)
    return any(entry is None if v is None else entry is not None and _meta_equals(entry, str(v)) for v in values)


def _row_value(key: str, row: Mapping[str, Any]) -> object:
    if key == "tokens":
        tin, tout = row.get("tokens_in"), row.get("tokens_out")
        return None if tin is None and tout is None else (tin or 0) + (tout or 0)
    if key == "guardrail":
        guardrails = row.get("guardrails")
        return guardrails.get("action") if isinstance(guardrails, dict) else None
    value = row.get(key)
    return bool(value) if _KEYS.get(key) is _K.BOOL and value is not None else value


def _positive_match(c: Condition, row: Mapping[str, Any]) -> bool:
    """Whether ``row`` passes ``c`` read as ``eq`` (``neq`` is its negation)."""
    kind, op = _kind(c.key), c.operator
    meta = row.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    if kind is _K.META_KEY:
        return any(_has_text(c.values, k) if op == "contains" else k in c.values for k in meta)
    if kind is _K.META_VALUE:
        return any(_meta_match(op, c.values, entry) for entry in meta.values())
    if kind is _K.META:
        return _meta_match(op, c.values, meta.get(c.key[len("metadata.") :]))
    if kind is _K.CATEGORY:
        guardrails = row.get("guardrails")
        found = guardrails.get("categories") if isinstance(guardrails, dict) else None
        found = [found] if isinstance(found, str) else found if isinstance(found, list) else []
        return any(isinstance(x, str) and x in c.values for x in found)
    actual = _row_value(c.key, row)
    if op == "contains":
        return _has_text(c.values, actual)
    if op in ("eq", "neq"):
        return any(actual is None if v is None else actual is not None and actual == v for v in c.values)
    return actual is not None and any(_COMPARE[op](actual, v) for v in c.values)


def _body_bytes(value: object) -> bytes:
    if isinstance(value, str):
        return value.encode()
    return bytes(value) if isinstance(value, (bytes, bytearray, memoryview)) else b""


def _search_match(search: str, row: Mapping[str, Any]) -> bool:
    tokens = search_tokens(search)
    bodies = [_body_bytes(row.get(name)) for name in ("request_body", "response_body")]
    if tokens:
        words = {w for body in bodies for w in search_tokens(body.decode("utf-8", errors="replace"))}
        if all(any(word.startswith(token) for word in words) for token in tokens):
            return True
    else:
        needle = search.encode().lower()  # bytes.lower() folds ASCII only, like SQLite
        if any(needle in body.lower() for body in bodies):
            return True
    meta = row.get("metadata")
    return isinstance(meta, dict) and any(_has_text((search,), entry) for entry in meta.values())


def matches(f: LogFilter, row: Mapping[str, Any]) -> bool:
    """Whether the log ``row`` passes ``f``, evaluated in Python (the live tail; the test oracle).

    ``row`` uses the SQL column names as the log writer builds them (``metadata`` and
    ``guardrails`` as dicts); ``request_body``/``response_body`` (bytes or str) are read by the
    search when present. Agrees with :func:`compile_filter` on SQLite and PostgreSQL.
    """
    for c in f.conditions:
        if _positive_match(c, row) == (c.operator == "neq"):
            return False
    created = row.get("created_at")
    if f.start_ms is not None and (created is None or created < f.start_ms):
        return False
    if f.end_ms is not None and (created is None or created > f.end_ms):
        return False
    return f.search is None or _search_match(f.search, row)
