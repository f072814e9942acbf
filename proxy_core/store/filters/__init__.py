"""The one log filter language: a typed model, its JSON and query-string forms, and ``matches``.

Every surface that selects logs (the management API, the console's filter bar, datasets, log
deletion and the live tail) builds a :class:`LogFilter` and hands it to
:func:`proxy_core.store.filter_sql.compile_filter` (SQL) or :func:`matches` (in memory). This
package is the language's one public face: the model and its JSON form (``model``), Cloudflare's
query-string forms and paging (``query``), evaluation in memory (``match``); the human text form
lives in :mod:`proxy_core.store.filter_text` (:func:`parse_text` and :func:`to_text` here).

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
    metadata.key metadata.value`` and ours: ``status_code score step gateway_id worker_id guardrail
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

from proxy_core.store.filters.match import matches
from proxy_core.store.filters.model import (
    CF_KEYS,
    EXTENSION_KEYS,
    GUARDRAIL_ACTIONS,
    MAX_MS,
    OPERATORS,
    Condition,
    FilterError,
    LogFilter,
    Operator,
    Value,
    iso_to_ms,
    ms_to_iso,
    parse_json,
    search_tokens,
    to_json,
)
from proxy_core.store.filters.query import DEFAULT_PER_PAGE, MAX_PER_PAGE, ORDER_BY, Paging, parse_paging, parse_query

__all__ = [
    "CF_KEYS",
    "DEFAULT_PER_PAGE",
    "EXTENSION_KEYS",
    "GUARDRAIL_ACTIONS",
    "MAX_MS",
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


def parse_text(text: str, *, now_ms: int | None = None) -> LogFilter:
    """A LogFilter from the console's text form; see :mod:`proxy_core.store.filter_text` (imported
    when first used: it builds on this package)."""
    from proxy_core.store import filter_text

    return filter_text.parse_text(text, now_ms=now_ms)


def to_text(f: LogFilter) -> str:
    """The text form of ``f``; ``parse_text(to_text(f)) == f``."""
    from proxy_core.store import filter_text

    return filter_text.to_text(f)
