"""Log hygiene: nothing secret leaves through :mod:`logging`, and malformed requests cannot flood it.

:class:`LogHygiene` is a :class:`logging.Filter` that

- passes every record's formatted message, exception text and stack text through
  :func:`proxy_core.redact.redact_text` (aiohttp's parser errors quote raw header lines such as
  ``b'Authorization: Bearer sk-…'``; its WebSocket warnings quote the client's subprotocols);
- turns a record about a malformed HTTP request (one carrying an
  :class:`aiohttp.http.HttpProcessingError`: ``BadHttpMessage``, ``LineTooLong``,
  ``InvalidHeader``, ``BadStatusLine``, ``InvalidURLError`` …) into one line without traceback or
  the offending bytes: ``bad request from 127.0.0.1: 400 invalid header value char``;
- lets at most :data:`BURST` such lines through per :data:`WINDOW_S` seconds; the next line that
  gets through says how many were left out (``(+1234 more not shown)``), and
  :attr:`LogHygiene.bad_requests` counts them all.

:func:`install_log_hygiene` puts one instance on the root logger's handlers and on the loggers
of aiohttp and asyncio (a logger's filters see its records before any handler, including handlers
added later).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Iterable

from aiohttp.http import HttpProcessingError

from proxy_core.redact import redact_text

__all__ = ["BURST", "WINDOW_S", "LOGGERS", "LogHygiene", "install_log_hygiene"]

BURST = 10
"""Bad-request lines let through per window."""
WINDOW_S = 60.0
"""The rate limit's window, in seconds."""
LOGGERS = (
    "aiohttp.access", "aiohttp.client", "aiohttp.internal", "aiohttp.server", "aiohttp.web",
    "aiohttp.websocket", "asyncio",
)  # fmt: skip
"""Loggers that get the filter themselves (third-party code that may quote a request)."""

_SEEN = "aigw_hygiene"  # record attribute: the verdict, so a record filtered twice is judged once
_REASON_CAP = 120
_plain = logging.Formatter()


class LogHygiene(logging.Filter):
    """Redacts every record and condenses malformed-request records (see the module docstring)."""

    def __init__(self, *, burst: int = BURST, window_s: float = WINDOW_S,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        super().__init__()
        self.burst, self.window_s, self.clock = burst, window_s, clock
        self.bad_requests = 0
        """Malformed requests seen, shown or not."""
        self._lock = threading.Lock()
        self._window_start: float | None = None
        self._shown_in_window = 0
        self._not_shown = 0

    def filter(self, record: logging.LogRecord) -> bool:
        seen = getattr(record, _SEEN, None)
        if seen is not None:
            return bool(seen)
        exc = record.exc_info[1] if record.exc_info else None
        keep = self._condense(record, exc) if isinstance(exc, HttpProcessingError) else self._redact(record)
        setattr(record, _SEEN, keep)
        return keep

    def _condense(self, record: logging.LogRecord, exc: HttpProcessingError) -> bool:
        with self._lock:
            self.bad_requests += 1
            now = self.clock()
            if self._window_start is None or now - self._window_start >= self.window_s:
                self._window_start, self._shown_in_window = now, 0
            if self._shown_in_window >= self.burst:
                self._not_shown += 1
                return False
            self._shown_in_window += 1
            not_shown, self._not_shown = self._not_shown, 0
        _, sep, remote = _message(record).rpartition(" from ")
        line = f"bad request from {remote if sep else 'unknown'}: {exc.code or 400} {_reason(exc)}"
        if not_shown:
            line += f" (+{not_shown} more not shown)"
        record.msg, record.args = redact_text(line), None
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        if record.levelno > logging.WARNING:
            record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
        return True

    @staticmethod
    def _redact(record: logging.LogRecord) -> bool:
        record.msg, record.args = redact_text(_message(record)), None
        if record.exc_info and not record.exc_text:
            record.exc_text = _plain.formatException(record.exc_info)
        if record.exc_text:
            # The formatter prints exc_text as given; dropping exc_info keeps handlers that
            # re-render it (rich and the like) from printing the unredacted original.
            record.exc_text, record.exc_info = redact_text(record.exc_text), None
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        return True


def _message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception:  # noqa: BLE001 - a bad format string: keep what there is
        return f"{record.msg} {record.args!r}"


def _reason(exc: HttpProcessingError) -> str:
    """The first line of aiohttp's message, without the quoted bytes (``Invalid header token``)."""
    lines = (exc.message or "").strip().splitlines()
    text = lines[0] if lines else ""
    for cut in (": b'", ': b"', " b'", ' b"'):
        text = text.split(cut, 1)[0]
    text = text.rstrip(" :.")[:_REASON_CAP]
    return (text[:1].lower() + text[1:]) if text else type(exc).__name__


def install_log_hygiene(loggers: Iterable[str] = LOGGERS) -> LogHygiene:
    """Put one :class:`LogHygiene` on the root logger's handlers and on ``loggers``; idempotent.

    Call it after the handlers are configured (``logging.basicConfig``)."""
    existing = _installed()
    hygiene = existing or LogHygiene()
    targets: list[logging.Filterer] = [*logging.getLogger().handlers, *(logging.getLogger(n) for n in loggers)]
    for target in targets:
        if not any(isinstance(f, LogHygiene) for f in target.filters):
            target.addFilter(hygiene)
    return hygiene


def _installed() -> LogHygiene | None:
    targets: list[logging.Filterer] = [*(logging.getLogger(n) for n in LOGGERS), *logging.getLogger().handlers]
    return next((f for t in targets for f in t.filters if isinstance(f, LogHygiene)), None)
