"""The screen of one mode: the header, one view, the footer.

The view is built by the App (which knows the services, the clock and the gateway) from the
registry in :mod:`console.views`; its ``.tcss`` is loaded with this screen. When the header's
gateway switcher changes the gateway, the view follows: in place through its ``set_gateway``
when it has one, else by being replaced with a fresh instance. A hidden screen catches up when
it is shown again.

The screen also holds the key map every view shares (k9s / lazygit habits): ``j``/``k`` move the
cursor, ``g``/``G`` go to the first / last row (or the top / bottom of a scrolled pane), and ``/``
searches the focused table (:class:`console.widgets.table_search.TableSearch`) in the views that
have no filter bar of their own. A view's own binding for a key wins (Live and Logs keep their
filter on ``/``, and their tables their own ``j``/``k``/``g``/``G``).

Switching views is kept cheap (it must feel instant): the footer is a single widget that redraws
its line instead of rebuilding a widget per key (:class:`console.widgets.key_footer.KeyFooter`),
and the App parses every view's stylesheet once at start-up. Only Textual's public API is used
here: the gateway runs on a thread of its own, so the console's event loop is free to run Textual's
own key dispatch and painting at their normal pace.
"""

from __future__ import annotations

from typing import Callable, ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Static

from console.views import ViewSpec, view_css_path
from console.widgets.connection_banner import ConnectionBanner
from console.widgets.header import ConsoleHeader
from console.widgets.key_footer import KeyFooter
from console.widgets.table_search import TableSearch

__all__ = ["ViewScreen", "UnavailableView"]

ViewBuilder = Callable[[ViewSpec, str], Widget]


class UnavailableView(Static):
    """Stands in for a view whose module is not there (yet) or failed to start."""


class ViewScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "search", "Search", id="view.search", tooltip="Find rows of this table (enter/↓ next, ↑ previous)"),
        Binding("j", "move(1)", "Down", show=False, id="view.down", tooltip="Cursor down (like ↓)"),
        Binding("k", "move(-1)", "Up", show=False, id="view.up", tooltip="Cursor up (like ↑)"),
        Binding("g", "ends(0)", "First", show=False, id="view.first", tooltip="The first row, or the top"),
        Binding("G", "ends(1)", "Last", show=False, id="view.last", tooltip="The last row, or the bottom"),
    ]  # fmt: skip

    def __init__(self, spec: ViewSpec, build: ViewBuilder) -> None:
        super().__init__(name=spec.mode, id=f"screen-{spec.mode}", classes="view-screen")
        css = view_css_path(spec)
        if css is not None and css not in self.css_path:
            self.css_path = [*self.css_path, css]  # already read by the App, unless built elsewhere
        self.spec = spec
        self._build = build
        self._gateway_id: str | None = None

    @property
    def view(self) -> Widget | None:
        found = self.query(".view")
        return found.first() if found else None

    def _make_view(self, gateway_id: str) -> Widget:
        view = self._build(self.spec, gateway_id)
        view.add_class("view")
        focus = getattr(view, "FOCUS_ON_SHOW", None)
        if isinstance(focus, str):
            self.AUTO_FOCUS = focus
        return view

    def compose(self) -> ComposeResult:
        self._gateway_id = self.app.gateway_id  # type: ignore[attr-defined]
        yield ConsoleHeader(self.spec.key, self.spec.title)
        yield ConnectionBanner()
        yield self._make_view(self._gateway_id)
        yield TableSearch()
        yield KeyFooter()

    async def follow_gateway(self, gateway_id: str) -> None:
        """Show ``gateway_id`` (called by the App for the visible screen, and on resume)."""
        if gateway_id == self._gateway_id or not self.is_mounted:
            return
        self._gateway_id = gateway_id
        view = self.view
        setter = getattr(view, "set_gateway", None)
        if view is not None and callable(setter):
            setter(gateway_id)
            return
        if view is not None:
            await view.remove()
        await self.mount(self._make_view(gateway_id), before=self.query_one(TableSearch))

    # -- the shared key map ----------------------------------------------------------------------

    def _table(self) -> DataTable | None:
        """The table the keys act on: the focused one, else the view's first one on screen."""
        focused = self.focused
        if isinstance(focused, DataTable):
            return focused
        view = self.view
        if view is None:
            return None
        return next((t for t in view.query(DataTable) if t.display and t.is_on_screen), None)

    def action_move(self, step: int) -> None:
        table = self._table()
        if table is not None:
            table.move_cursor(row=max(0, table.cursor_row + step))
        elif self.focused is not None:
            self.focused.scroll_relative(y=step, animate=False)

    def action_ends(self, end: int) -> None:
        table = self._table()
        if table is not None:
            table.move_cursor(row=max(0, table.row_count - 1) if end else 0)
        elif self.focused is not None:
            (self.focused.scroll_end if end else self.focused.scroll_home)(animate=False)

    def action_search(self) -> None:
        table = self._table()
        if table is None:
            self.app.bell()
            return
        self.query_one(TableSearch).open(table)

    async def on_screen_resume(self, event: events.ScreenResume) -> None:
        for footer in self.query(KeyFooter):  # which view keys apply depends on the view shown
            footer.bindings_changed(self)
        await self.follow_gateway(self.app.gateway_id)  # type: ignore[attr-defined]
