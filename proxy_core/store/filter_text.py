"""The human text form of the log filter language, typed in the console's filter bar.

    provider:openai status:error cost>0.01 meta.user=alice model:gpt-4o,gpt-4o-mini
    feedback:-1 tokens<100 cached:true since:1h "free text" -provider:anthropic guardrail:blocked

Grammar (terms are separated by whitespace; every term narrows the selection, i.e. AND)::

    filter    := term*
    term      := phrase | word | condition | time
    phrase    := '"' (char | '\\' char)* '"'           text search (exact, spaces kept)
    word      := a term with none of : = ! < > ~ "     text search; words/phrases join with ' '
    condition := ['-'] key op values
    op        := ':' | '=' (eq)  '!=' (neq)  '>' '<' '>=' '<=' (numbers, times)  '~' (contains)
    values    := value (',' value)*                   several values = OR (for neq: none of)
    value     := phrase | bare                        bare = no whitespace, ',' or '"'; bare null = null
    time      := ('since' | 'until') (':' | '=') (duration | ISO 8601 | Unix ms)

``-key:v`` is ``key!=v``. Keys are the model's (``provider``, ``cost``, ``metadata.user``, …; see
:mod:`proxy_core.store.filters`), case-insensitive, plus aliases: ``meta.X`` = ``metadata.X``
(``meta.key``/``meta.value`` are Cloudflare's metadata.key/value), ``event`` = ``event_id``,
``gateway`` = ``gateway_id``, ``worker`` = ``worker_id``, ``category`` = ``guardrail.category``, and ``status``:
``status:error|failed`` is ``success:false``, ``status:success|ok`` is ``success:true``, and numbers
(``status:404``, ``status>499``) test ``status_code``. ``since``/``until`` bound ``created_at``
inclusively; a duration is a number and one of s, m, h, d, w, counted back from ``now_ms``.
Values are typed by their key (``true``/``false``, numbers, ISO times for created_at).

:func:`to_text` writes the canonical spelling, so ``parse_text(to_text(f)) == f`` for every filter.
Errors are FilterError with ``position`` (a 0-based character offset) and name the term.
"""

from __future__ import annotations

import re
import time

from proxy_core.store.filters.model import (
    Condition,
    FilterError,
    LogFilter,
    Value,
    iso_to_ms,
    ms_to_iso,
)

__all__ = ["parse_text", "to_text", "SHORT_KEYS"]

# Two-character symbols first, so that ">=" is not read as ">" and a value "=…".
_OPERATORS = (
    ("!=", "neq"), (">=", "gte"), ("<=", "lte"), (">", "gt"), ("<", "lt"), (":", "eq"), ("=", "eq"), ("~", "contains"),
)  # fmt: skip
_SYMBOL = {"eq": ":", "neq": ":", "gt": ">", "lt": "<", "gte": ">=", "lte": "<=", "contains": "~"}
_KEY_END = re.compile(r'[^:=!<>~"]*')
_DURATION = re.compile(r"([0-9]+)([smhdw])")
_UNIT_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_ALIASES = {"event": "event_id", "gateway": "gateway_id", "worker": "worker_id", "category": "guardrail.category"}
_STATUS = {"error": False, "failed": False, "success": True, "ok": True}
SHORT_KEYS = (
    "provider model status cost tokens tokens_in tokens_out duration cached feedback score meta.NAME event "
    "gateway category guardrail error id since until"
)
"""The keys the filter bar documents, in one line, for the unknown-key error (the model's other
names, ``created_at``, ``request_content_type``…, still work; see :mod:`proxy_core.store.filters`)."""


class _Term:
    """Where a term starts and what it says, for error messages."""

    def __init__(self, text: str, pos: int) -> None:
        self.text, self.pos = text, pos

    def error(self, message: str, offset: int = 0, key: str | None = None) -> FilterError:
        position = self.pos + offset
        return FilterError(f"at position {position} ({self.text!r}): {message}", key=key, position=position)


def _end_of_quote(text: str, start: int, term: _Term | None = None) -> int:
    """Index just past the phrase opening at ``start``."""
    i = start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
        elif text[i] == '"':
            return i + 1
        else:
            i += 1
    offset = start if term is None else term.pos + start
    raise FilterError(f"at position {offset}: unterminated quote", position=offset)


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1], flags=re.DOTALL)


def _split(text: str) -> list[_Term]:
    terms, i = [], 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        start = i
        while i < len(text) and not text[i].isspace():
            i = _end_of_quote(text, i) if text[i] == '"' else i + 1
        terms.append(_Term(text[start:i], start))
    return terms


def _values(term: _Term, i: int) -> list[Value]:
    text, out = term.text, []
    while True:
        if i >= len(text) or text[i] == ",":
            raise term.error("missing value", i)
        if text[i] == '"':
            end = _end_of_quote(text, i, term)
            out.append(_unquote(text[i:end]))
        else:
            end = i
            while end < len(text) and text[end] not in ',"':
                end += 1
            if end < len(text) and text[end] == '"':
                raise term.error("a quote may only open a value", end)
            out.append(None if text[i:end] == "null" else text[i:end])
        i = end
        if i == len(text):
            return out
        if text[i] != ",":
            raise term.error("expected ',' between values", i)
        i += 1


def _key(name: str) -> str:
    lower = name.lower()
    for prefix in ("meta.", "metadata."):
        if lower.startswith(prefix) and len(name) > len(prefix):
            return "metadata." + name[len(prefix) :]
    if lower in _ALIASES:
        return _ALIASES[lower]
    return lower


def _time(term: _Term, offset: int, values: list[Value], now_ms: int) -> int:
    if len(values) != 1 or values[0] is None:
        raise term.error("since/until take exactly one time", offset)
    raw = str(values[0])
    duration = _DURATION.fullmatch(raw)
    if duration:
        return now_ms - int(duration.group(1)) * _UNIT_MS[duration.group(2)]
    ms = int(raw) if re.fullmatch(r"[0-9]+", raw) else iso_to_ms(raw)
    if ms is None:
        raise term.error(f"{raw!r} is not a duration (15m, 1h, 7d), an ISO 8601 time or Unix ms", offset)
    return ms


def _status(term: _Term, op: str, values: list[Value]) -> tuple[str, list[Value]]:
    words = [str(v).lower() in _STATUS for v in values]
    if op in ("eq", "neq") and all(words):
        return "success", [_STATUS[str(v).lower()] for v in values]
    if not any(words):
        return "status_code", values
    raise term.error("status takes error/failed/success/ok or status codes, not both", key="status")


def parse_text(text: str, *, now_ms: int | None = None) -> LogFilter:
    """A LogFilter from the text form (grammar in the module docstring).

    ``now_ms`` anchors relative times such as ``since:1h`` (default: the current time).
    Raises FilterError naming the term and its position.
    """
    now = int(time.time() * 1000) if now_ms is None else now_ms
    conditions: list[Condition] = []
    search: list[str] = []
    times: dict[str, int] = {}
    for term in _split(text):
        raw = term.text
        if raw.startswith('"'):
            end = _end_of_quote(raw, 0, term)
            if end != len(raw):
                raise term.error("unexpected text after the closing quote", end)
            search.append(_unquote(raw))
            continue
        negate = raw.startswith("-") and len(raw) > 1
        start = 1 if negate else 0
        key_end = _KEY_END.match(raw, start).end()  # type: ignore[union-attr]
        if key_end == len(raw):
            if negate:
                raise term.error("'-' negates a key:value condition; quote a word that starts with '-'")
            search.append(raw)
            continue
        if raw[key_end] == '"':
            raise term.error("a quote may only open a value or a search phrase", key_end)
        name = raw[start:key_end]
        if not name:
            raise term.error("missing key before the operator", key_end)
        found = next(((symbol, op) for symbol, op in _OPERATORS if raw.startswith(symbol, key_end)), None)
        if found is None:
            raise term.error("unknown operator (use : = != > < >= <= ~, or quote the term to search for it)", key_end)
        symbol, op = found
        value_start = key_end + len(symbol)
        if negate:
            if op != "eq":
                raise term.error(f"'-' only negates key:value, not {symbol!r}")
            op = "neq"
        values = _values(term, value_start)
        key = _key(name)
        if key in ("since", "until"):
            if op != "eq":
                raise term.error(f"{key} takes ':' or '=' (since:1h, until:2024-05-01T12:00:00Z)", key_end)
            if key in times:
                raise term.error(f"{key} given twice")
            times[key] = _time(term, value_start, values, now)
            continue
        if key == "status":
            key, values = _status(term, op, values)
        try:
            conditions.append(Condition(key, op, values))  # type: ignore[arg-type]
        except FilterError as exc:
            if str(exc).startswith("unknown filter key"):  # the keys one types, not the model's long names
                unknown = name.strip().lower()
                message = f"unknown filter key {unknown!r}; keys: {SHORT_KEYS} (quote the term to search for it)"
                raise term.error(message, key=exc.key) from None
            raise term.error(str(exc), key=exc.key) from None
    try:
        return LogFilter(tuple(conditions), times.get("since"), times.get("until"), " ".join(search) or None)
    except FilterError as exc:
        raise FilterError(f"since/until: {exc}") from None


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _render(value: Value, key: str) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and key == "created_at":
        return ms_to_iso(value)
    if isinstance(value, (int, float)):
        return repr(value)
    if value == "null" or not value or any(ch.isspace() or ch in ',"\\' for ch in value):
        return _quote(value)
    return value


def to_text(f: LogFilter) -> str:
    """The canonical text form of ``f``: conditions in order, then since/until, then the search."""
    parts = []
    for c in f.conditions:
        prefix = "-" if c.operator == "neq" else ""
        parts.append(prefix + c.key + _SYMBOL[c.operator] + ",".join(_render(v, c.key) for v in c.values))
    if f.start_ms is not None:
        parts.append("since:" + ms_to_iso(f.start_ms))
    if f.end_ms is not None:
        parts.append("until:" + ms_to_iso(f.end_ms))
    if f.search is not None:
        parts.append(_quote(f.search))
    return " ".join(parts)
