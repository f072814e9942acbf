"""The one log filter language: a typed model, its JSON and query-string forms, and ``matches``.

Every surface that selects logs (the management API, the console's filter bar, datasets, log
deletion and the live tail) builds a :class:`LogFilter` and hands it to
:func:`proxy_core.store.filter_sql.compile_filter` (SQL) or :func:`matches` (in memory). The human
text form lives in :mod:`proxy_core.store.filter_text`; :func:`parse_text` and :func:`to_text` are
re-exported here.

Semantics
    A filter is an AND of conditions plus an optional inclusive time range
    (``start_ms <= created_at <= end_ms``) and a free-text ``search``. Several values under one
    ``eq`` condition are an OR; ``neq`` is the exact complement of ``eq`` with the same values
    (``-provider:a,b`` = neither a nor b) and so *includes* rows where the column is NULL.
    ``eq null`` is ``IS NULL``; ``lt``/``gt``/``lte``/``gte``/``contains`` never match NULL.
    ``contains`` is a case-insensitive substring test that folds ASCII letters only, on every
    dialect and in :func:`matches` alike (SQLite's lower() cannot do more, and the live tail must
    agree with the Logs view). ``lte``/``gte`` are our extension so that ``min_cost``/``max_cost``
    stay inclusive. The text ``search`` looks for that substring in the stored request and
    response bodies and in string metadata values (:func:`search_clause`; a full-text index may
    replace it).

Keys
    Cloudflare's ``id created_at request_content_type response_content_type request_type success
    cached provider model model_type cost tokens tokens_in tokens_out duration feedback event_id
    metadata.key metadata.value`` and ours: ``status_code score step gateway_id guardrail
    guardrail.category metadata.<name>``. ``tokens`` is ``tokens_in + tokens_out`` (a missing side
    counts 0; NULL only when both are). ``guardrail`` reads ``guardrails.action`` (blocked, flagged,
    passed) and ``guardrail.category`` the ``guardrails.categories`` list (S1..S14).

Metadata
    Metadata values are kept as text in the model and compared by JSON type: a string entry
    equals the text, a boolean entry equals ``true``/``false``, a number entry equals any text that
    parses to the same number (``meta.n=5`` matches 5, 5.0 and "5"). ``contains`` looks at string
    entries only. Names usable in ``metadata.<name>`` are ``[\\w.-]+`` and not ``key``/``value``
    (those are Cloudflare's ``metadata.key``/``metadata.value``); other entries are reachable
    through ``metadata.key``/``metadata.value``.
"""

from __future__ import annotations

import json
import math
import operator
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Any, Callable, Iterable, Literal, Mapping, Union

from proxy_core.guardrails.categories import CATEGORIES

__all__ = [
    "CF_KEYS",
    "DEFAULT_PER_PAGE",
    "EXTENSION_KEYS",
    "GUARDRAIL_ACTIONS",
    "MAX_PER_PAGE",
    "OPERATORS",
    "ORDER_BY",
    "Condition",
    "FilterError",
    "LogFilter",
    "Operator",
    "Paging",
    "Value",
    "iso_to_ms",
    "matches",
    "ms_to_iso",
    "parse_json",
    "parse_paging",
    "parse_query",
    "parse_text",
    "search_tokens",
    "to_json",
    "to_text",
]

Value = Union[str, int, float, bool, None]
Operator = Literal["eq", "neq", "contains", "lt", "gt", "lte", "gte"]

CF_KEYS = (
    "id", "created_at", "request_content_type", "response_content_type", "request_type", "success",
    "cached", "provider", "model", "model_type", "cost", "tokens", "tokens_in", "tokens_out",
    "duration", "feedback", "event_id", "metadata.key", "metadata.value",
)  # fmt: skip
"""The keys of Cloudflare's ``filters`` array, accepted exactly as spelled."""
EXTENSION_KEYS = (
    "status_code", "score", "step", "gateway_id", "error", "guardrail", "guardrail.category", "metadata.<name>",
)  # fmt: skip
"""Our keys on top of Cloudflare's (``metadata.<name>`` stands for any metadata entry name)."""
OPERATORS = ("eq", "neq", "contains", "lt", "gt", "lte", "gte")
MAX_VALUES = 100
MAX_CONDITIONS = 64
MAX_TEXT = 1024
MAX_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z
_TOKEN = re.compile(r"[^\W_]+")
"""Words as FTS5's unicode61 tokenizer sees them: letters and digits, '_' separates."""
GUARDRAIL_ACTIONS = ("blocked", "flagged", "passed")


class FilterError(ValueError):
    """A filter that cannot be parsed or is not valid; the message names the key, operator or value.

    ``key`` is the offending filter key when known, ``position`` the character offset in the text
    form. The management API answers it with a 400.
    """

    def __init__(self, message: str, *, key: str | None = None, position: int | None = None) -> None:
        super().__init__(message)
        self.key = key
        self.position = position


class _Kind(Enum):
    STRING = "string"
    BOOL = "boolean"
    NUMBER = "number"
    TIME = "time"
    FEEDBACK = "feedback"
    META = "metadata entry"
    META_KEY = "metadata key"
    META_VALUE = "metadata value"
    GUARDRAIL = "guardrail action"
    CATEGORY = "guardrail category"


_K = _Kind
_KEYS: dict[str, _Kind] = {
    "id": _K.STRING, "created_at": _K.TIME, "request_content_type": _K.STRING,
    "response_content_type": _K.STRING, "request_type": _K.STRING, "success": _K.BOOL, "cached": _K.BOOL,
    "provider": _K.STRING, "model": _K.STRING, "model_type": _K.STRING, "cost": _K.NUMBER,
    "tokens": _K.NUMBER, "tokens_in": _K.NUMBER, "tokens_out": _K.NUMBER, "duration": _K.NUMBER,
    "feedback": _K.FEEDBACK, "event_id": _K.STRING, "metadata.key": _K.META_KEY,
    "metadata.value": _K.META_VALUE, "status_code": _K.NUMBER, "score": _K.NUMBER, "step": _K.NUMBER,
    "gateway_id": _K.STRING, "error": _K.STRING, "guardrail": _K.GUARDRAIL, "guardrail.category": _K.CATEGORY,
}  # fmt: skip
_ORDERED = ("eq", "neq", "lt", "gt", "lte", "gte")
_OPS: dict[_Kind, tuple[str, ...]] = {
    _K.STRING: ("eq", "neq", "contains"), _K.BOOL: ("eq", "neq"), _K.NUMBER: _ORDERED, _K.TIME: _ORDERED,
    _K.FEEDBACK: _ORDERED, _K.META: ("eq", "neq", "contains"), _K.META_KEY: ("eq", "neq", "contains"),
    _K.META_VALUE: ("eq", "neq", "contains"), _K.GUARDRAIL: ("eq", "neq"), _K.CATEGORY: ("eq", "neq"),
}  # fmt: skip
_NULLABLE = {_K.STRING, _K.NUMBER, _K.META, _K.GUARDRAIL}
_META_NAME = re.compile(r"[\w.\-]+")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_INT = re.compile(r"-?(?:0|[1-9][0-9]*)")


def _kind(key: str) -> _Kind:
    kind = _KEYS.get(key)
    if kind is not None:
        return kind
    if key.startswith("metadata."):
        name = key[len("metadata.") :]
        if _META_NAME.fullmatch(name):
            return _K.META
        message = f"filter key {key!r}: metadata names may only hold letters, digits, '_', '.' and '-'"
        raise FilterError(message, key=key)
    raise FilterError(f"unknown filter key {key!r} (known: {', '.join(CF_KEYS + EXTENSION_KEYS)})", key=key)


# ---------------------------------------------------------------------------------------------
# values


def _number(text: str) -> int | float | None:
    """``text`` as a JSON-style number (int when integral-looking), or None."""
    if _INT.fullmatch(text):
        return int(text)
    if _NUMBER.fullmatch(text):
        return float(text)
    return None


def iso_to_ms(text: str) -> int | None:
    """Unix milliseconds of an ISO 8601 date or datetime (naive = UTC), or None if unparsable."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def ms_to_iso(ms: int) -> str:
    """``2024-05-01T12:00:00.000Z`` for Unix milliseconds ``ms`` (exact, round-trips)."""
    moment = _EPOCH + timedelta(milliseconds=ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _bad(key: str, raw: object, expected: str) -> FilterError:
    return FilterError(f"filter {key!r}: value {raw!r} is not {expected}", key=key)


def _time_ms(key: str, raw: object) -> int:
    ms: int | None = None
    if isinstance(raw, bool):
        ms = None
    elif isinstance(raw, int):
        ms = raw
    elif isinstance(raw, float) and raw.is_integer():
        ms = int(raw)
    elif isinstance(raw, str):
        ms = int(raw) if _INT.fullmatch(raw) else iso_to_ms(raw)
    if ms is None or not 0 <= ms <= MAX_MS:
        raise _bad(key, raw, "a time (Unix milliseconds or an ISO 8601 date)")
    return ms


def _normalize(key: str, kind: _Kind, op: str, raw: object) -> Value:
    """One filter value in its canonical type for ``key``, or a FilterError naming it."""
    if raw is None:
        if kind not in _NULLABLE or op not in ("eq", "neq"):
            raise FilterError(f"filter {key!r}: null is not allowed with operator {op!r}", key=key)
        return None
    if kind is _K.BOOL:
        if isinstance(raw, bool):
            return raw
        text = str(raw).lower() if isinstance(raw, (str, int)) else ""
        if text in ("true", "1", "false", "0"):
            return text in ("true", "1")
        raise _bad(key, raw, "a boolean (true or false)")
    if kind in (_K.NUMBER, _K.FEEDBACK):
        number: int | float | None = None
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            number = raw
        elif isinstance(raw, str):
            number = _number(raw.strip())
        if number is None or (isinstance(number, float) and not math.isfinite(number)):
            raise _bad(key, raw, "a number")
        if kind is _K.FEEDBACK:
            if number not in (-1, 0, 1):
                raise _bad(key, raw, "a feedback value (-1, 0 or 1)")
            return int(number)
        return number
    if kind is _K.TIME:
        return _time_ms(key, raw)
    if kind in (_K.META, _K.META_VALUE) and not isinstance(raw, str):
        if isinstance(raw, bool):
            raw = "true" if raw else "false"
        elif isinstance(raw, int) or (isinstance(raw, float) and math.isfinite(raw)):
            raw = repr(raw)
    if not isinstance(raw, str):
        raise _bad(key, raw, "a string")
    if len(raw) > MAX_TEXT:
        raise FilterError(f"filter {key!r}: value is longer than {MAX_TEXT} characters", key=key)
    if kind is _K.GUARDRAIL:
        if raw.lower() not in GUARDRAIL_ACTIONS:
            raise _bad(key, raw, "a guardrail action (blocked, flagged or passed)")
        return raw.lower()
    if kind is _K.CATEGORY:
        if raw.upper() not in CATEGORIES:
            raise _bad(key, raw, "a guardrail category (S1..S14)")
        return raw.upper()
    return raw


# ---------------------------------------------------------------------------------------------
# the model


@dataclass(frozen=True, slots=True)
class Condition:
    """One ``key operator values`` test; several values are an OR (for ``neq``: none of them).

    Construction validates and normalizes: ``values`` may be a scalar or any sequence and becomes a
    tuple of canonical values (bools for success/cached, ints -1/0/1 for feedback, numbers for
    numeric keys, Unix ms for created_at, text for metadata). Invalid input raises FilterError.
    """

    key: str
    operator: Operator
    values: tuple[Value, ...]

    def __post_init__(self) -> None:
        key, op = self.key, self.operator
        if not isinstance(key, str):
            raise FilterError(f"filter key must be a string, not {key!r}")
        kind = _kind(key)
        if op not in OPERATORS:
            raise FilterError(f"filter {key!r}: unknown operator {op!r} (known: {', '.join(OPERATORS)})", key=key)
        if op not in _OPS[kind]:
            message = f"operator {op!r} does not apply to a {kind.value} key (use {', '.join(_OPS[kind])})"
            raise FilterError(f"filter {key!r}: {message}", key=key)
        raw = self.values
        items = list(raw) if isinstance(raw, (list, tuple)) else [raw]
        if not items:
            raise FilterError(f"filter {key!r}: operator {op!r} needs at least one value", key=key)
        if len(items) > MAX_VALUES:
            raise FilterError(f"filter {key!r}: more than {MAX_VALUES} values", key=key)
        object.__setattr__(self, "values", tuple(_normalize(key, kind, op, item) for item in items))

    @property
    def kind(self) -> str:
        """The value type of the key: string, boolean, number, time, feedback, metadata entry, …"""
        return _kind(self.key).value


@dataclass(frozen=True, slots=True)
class LogFilter:
    """A log selection: an AND of :class:`Condition`, an inclusive time range and a text search.

    Immutable and validated on construction; ``LogFilter()`` selects every log. An empty
    ``search`` is stored as None so that equal selections compare equal.
    """

    conditions: tuple[Condition, ...] = ()
    start_ms: int | None = None
    end_ms: int | None = None
    search: str | None = None

    def __post_init__(self) -> None:
        conditions = tuple(self.conditions)
        if not all(isinstance(c, Condition) for c in conditions):
            raise FilterError("conditions must be Condition objects")
        if len(conditions) > MAX_CONDITIONS:
            raise FilterError(f"more than {MAX_CONDITIONS} filter conditions")
        object.__setattr__(self, "conditions", conditions)
        for name in ("start_ms", "end_ms"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _time_ms(name, value))
        if self.start_ms is not None and self.end_ms is not None and self.start_ms > self.end_ms:
            raise FilterError(f"time range: start {ms_to_iso(self.start_ms)} is after end {ms_to_iso(self.end_ms)}")
        if self.search is not None and not isinstance(self.search, str):
            raise FilterError(f"search must be a string, not {self.search!r}")
        if self.search is not None and len(self.search) > MAX_TEXT:
            raise FilterError(f"search is longer than {MAX_TEXT} characters")
        if self.search == "":
            object.__setattr__(self, "search", None)

    @property
    def is_empty(self) -> bool:
        return not self.conditions and self.start_ms is None and self.end_ms is None and self.search is None

    def combine(self, other: LogFilter) -> LogFilter:
        """Both filters at once: conditions ANDed, time ranges intersected, searches joined by a space."""
        starts = [m for m in (self.start_ms, other.start_ms) if m is not None]
        ends = [m for m in (self.end_ms, other.end_ms) if m is not None]
        searches = [s for s in (self.search, other.search) if s]
        return LogFilter(
            self.conditions + other.conditions,
            max(starts) if starts else None,
            min(ends) if ends else None,
            " ".join(searches) or None,
        )


# ---------------------------------------------------------------------------------------------
# JSON form (Cloudflare's filters array) and the query string


def _condition_from_json(item: object, where: str) -> Condition:
    if not isinstance(item, Mapping):
        raise FilterError(f"{where}: expected an object with key, operator and value, got {item!r}")
    for name in ("key", "operator", "value"):
        if name not in item:
            key = item.get("key")
            raise FilterError(f"{where}: missing {name!r}", key=key if isinstance(key, str) else None)
    try:
        return Condition(item["key"], item["operator"], item["value"])
    except FilterError as exc:
        raise FilterError(f"{where}: {exc}", key=exc.key) from None


def parse_json(data: object) -> LogFilter:
    """A LogFilter from Cloudflare's ``filters`` array, our document form, or their JSON text.

    Accepts a list of ``{"key", "operator", "value"}`` (``value`` a list or one scalar), a single
    such object, or the document ``{"filters": [...], "start_ms", "end_ms", "search"}`` written by
    :func:`to_json`; a ``str``/``bytes`` is decoded as JSON first (``filters=<JSON>`` in a query).
    """
    if isinstance(data, (str, bytes)):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise FilterError(f"filters: not valid JSON ({exc})") from None
    if data is None:
        return LogFilter()
    if isinstance(data, Mapping) and "key" in data:
        data = [data]
    if isinstance(data, Mapping):
        unknown = set(data) - {"filters", "start_ms", "end_ms", "search"}
        if unknown:
            raise FilterError(f"filter document: unknown field(s) {', '.join(sorted(unknown))}")
        base = parse_json(data.get("filters") or [])
        return LogFilter(base.conditions, data.get("start_ms"), data.get("end_ms"), data.get("search"))
    if not isinstance(data, list):
        raise FilterError(f"filters: expected a JSON array of conditions, got {type(data).__name__}")
    return LogFilter(tuple(_condition_from_json(item, f"filters[{i}]") for i, item in enumerate(data)))


def to_json(f: LogFilter) -> dict[str, Any]:
    """The document form: ``{"filters": [Cloudflare conditions]}`` plus start_ms/end_ms/search if set.

    ``parse_json(to_json(f)) == f``; ``to_json(f)["filters"]`` alone is a Cloudflare filters array.
    """
    conditions = [{"key": c.key, "operator": c.operator, "value": list(c.values)} for c in f.conditions]
    doc: dict[str, Any] = {"filters": conditions}
    for name in ("start_ms", "end_ms", "search"):
        if getattr(f, name) is not None:
            doc[name] = getattr(f, name)
    return doc


_SIMPLE_EQ = (
    "provider", "model", "model_type", "request_content_type", "response_content_type", "event_id", "success",
    "cached", "feedback",
)  # fmt: skip
_SIMPLE_RANGE = {  # min_<name> / max_<name> → key
    "cost": "cost", "duration": "duration", "tokens_in": "tokens_in", "tokens_out": "tokens_out",
    "total_tokens": "tokens",
}  # fmt: skip
_FLAT = ("filters.key", "filters.operator", "filters.value")


def _flattened(pairs: list[tuple[str, str]]) -> list[Condition]:
    """Conditions from the SDK form ``filters.key=…&filters.operator=…&filters.value=…``.

    The official SDKs send each filter's key, operator and values in order (several values repeat
    ``filters.value``); hand-written URLs may instead list all keys, then all operators, then all
    values, zipped by position. Both are accepted. The bare value ``null`` means null.
    """
    groups: list[dict[str, Any]] = []
    grouped = True
    for name, value in pairs:
        if name == "filters.key":
            groups.append({"key": value, "operator": [], "value": []})
        elif not groups:
            grouped = False
            break
        else:
            groups[-1][name.split(".")[1]].append(value)
    if grouped and all(len(g["operator"]) == 1 and g["value"] for g in groups):
        rows = [(g["key"], g["operator"][0], g["value"]) for g in groups]
    else:
        columns = [[v for n, v in pairs if n == name] for name in _FLAT]
        if len({len(col) for col in columns}) != 1:
            counts = ", ".join(f"{len(col)} {name}" for name, col in zip(_FLAT, columns))
            raise FilterError(f"filters: the flattened form needs as many keys, operators and values ({counts})")
        rows = [(k, o, [v]) for k, o, v in zip(*columns)]
    out = []
    for i, (key, op, values) in enumerate(rows):
        try:
            out.append(Condition(key, op, [None if v == "null" else v for v in values]))
        except FilterError as exc:
            raise FilterError(f"filters[{i}]: {exc}", key=exc.key) from None
    return out


def _pairs(items: Iterable[tuple[str, str]] | Mapping[str, str]) -> list[tuple[str, str]]:
    return list(items.items() if isinstance(items, Mapping) else items)


def parse_query(items: Iterable[tuple[str, str]] | Mapping[str, str]) -> LogFilter:
    """A LogFilter from a query string's (name, value) pairs, e.g. ``request.query.items()``.

    Reads ``filters=<JSON>``, the SDK's flattened ``filters.key/.operator/.value``, and Cloudflare's
    simple parameters: provider, model, model_type, request_content_type, response_content_type,
    success, cached, feedback, min_/max_ cost, duration, tokens_in, tokens_out, total_tokens
    (inclusive), start_date, end_date (ISO 8601 or Unix ms) and search; plus ``event_id`` (ours).
    A repeated simple parameter is an OR of its values; empty ones are ignored. Paging and ordering
    (see :func:`parse_paging`), ``meta_info`` and unknown names are ignored. Everything is ANDed.
    """
    pairs = _pairs(items)
    result = LogFilter(tuple(_flattened([p for p in pairs if p[0] in _FLAT])))
    simple: dict[str, list[str]] = {}
    for name, value in pairs:
        if name == "filters":
            result = result.combine(parse_json(value))
        elif value != "":
            simple.setdefault(name, []).append(value)
    conditions: list[Condition] = []
    for name in _SIMPLE_EQ:
        if name in simple:
            conditions.append(_simple(name, name, "eq", simple[name]))
    for suffix, key in _SIMPLE_RANGE.items():
        for prefix, op in (("min_", "gte"), ("max_", "lte")):
            if prefix + suffix in simple:
                conditions.append(_simple(prefix + suffix, key, op, simple[prefix + suffix]))
    times = {}
    for name in ("start_date", "end_date"):
        if name in simple:
            try:
                times[name] = _time_ms(name, simple[name][-1])
            except FilterError:
                raise FilterError(f"{name}: {simple[name][-1]!r} is not an ISO 8601 date-time", key=name) from None
    search = " ".join(simple.get("search", [])) or None
    return result.combine(LogFilter(tuple(conditions), times.get("start_date"), times.get("end_date"), search))


def _simple(param: str, key: str, op: str, values: list[str]) -> Condition:
    try:
        return Condition(key, op, values)  # type: ignore[arg-type]
    except FilterError as exc:
        raise FilterError(f"query parameter {param}: {exc}", key=key) from None


# ---------------------------------------------------------------------------------------------
# paging


ORDER_BY = (
    "created_at", "provider", "model", "model_type", "success", "cached", "cost", "tokens_in", "tokens_out",
    "duration", "feedback",
)  # fmt: skip
"""Columns a log listing may be ordered by (Cloudflare's list and delete ``order_by`` values)."""
MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 20


@dataclass(frozen=True, slots=True)
class Paging:
    """Page, page size and order of a log listing (``limit`` caps a delete-by-filter)."""

    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    order_by: str = "created_at"
    direction: Literal["asc", "desc"] = "desc"
    limit: int | None = None

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


def _positive(name: str, text: str, maximum: int | None = None) -> int:
    if not _INT.fullmatch(text) or int(text) < 1 or (maximum is not None and int(text) > maximum):
        bound = f" between 1 and {maximum}" if maximum else " of at least 1"
        raise FilterError(f"{name}: {text!r} is not an integer{bound}", key=name)
    return int(text)


def parse_paging(items: Iterable[tuple[str, str]] | Mapping[str, str]) -> Paging:
    """Paging from ``page``, ``per_page`` (1..MAX_PER_PAGE), ``order_by`` (one of ORDER_BY),
    ``order_by_direction`` (or the deprecated ``direction``; asc/desc) and ``limit``; the last
    occurrence of a repeated name wins and other names are ignored."""
    params = {name: value for name, value in _pairs(items) if value != ""}
    order_by = params.get("order_by", "created_at")
    if order_by not in ORDER_BY:
        raise FilterError(f"order_by: {order_by!r} is not one of {', '.join(ORDER_BY)}", key="order_by")
    direction = params.get("order_by_direction", params.get("direction", "desc")).lower()
    if direction not in ("asc", "desc"):
        raise FilterError(f"order_by_direction: {direction!r} is not asc or desc", key="order_by_direction")
    return Paging(
        page=_positive("page", params["page"]) if "page" in params else 1,
        per_page=_positive("per_page", params["per_page"], MAX_PER_PAGE) if "per_page" in params else DEFAULT_PER_PAGE,
        order_by=order_by,
        direction=direction,  # type: ignore[arg-type]
        limit=_positive("limit", params["limit"]) if "limit" in params else None,
    )


# ---------------------------------------------------------------------------------------------
# text form (implemented in filter_text; imported lazily because it builds on this module)


def parse_text(text: str, *, now_ms: int | None = None) -> LogFilter:
    """A LogFilter from the console's text form; see :mod:`proxy_core.store.filter_text`."""
    from proxy_core.store import filter_text

    return filter_text.parse_text(text, now_ms=now_ms)


def to_text(f: LogFilter) -> str:
    """The text form of ``f``; ``parse_text(to_text(f)) == f``."""
    from proxy_core.store import filter_text

    return filter_text.to_text(f)


# ---------------------------------------------------------------------------------------------
# in-memory evaluation


def _fold(text: str) -> str:
    """ASCII-only lower case, as SQLite's lower() and LIKE fold (so memory and SQL agree)."""
    return text.translate(_ASCII_LOWER)


_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "lt": operator.lt, "gt": operator.gt, "lte": operator.le, "gte": operator.ge,
}  # fmt: skip


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


def search_tokens(text: str) -> list[str]:
    """The words of a text as the FTS5 ``unicode61`` tokenizer sees them: lower-cased, accents
    removed, split on anything but letters and digits."""
    folded = unicodedata.normalize("NFKD", text.lower())
    return _TOKEN.findall("".join(ch for ch in folded if not unicodedata.combining(ch)))
