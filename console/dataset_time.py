"""The one rule for the time bound of a dataset made from a filter, in the same words everywhere.

A dataset is a saved filter that keeps taking new logs. A relative time in its filter
(``since:1h``) is resolved **when the dataset is saved** to the absolute time it meant then, and
kept: the dataset holds the logs from that moment on, not a window that slides. Both dialogs that
make a dataset (view 4's form and the Logs view's ``n``) resolve the filter text at the moment of
saving and say so with :func:`time_rule`; the management API shows the bound as ``since`` /
``until`` on the dataset.
"""

from __future__ import annotations

import re
from datetime import tzinfo

from console.units import format_timestamp
from proxy_core.store.filters import LogFilter

__all__ = ["time_rule", "has_relative_time"]

_RELATIVE = re.compile(r"(?:^|\s)-?(since|until)[:=]([0-9]+[smhdw])(?=\s|$)", re.IGNORECASE)


def has_relative_time(text: str) -> bool:
    """Whether the filter text bounds the time relative to now (``since:1h``, ``until=30m``)."""
    return _RELATIVE.search(text) is not None


def time_rule(text: str, log_filter: LogFilter, tz: tzinfo | None = None) -> str:
    """One line: how the dataset's time is bounded, e.g. ``since:1h is fixed when the dataset is
    saved: logs from 2025-11-28 02:20:00.000 UTC on (it does not slide)``."""
    start, end = log_filter.start_ms, log_filter.end_ms
    if start is None and end is None:
        return "No time bound: every matching log, old and new."
    bound = []
    if start is not None:
        bound.append(f"from {format_timestamp(start, tz)}" + (" on" if end is None else ""))
    if end is not None:
        bound.append(f"until {format_timestamp(end, tz)}")
    relative = [f"{m.group(1).lower()}:{m.group(2)}" for m in _RELATIVE.finditer(text)]
    if relative:
        return f"{' '.join(relative)} is fixed when the dataset is saved: logs {' '.join(bound)} (it does not slide)."
    return f"Logs {' '.join(bound)}."
