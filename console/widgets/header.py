"""The one-line header: where you are, the proxy URL to paste into an app, and the gateway shown.

The view's name always shows in full: below 100 columns the ``aigw ▸`` prefix goes and the URL is
the part cut short (``…``), so an attached console at 80 columns still says which view is open.
Clicking the URL copies it; clicking the gateway opens the switcher (the same as the ``u`` and
``ctrl+g`` keys). The header follows the App's ``gateway_id`` and ``proxy_url`` reactives.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.events import Click
from textual.widgets import Label

__all__ = ["ConsoleHeader"]

_WIDE = 100
"""From this width on the title starts with ``aigw ▸``."""


class ConsoleHeader(Horizontal):
    """``aigw ▸ 2 Logs   http://127.0.0.1:8787/v1/local/default   gateway default ▾``."""

    DEFAULT_CSS = """
    ConsoleHeader {
        dock: top;
        height: 1;
        background: $panel;
        & > Label { height: 1; padding: 0 1; }
        & > #header-title { width: auto; text-style: bold; color: $text-primary; text-wrap: nowrap; }
        & > #header-url { width: 1fr; color: $text; text-wrap: nowrap; text-overflow: ellipsis; content-align: right middle; }
        & > #header-url:hover, & > #header-gateway:hover { background: $boost; }
        & > #header-gateway { width: auto; color: $text-accent; }
        & > #header-attached { width: auto; color: $text-warning; display: none; }
        &.-attached > #header-attached { display: block; }
    }
    """

    def __init__(self, key: str, title: str) -> None:
        super().__init__()
        self._key = key
        self._title = title

    def compose(self) -> ComposeResult:
        yield Label(self._heading(self.app.size.width), id="header-title", markup=False)
        yield Label("", id="header-url", markup=False)
        yield Label("", id="header-gateway", markup=False)
        yield Label("attached", id="header-attached", markup=False)

    def on_mount(self) -> None:
        self.watch(self.app, "proxy_url", self._show_url)
        self.watch(self.app, "gateway_id", self._show_gateway)
        self.set_class(bool(getattr(self.app, "attached", False)), "-attached")
        self.query_one("#header-url", Label).tooltip = "The base URL for your SDK (u copies it)"
        self.query_one("#header-gateway", Label).tooltip = "The gateway these views show (ctrl+g switches)"

    def _heading(self, width: int) -> str:
        return f"{'aigw ▸ ' if width >= _WIDE else ''}{self._key} {self._title}"

    def on_resize(self) -> None:
        self.query_one("#header-title", Label).update(self._heading(self.size.width))

    def _show_url(self, url: str) -> None:
        self.query_one("#header-url", Label).update(url)

    def _show_gateway(self, gateway_id: str) -> None:
        self.query_one("#header-gateway", Label).update(f"gateway {gateway_id} ▾")

    async def on_click(self, event: Click) -> None:
        widget = event.widget
        if widget is not None and widget.id == "header-url":
            await self.app.run_action("copy_url")
        elif widget is not None and widget.id == "header-gateway":
            await self.app.run_action("pick_gateway")
