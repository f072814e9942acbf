"""Small helpers for Pilot tests: wait for a condition instead of sleeping a fixed time."""

from __future__ import annotations

import asyncio
import time
from typing import Callable

from textual.pilot import Pilot


async def until(pilot: Pilot, condition: Callable[[], object], timeout: float = 30.0, what: str = "condition") -> None:
    """Let the app run until ``condition()`` is true (the live drain worker never finishes, so
    ``wait_for_complete`` cannot be used)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)
    await asyncio.sleep(0)


def screen_text(app) -> str:  # noqa: ANN001 - an App
    """The screen as plain text (what an operator reads)."""
    import io

    from rich.console import Console

    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True, record=True)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text()
