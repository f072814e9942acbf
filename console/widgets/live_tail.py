"""The live tail table on Textual's Line API: a bounded deque of rows, one ``render_line`` each.

DataTable repaints every visible cell on every change and, measured, held a busy proxy to a few
percent of its headless throughput; this widget only builds the strips of the lines on screen,
caches each row's strip (keyed by id, width and theme), and is refreshed by its owner at most a
few times per second. Newest rows are on top. Line 0 is a sticky header.

The owner feeds it with :meth:`LiveTail.add_rows` and :meth:`LiveTail.update_row`, which only
change data, and calls :meth:`LiveTail.flush` when it wants them shown; the widget keeps the viewport on the same rows while the operator has scrolled away from the top (or the
cursor is not on the newest row) and counts what arrived meanwhile in :attr:`LiveTail.unseen`.

Rows are strictly newest first by arrival time, and the ``guard`` column says what the guardrails
did in words (``BLOCK S1``, ``flag S10``, ``unchecked``), so a blocked prompt never reads as a plain
400 and a flagged one as a plain 200, with or without colour. Below 100 columns the cache column
gives the guard column its room (a cache hit still reads as ``$0`` in a few milliseconds).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any, ClassVar, Iterable, Mapping

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from console.replay_mark import model_cell, replay_of
from console.safe_text import clean_line
from console.widgets.styles import component_style
from console.units import format_clock, format_cost, format_duration, format_tokens
from proxy_core.errors import ErrorCode

__all__ = ["LiveTail", "Column", "COLUMNS", "guard_verdict"]

_CLIENT_DISCONNECTED = int(ErrorCode.CLIENT_DISCONNECTED)


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    title: str
    width: int
    """Cells; 0 marks the one flexible column, which takes the room left."""
    align: str = "left"
    min_total: int = 0
    """Shown only when the widget is at least this wide."""
    wide_width: int = 0
    """Cells from :data:`WIDE_TOTAL` columns on (0: always ``width``), e.g. whole provider names."""


COLUMNS: tuple[Column, ...] = (
    Column("time", "time", 8),
    Column("gateway", "gateway", 10, min_total=100, wide_width=16),
    Column("provider", "provider", 10, wide_width=16),
    Column("model", "model", 0),
    Column("status", "st", 3, "right"),
    Column("cache", "cache", 5, min_total=100),
    Column("tokens", "tokens", 9, "right"),
    Column("cost", "cost", 8, "right"),
    Column("duration", "dur", 6, "right"),
    Column("guard", "guard", 9, wide_width=16),
    Column("feedback", "fb", 4),
)
_MIN_FLEX = 10
_MAX_FLEX = 40
WIDE_TOTAL = 150
"""From this width on, columns take their ``wide_width`` and the model column may grow to :data:`_MAX_FLEX_WIDE`."""
_MAX_FLEX_WIDE = 48


def guard_verdict(guardrails: Any, width: int = 9) -> tuple[str, str | None]:
    """The guard column of one log: its guardrail verdict in words (readable without colour) and
    its style name: ``BLOCK S1`` / ``flag S10`` with the S-codes (``BLOCK S1+`` when more codes
    than fit), ``unchecked`` when the evaluator could not judge, empty when it passed."""
    if not isinstance(guardrails, Mapping):
        return "", None
    action = guardrails.get("action")
    codes = [str(code) for code in guardrails.get("categories") or () if isinstance(code, str)]
    if action not in ("blocked", "flagged"):
        return ("unchecked", "dim") if guardrails.get("evaluated") is False else ("", None)
    word, style = ("BLOCK", "error") if action == "blocked" else ("flag", "warn")
    text = f"{word} {','.join(codes)}".rstrip()
    if len(text) > width and codes:
        text = f"{word} {codes[0]}+"
    return text, style


def _order(row: Mapping[str, Any]) -> tuple[int, str]:
    """Newest first by arrival time (``created_at``), the id (a ULID) breaking ties."""
    return int(row.get("created_at") or 0), str(row.get("id"))


class LiveTail(ScrollView, can_focus=True):
    """Recent requests, newest first, on the Line API."""

    HELP_CONTEXT = "Live tail"

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "live-tail--header", "live-tail--cursor", "live-tail--dim", "live-tail--ok", "live-tail--warn",
        "live-tail--error", "live-tail--hit", "live-tail--up", "live-tail--down",
    }  # fmt: skip

    DEFAULT_CSS = """
    LiveTail {
        scrollbar-size-vertical: 1;
        overflow-x: hidden;
        & > .live-tail--header { text-style: bold; color: $text-muted; background: $panel; }
        & > .live-tail--cursor { background: $block-cursor-blurred-background; }
        & > .live-tail--dim { color: $text-muted; }
        & > .live-tail--ok { color: $text-success; }
        & > .live-tail--warn { color: $text-warning; }
        & > .live-tail--error { color: $text-error; text-style: bold; }
        & > .live-tail--hit { color: $text-accent; }
        & > .live-tail--up { color: $text-success; text-style: bold; }
        & > .live-tail--down { color: $text-error; text-style: bold; }
        &:focus > .live-tail--cursor { background: $block-cursor-background; color: $block-cursor-foreground; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "choose", "Open", id="live.open", tooltip="Open the selected request in the Logs view"),
        Binding("up,k", "cursor(-1)", "Up", show=False, id="live.cursor_up", tooltip="Select the newer request"),
        Binding("down,j", "cursor(1)", "Down", show=False, id="live.cursor_down", tooltip="Select the older request"),
        Binding("home,g", "newest", "Newest", show=False, id="live.newest", tooltip="Back to the newest request"),
        Binding("end,G", "oldest", "Oldest", show=False, id="live.oldest", tooltip="The oldest request kept"),
        Binding("pageup", "cursor_page(-1)", "Page up", show=False, id="live.page_up", tooltip="One screen newer"),
        Binding("pagedown", "cursor_page(1)", "Page down", show=False, id="live.page_down", tooltip="One screen older"),
    ]

    class RowChosen(Message):
        """The operator pressed enter (or clicked) on a row."""

        def __init__(self, row: Mapping[str, Any]) -> None:
            super().__init__()
            self.row = row

    def __init__(
        self, *, max_rows: int = 1000, tz: tzinfo | None = None, name: str | None = None, id: str | None = None,
        classes: str | None = None,
    ) -> None:  # fmt: skip
        super().__init__(name=name, id=id, classes=classes)
        self._rows: deque[dict[str, Any]] = deque(maxlen=max_rows)
        self._by_id: dict[str, dict[str, Any]] = {}
        self._strips: dict[str, Strip] = {}
        """Each row's finished line (base style applied), by id; cleared when width or styles change."""
        self._styles: dict[str, Style] = {}
        self._base: Style | None = None
        self._header_strip: Strip | None = None
        self._layout: tuple[int, list[tuple[Column, int]]] | None = None
        self._tz = tz
        self._shift = 0
        self._changed = False
        """Whether rows were added or changed since the last :meth:`flush`."""
        self.cursor = 0
        """Index of the selected row (0 = newest)."""
        self.unseen = 0
        """Rows that arrived while the operator was not following the newest one."""

    # -- data ------------------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self._rows)

    def rows(self) -> list[dict[str, Any]]:
        """The rows kept, newest first."""
        return list(self._rows)

    @property
    def following(self) -> bool:
        """Whether the newest row is selected and on screen (new rows then simply appear)."""
        return self.cursor == 0 and self.scroll_y == 0

    def add_rows(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Insert rows, oldest first as the bus delivers them; returns how many were new.

        The bus delivers logs as requests finish, so a slow request arrives after quicker ones
        that started later: each row is put in its place by ``created_at`` (then id), and the tail
        is strictly newest first. Rows land at or near the top, so the walk down is short.
        """
        following = self.following
        added = above = 0
        for row in rows:
            log_id = row.get("id")
            if not isinstance(log_id, str) or log_id in self._by_id:
                continue
            if len(self._rows) == self._rows.maxlen:
                evicted = self._rows.pop()
                self._by_id.pop(evicted["id"], None)
                self._strips.pop(evicted["id"], None)
                if self.cursor >= len(self._rows):
                    self.cursor = max(0, len(self._rows) - 1)
            stored = dict(row)
            key, position = _order(stored), 0
            while position < len(self._rows) and _order(self._rows[position]) > key:
                position += 1
            self._rows.insert(position, stored)
            self._by_id[log_id] = stored
            added += 1
            if not following and position <= self.cursor:
                above += 1
                self.cursor += 1
        if not added:
            return 0
        self._changed = True
        if not following:
            self.unseen += above
            self.cursor = min(self.cursor, len(self._rows) - 1)
            self._shift += above
        return added

    def flush(self) -> None:
        """Show what :meth:`add_rows` and :meth:`update_row` changed (the owner calls this at most
        a few times a second, and only while the tail is on screen); nothing to do when nothing
        changed."""
        if not self._changed:
            return
        self._changed = False
        self._resize_virtual()
        if self._shift:
            self.scroll_y = self.scroll_y + self._shift  # keep the rows the operator is reading
            self._shift = 0
        self.refresh()

    def update_row(self, log_id: str, changes: Mapping[str, Any]) -> bool:
        """Apply a change (e.g. new feedback) to a row on screen; ``False`` when not kept."""
        row = self._by_id.get(log_id)
        if row is None:
            return False
        row.update(changes)
        self._strips.pop(log_id, None)
        self._changed = True
        return True

    def clear(self) -> None:
        self._rows.clear()
        self._by_id.clear()
        self._strips.clear()
        self.cursor = 0
        self.unseen = 0
        self._shift = 0
        self._changed = True
        self._resize_virtual()
        self.scroll_to(y=0, animate=False)

    @property
    def selected(self) -> dict[str, Any] | None:
        return self._rows[self.cursor] if 0 <= self.cursor < len(self._rows) else None

    # -- cursor and scrolling --------------------------------------------------------------------

    def _resize_virtual(self) -> None:
        self.virtual_size = Size(self.size.width, len(self._rows) + 1)

    def _show_cursor(self) -> None:
        visible = max(1, self.scrollable_content_region.height - 1)
        top = int(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= top + visible:
            self.scroll_to(y=self.cursor - visible + 1, animate=False)
        if self.following:
            self.unseen = 0
        self.refresh()

    def action_cursor(self, delta: int) -> None:
        if self._rows:
            self.cursor = max(0, min(len(self._rows) - 1, self.cursor + delta))
            self._show_cursor()

    def action_cursor_page(self, direction: int) -> None:
        self.action_cursor(direction * max(1, self.scrollable_content_region.height - 2))

    def action_newest(self) -> None:
        self.cursor = 0
        self.scroll_to(y=0, animate=False)
        self.unseen = 0
        self.refresh()

    def action_oldest(self) -> None:
        self.action_cursor(len(self._rows))

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if new_value == 0 and self.cursor == 0:
            self.unseen = 0

    def _forget_styles(self) -> None:
        self._strips.clear()
        self._styles.clear()
        self._base = None
        self._header_strip = None

    def on_resize(self, event: events.Resize) -> None:
        self._layout = None
        self._forget_styles()
        self._resize_virtual()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._forget_styles()

    def on_mount(self) -> None:
        self.watch(self.app, "theme", lambda _theme: (self._forget_styles(), self.refresh()), init=False)

    def on_click(self, event: events.Click) -> None:
        index = int(self.scroll_y) + event.y - 1
        if event.y >= 1 and 0 <= index < len(self._rows):
            self.cursor = index
            self.refresh()
            if event.chain > 1:
                self.post_message(self.RowChosen(self._rows[index]))

    def action_choose(self) -> None:
        if self.selected is not None:
            self.post_message(self.RowChosen(self.selected))

    # -- rendering -------------------------------------------------------------------------------

    def _columns(self, width: int) -> list[tuple[Column, int]]:
        if self._layout is not None and self._layout[0] == width:
            return self._layout[1]
        chosen = [c for c in COLUMNS if width >= c.min_total]
        wide = width >= WIDE_TOTAL
        sizes = [(c.wide_width or c.width) if wide else c.width for c in chosen]
        fixed = sum(sizes) + len(chosen) - 1
        flex = max(_MIN_FLEX, min(_MAX_FLEX_WIDE if wide else _MAX_FLEX, width - fixed))
        layout = [(c, size or flex) for c, size in zip(chosen, sizes)]
        self._layout = (width, layout)
        return layout

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = component_style(self, f"live-tail--{name}")
        return style

    def _cells(self, row: Mapping[str, Any], guard_width: int) -> dict[str, tuple[str, str | None]]:
        """Each column's text and component style name for one row (all text made printable)."""
        status = int(row.get("status_code") or 0)
        ok = bool(row.get("success"))
        client_gone = row.get("error_code") == _CLIENT_DISCONNECTED  # the client hung up: not our error
        status_style = "ok" if ok else ("warn" if 400 <= status < 500 or client_gone else "error")
        feedback = row.get("feedback") or 0
        score = row.get("score")
        mark = {1: "+", -1: "-"}.get(feedback, " ")
        return {
            "time": (format_clock(int(row.get("created_at") or 0), self._tz), "dim"),
            "gateway": (clean_line(str(row.get("gateway_id") or "")), None),
            "provider": (clean_line(str(row.get("provider") or "")), None),
            "model": (clean_line(str(row.get("model") or "-")), None),  # cut in _strip, marked there if a replay
            "status": (str(status) if status else "ERR", status_style),
            "cache": ("hit" if row.get("cached") else "", "hit"),
            "tokens": (format_tokens(row.get("tokens_in"), row.get("tokens_out")), None),
            "cost": (format_cost(row.get("cost"), short=True), None),
            "duration": (format_duration(row.get("duration")), None),
            "guard": guard_verdict(row.get("guardrails"), guard_width),
            "feedback": (f"{mark}{'' if score is None else f' {score}'}".rstrip(), {1: "up", -1: "down"}.get(feedback)),
        }

    def _strip(self, row: Mapping[str, Any], width: int) -> Strip:
        segments: list[Segment] = []
        columns = self._columns(width)
        cells = self._cells(row, next((size for column, size in columns if column.key == "guard"), 9))
        for i, (column, size) in enumerate(columns):
            text, style_name = cells[column.key]
            if column.key == "model":  # keeps what tells it from its siblings, after ↻ for a replay
                text = model_cell(text, replay_of(row.get("metadata")) is not None, size)
            elif cell_len(text) > size:
                text = set_cell_size(text, size - 1) + "…"
            text = text.rjust(size) if column.align == "right" else set_cell_size(text, size)
            if i:
                segments.append(Segment(" "))
            segments.append(Segment(text, self._style(style_name) if style_name else None))
        return Strip(segments).adjust_cell_length(width)

    def _header(self, width: int) -> Strip:
        segments = []
        for i, (column, size) in enumerate(self._columns(width)):
            title = column.title.rjust(size) if column.align == "right" else set_cell_size(column.title, size)
            segments.append(Segment((" " if i else "") + title))
        return Strip(segments).adjust_cell_length(width).apply_style(self._style("header"))

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self._base
        if base is None:
            base = self._base = self.rich_style
        if y == 0:
            if self._header_strip is None or self._header_strip.cell_length != width:
                self._header_strip = self._header(width).apply_style(base)
            return self._header_strip
        index = int(self.scroll_y) + y - 1
        if index >= len(self._rows):
            return Strip.blank(width, base)
        row = self._rows[index]
        if index == self.cursor:  # the cursor's own colours, for contrast on every theme
            strip = self._strip(row, width)
            strip = Strip([Segment(segment.text) for segment in strip], strip.cell_length)
            return strip.apply_style(self._style("cursor")).apply_style(base)
        strip = self._strips.get(row["id"])
        if strip is None or strip.cell_length != width:  # the region narrows when a scrollbar appears
            strip = self._strips[row["id"]] = self._strip(row, width).apply_style(base)
        return strip
