"""How numbers and times read on screen: one spelling per unit, shared by every view.

Every function takes plain values (milliseconds, dollars, token counts) and returns a short
string; times are formatted against an injected ``now_ms`` and time zone so that tests and
snapshots never depend on the wall clock or the machine's zone.
"""

from __future__ import annotations

from datetime import datetime, timezone, tzinfo

__all__ = ["format_clock", "format_when", "format_timestamp", "format_cost", "format_duration", "format_tokens", "format_count", "format_rate"]


def _local(ms: int, tz: tzinfo | None) -> datetime:
    moment = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return moment.astimezone(tz) if tz is not None else moment.astimezone()


def format_clock(ms: int, tz: tzinfo | None = None) -> str:
    """``HH:MM:SS`` of a Unix-ms time."""
    return _local(ms, tz).strftime("%H:%M:%S")


def format_timestamp(ms: int, tz: tzinfo | None = None) -> str:
    """``2025-11-28 03:20:00.123 UTC``: a full time with milliseconds and the zone."""
    moment = _local(ms, tz)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d} " + (moment.tzname() or "")


def format_when(ms: int, now_ms: int, tz: tzinfo | None = None, *, short: bool = False) -> str:
    """``HH:MM:SS`` for today, ``Mon DD HH:MM`` for earlier days (like ``ls -l``), 12 cells at most;
    with ``short`` (a narrow column) earlier days without their time (``Mon DD``), 10 at most."""
    moment, now = _local(ms, tz), _local(now_ms, tz)
    if moment.date() == now.date():
        return moment.strftime("%H:%M:%S")
    if moment.year == now.year:
        return moment.strftime("%b %d" if short else "%b %d %H:%M")
    return moment.strftime("%Y-%m-%d")


def format_cost(cost: float | None, *, short: bool = False) -> str:
    """Dollars with enough digits to tell small costs apart, never in scientific notation; ``-``
    when unknown.

    ``$0.00109``, ``$0.00000006``; below a hundred-millionth of a dollar ``<$0.00000001``. With
    ``short`` (table cells of 8 characters) anything below a ten-thousandth reads ``<$0.0001``.
    """
    if cost is None:
        return "-"
    if cost == 0:
        return "$0"
    if cost >= 100:
        return f"${cost:,.0f}"
    if cost >= 1:
        return f"${cost:.2f}"
    if cost >= 0.01:
        return f"${cost:.3f}"
    if cost >= 0.0001:
        return f"${cost:.5f}"
    if short:
        return "<$0.0001"
    digits = f"{cost:.8f}".rstrip("0")
    return "<$0.00000001" if digits.endswith(".") else f"${digits}"


def format_duration(ms: int | float | None) -> str:
    """``850ms``, ``1.2s``, ``2m05s``; ``-`` when unknown."""
    if ms is None:
        return "-"
    ms = int(ms)
    if ms < 1000:
        return f"{ms}ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f}s"
    minutes, seconds = divmod(ms // 1000, 60)
    return f"{minutes}m{seconds:02d}s"


def format_count(n: int | float | None) -> str:
    """``950``, ``12.3k``, ``4.5M``; ``-`` when unknown."""
    if n is None:
        return "-"
    n = float(n)
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= limit:
            value = n / limit
            return f"{value:.1f}{suffix}" if value < 100 else f"{value:.0f}{suffix}"
    return f"{n:.0f}"


def format_tokens(tokens_in: int | None, tokens_out: int | None) -> str:
    """``in/out`` token counts, ``-`` for a side the provider did not report."""
    if tokens_in is None and tokens_out is None:
        return "-"
    return f"{format_count(tokens_in)}/{format_count(tokens_out)}"


def format_rate(per_second: float) -> str:
    """Requests per second with one decimal below 100."""
    return f"{per_second:.1f}" if per_second < 100 else f"{per_second:.0f}"
