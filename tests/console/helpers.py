"""Small helpers for Pilot tests: wait for a condition instead of sleeping a fixed time, hear what the
App notified, and read the screen as text, all through Textual's public API.

Timeouts here are only a guard against a hang (a loaded CI machine can be many times slower than a
laptop): a test waits for state, never for an amount of time.
"""

from __future__ import annotations

import asyncio
import html
import re
import time
import weakref
from typing import Any, Callable, NamedTuple

from textual.app import App
from textual.pilot import Pilot

__all__ = ["Said", "listen", "said", "screen_text", "until", "HANG_S"]

HANG_S = 120.0
"""How long a wait may take before the test is declared hung."""


async def until(pilot: Pilot, condition: Callable[[], object], timeout: float = HANG_S, what: str = "condition") -> None:
    """Let the app run until ``condition()`` is true (the live workers never finish, so
    ``wait_for_complete`` cannot be used)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)
    await asyncio.sleep(0)


class Said(NamedTuple):
    """One notification, as ``App.notify`` was asked to show it."""

    message: str
    title: str
    severity: str


_heard: "weakref.WeakKeyDictionary[App[Any], list[Said]]" = weakref.WeakKeyDictionary()


def listen(app: App[Any]) -> App[Any]:
    """Record every notification ``app`` shows (widgets' ``notify`` goes through ``App.notify``);
    call before the app runs. Returns ``app``."""
    heard = _heard.setdefault(app, [])
    show = app.notify

    def notify(message: str, *, title: str = "", severity: Any = "information", **options: Any) -> None:
        heard.append(Said(str(message), title, str(severity)))
        show(message, title=title, severity=severity, **options)

    app.notify = notify  # type: ignore[method-assign]
    return app


def said(app: App[Any]) -> list[Said]:
    """The notifications ``app`` showed so far (see :func:`listen`)."""
    return _heard.get(app, [])


_TEXT = re.compile(r'<text class="[^"]*" x="([\d.]+)" y="[\d.]+" textLength="[\d.]+" clip-path="url\(#[\w-]*line-(\d+)\)">([^<]*)</text>')
_CELL_WIDTH = 12.2
"""Width of one cell in Rich's SVG export (``char_height * font_aspect_ratio`` = 20 × 0.61)."""


def screen_text(app: App[Any]) -> str:
    """The screen as plain text (what an operator reads), from ``App.export_screenshot``."""
    width, height = app.size
    lines = [[" "] * width for _ in range(height)]
    for x, line, text in _TEXT.findall(app.export_screenshot()):
        row = int(line)
        if row >= height:
            continue
        column = round(float(x) / _CELL_WIDTH)
        for offset, char in enumerate(html.unescape(text).replace("\xa0", " ")):
            if column + offset < width:
                lines[row][column + offset] = char
    return "\n".join("".join(chars).rstrip() for chars in lines) + "\n"
