"""The banner an attached console shows while its gateway cannot be reached.

A toast vanishes and a quiet tail looks the same as a dead gateway, so from the moment the event
stream drops until it is back every view shows one persistent line under the header, in words
(readable without colour): ``⚠ gateway unreachable since 04:51:07, retrying``. It follows the
App's ``unreachable_since`` reactive (Unix ms, ``None`` while connected).
"""

from __future__ import annotations

from datetime import tzinfo

from textual.widgets import Static

from console.units import format_clock

__all__ = ["ConnectionBanner", "banner_text"]


def banner_text(since_ms: int, tz: tzinfo | None = None) -> str:
    """``⚠ gateway unreachable since HH:MM:SS, retrying`` (the clock in the console's zone)."""
    return f"⚠ gateway unreachable since {format_clock(since_ms, tz)}, retrying"


class ConnectionBanner(Static):
    """One line, shown only while the App's ``unreachable_since`` is set."""

    DEFAULT_CSS = """
    ConnectionBanner {
        height: 1;
        padding: 0 1;
        background: $error;
        color: $text;
        text-style: bold;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        display: none;
        &.-shown { display: block; }
    }
    """

    def __init__(self) -> None:
        super().__init__("", id="connection-banner", markup=False)

    def on_mount(self) -> None:
        self.watch(self.app, "unreachable_since", self._show)

    def _show(self, since_ms: int | None) -> None:
        if since_ms is not None:
            self.update(banner_text(since_ms, getattr(self.app, "tz", None)))
        self.set_class(since_ms is not None, "-shown")
