"""Cloudflare's query-string forms of a filter (``filters.key``/``operator``/``value`` triples and the
simple ``provider=``, ``min_cost=`` parameters) and of paging."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Literal, Mapping

from proxy_core.store.filters.model import _INT, Condition, FilterError, LogFilter, _time_ms, parse_json

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
