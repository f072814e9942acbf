"""One page of logs as a DataTable: columns that fit the width, cells coloured by theme variables.

Cells are Rich ``Text`` (a plain ``str`` would be parsed as markup) built from untrusted values
through :mod:`console.safe_text`. Below 100 columns the cache column is dropped and a cache hit
shows as ``cached`` in the cost column (a hit costs nothing anyway); the time column widens to
``Mon DD HH:MM`` only when the page holds logs from an earlier day.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import ClassVar, Iterable

from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable

from console.replay_mark import model_cell, replay_of
from console.safe_text import clean_line
from console.units import format_cost, format_duration, format_tokens, format_when
from console.widgets.styles import component_style
from proxy_core.services import LogRecord
from proxy_core.services.types import Clock, system_clock

__all__ = ["LogsTable"]

# (key, title, width, right-aligned); width 0 = the flexible column, None = the time column
_COLUMNS: tuple[tuple[str, str, int | None, bool], ...] = (
    ("time", "time", None, False),
    ("provider", "provider", 10, False),
    ("model", "model", 0, False),
    ("status", "st", 3, True),
    ("cache", "cache", 5, False),
    ("tokens", "tokens", 9, True),
    ("cost", "cost", 8, True),
    ("duration", "dur", 6, True),
    ("feedback", "fb", 4, False),
)
_NARROW = 100
_MIN_FLEX, _MAX_FLEX = 10, 48


class LogsTable(DataTable):
    """The page of logs shown by the Logs view, one row per log keyed by its id."""

    HELP_CONTEXT = "Logs table"

    COMPONENT_CLASSES: ClassVar[set[str]] = DataTable.COMPONENT_CLASSES | {
        "logs-table--ok", "logs-table--warn", "logs-table--error", "logs-table--hit", "logs-table--up",
        "logs-table--down", "logs-table--muted",
    }  # fmt: skip

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False, id="logs.cursor_down", tooltip="The older log"),
        Binding("k", "cursor_up", "Up", show=False, id="logs.cursor_up", tooltip="The newer log"),
        Binding("home,g", "first_row", "Newest", show=False, id="logs.first",
                tooltip="The newest log (page 1, with the logs that arrived since)"),
        Binding("end,G", "last_row", "Oldest on page", show=False, id="logs.last", tooltip="The last row of this page"),
    ]

    class TopRequested(Message):
        """The operator asked for the newest log (``g`` / Home): the owner may load newer ones."""

    def __init__(self, *, clock: Clock = system_clock, tz: tzinfo | None = None, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self._clock = clock
        self._tz = tz
        self._records: list[LogRecord] = []
        self._shown_for: tuple[int, bool] | None = None
        """(width, with the cache column) the rows were built for."""

    def _style(self, name: str) -> Style:
        return component_style(self, f"logs-table--{name}")

    def show(self, records: Iterable[LogRecord], *, keep: str | None = None) -> None:
        """Replace the rows (the cursor stays on log ``keep`` when it is still there)."""
        self._records = list(records)
        self.rebuild(keep=keep)

    def rebuild(self, *, keep: str | None = None) -> None:
        """Build columns and rows again (new width, new theme colours)."""
        self.clear(columns=True)
        width = self.size.width or self.app.size.width
        columns = self._columns(width)
        with_cache = any(key == "cache" for key, *_ in columns)
        self._shown_for = (width, with_cache)
        for key, title, size, right in columns:
            self.add_column(Text(title, justify="right" if right else "left"), width=size, key=key)
        keys = [key for key, *_ in columns]
        model_width = next(size for key, _t, size, _r in columns if key == "model")
        for record in self._records:
            cells = self._cells(record, with_cache, model_width)
            self.add_row(*(cells[k] for k in keys), key=record.id)
        kept = keep is not None and any(r.id == keep for r in self._records)
        self.move_cursor(row=self.get_row_index(keep) if kept else 0)  # and scrolled into view

    def action_first_row(self) -> None:
        self.move_cursor(row=0)
        self.post_message(self.TopRequested())

    def action_last_row(self) -> None:
        self.move_cursor(row=max(0, self.row_count - 1))

    def rebuild_if_resized(self) -> None:
        if self._shown_for is not None and self._shown_for[0] != self.size.width:
            self.rebuild(keep=self.cursor_log_id)

    @property
    def cursor_log_id(self) -> str | None:
        if self.row_count == 0:
            return None
        try:
            return str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)
        except Exception:  # no such row (the table is being rebuilt)
            return None

    def update_feedback(self, record: LogRecord) -> None:
        self._records = [record if r.id == record.id else r for r in self._records]
        self.update_cell(record.id, "feedback", self._feedback(record))

    def _columns(self, width: int) -> list[tuple[str, str, int, bool]]:
        chosen = [c for c in _COLUMNS if not (width < _NARROW and c[0] == "cache")]
        now = self._clock()
        time_width = max([8] + [len(format_when(r.created_at, now, self._tz)) for r in self._records])
        fixed = sum((time_width if w is None else w) + 2 for _k, _t, w, _r in chosen if w != 0)
        flex = max(_MIN_FLEX, min(_MAX_FLEX, width - 1 - fixed - 2))
        return [(k, t, time_width if w is None else (w or flex), right) for k, t, w, right in chosen]

    def _cells(self, record: LogRecord, with_cache: bool, model_width: int) -> dict[str, Text]:
        status = "ok" if record.success else ("warn" if 400 <= record.status_code < 500 else "error")
        hit = record.cached
        cost = (
            Text("cached", style=self._style("hit"), justify="right")
            if hit and not with_cache
            else Text(format_cost(record.cost, short=True), justify="right")
        )
        return {
            "time": Text(format_when(record.created_at, self._clock(), self._tz), style=self._style("muted")),
            "provider": Text(clean_line(record.provider), no_wrap=True, overflow="ellipsis"),
            "model": Text(model_cell(clean_line(record.model or "-"), replay_of(record.metadata) is not None, model_width),
                          no_wrap=True),
            "status": Text(str(record.status_code), style=self._style(status), justify="right"),
            "cache": Text("hit" if hit else "", style=self._style("hit")),
            "tokens": Text(format_tokens(record.tokens_in, record.tokens_out), justify="right"),
            "cost": cost,
            "duration": Text(format_duration(record.duration), justify="right"),
            "feedback": self._feedback(record),
        }

    def _feedback(self, record: LogRecord) -> Text:
        mark = {1: "+", -1: "-"}.get(record.feedback, " ")
        style = {1: "up", -1: "down"}.get(record.feedback)
        text = Text(mark, style=self._style(style) if style else "")
        if record.score is not None:
            text.append(f" {record.score}")
        return text
