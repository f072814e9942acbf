"""The filter model: keys, operators, values, :class:`Condition`, :class:`LogFilter` and its JSON
form (Cloudflare's ``filters`` array). The semantics are in :mod:`proxy_core.store.filters`."""

from __future__ import annotations

import json
import math
import operator
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Any, Callable, Literal, Mapping, Union

from proxy_core.guardrails.categories import CATEGORIES


Value = Union[str, int, float, bool, None]
Operator = Literal["eq", "neq", "contains", "lt", "gt", "lte", "gte"]

CF_KEYS = (
    "id", "created_at", "request_content_type", "response_content_type", "request_type", "success",
    "cached", "provider", "model", "model_type", "cost", "tokens", "tokens_in", "tokens_out",
    "duration", "feedback", "event_id", "metadata.key", "metadata.value",
)  # fmt: skip
"""The keys of Cloudflare's ``filters`` array, accepted exactly as spelled."""
EXTENSION_KEYS = (
    "status_code", "score", "step", "gateway_id", "worker_id", "error", "guardrail", "guardrail.category", "metadata.<name>",
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
    "gateway_id": _K.STRING, "worker_id": _K.STRING, "error": _K.STRING, "guardrail": _K.GUARDRAIL, "guardrail.category": _K.CATEGORY,
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

def _fold(text: str) -> str:
    """ASCII-only lower case, as SQLite's lower() and LIKE fold (so memory and SQL agree)."""
    return text.translate(_ASCII_LOWER)


_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "lt": operator.lt, "gt": operator.gt, "lte": operator.le, "gte": operator.ge,
}  # fmt: skip


def search_tokens(text: str) -> list[str]:
    """The words of a text as the FTS5 ``unicode61`` tokenizer sees them: lower-cased, accents
    removed, split on anything but letters and digits."""
    folded = unicodedata.normalize("NFKD", text.lower())
    return _TOKEN.findall("".join(ch for ch in folded if not unicodedata.combining(ch)))
