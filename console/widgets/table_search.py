"""``/`` in the views without a filter bar of their own (Analytics, Datasets, Guardrails, Gateways):
a search line that finds rows of the table the operator was in.

Typing moves the cursor to the first row at or below it whose cells contain the text
(case-insensitive); enter or ``down`` goes to the next match, ``up`` to the previous one (both
wrap); escape closes the line and leaves the cursor on the match. Only the rows the table holds
are searched (the audit log's older records come with ``m``).
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import DataTable, Input, Static

__all__ = ["TableSearch", "row_texts"]


def row_texts(table: DataTable) -> list[str]:
    """Each row's cells as one case-folded string, in row order."""
    texts = []
    for index in range(table.row_count):
        cells = table.get_row_at(index)
        texts.append(" ".join(cell.plain if isinstance(cell, Text) else str(cell) for cell in cells).casefold())
    return texts


class TableSearch(Horizontal):
    """The search line, hidden until :meth:`open`."""

    HELP_CONTEXT = "Search line (after /)"
    HELP_UNLESS_KEY = "slash"
    """Listed in help only where the view has no ``/`` of its own."""

    DEFAULT_CSS = """
    TableSearch {
        height: 1;
        display: none;
        background: $panel;
        &.-open { display: block; }
        & > #table-search-input { width: 1fr; height: 1; border: none; padding: 0 1; background: $panel; }
        & > #table-search-input:focus { border: none; }
        & > #table-search-count { width: auto; padding: 0 1; color: $text-muted; }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down", "step(1)", "Next match", show=False, id="search.next", tooltip="The next row that matches"),
        Binding("up", "step(-1)", "Previous match", show=False, id="search.previous",
                tooltip="The previous row that matches"),
        Binding("escape", "close", "Close search", show=False, id="search.close",
                tooltip="Close the search line (the cursor stays on the match)"),
    ]  # fmt: skip

    def __init__(self) -> None:
        super().__init__(id="table-search")
        self.table: DataTable | None = None
        self.matches: list[int] = []

    def compose(self) -> ComposeResult:
        yield Input(placeholder="search this table (enter/↓ next, ↑ previous, escape closes)", id="table-search-input")
        yield Static("", id="table-search-count")

    @property
    def input(self) -> Input:
        return self.query_one(Input)

    def open(self, table: DataTable) -> None:
        self.table = table
        self.add_class("-open")
        self.input.focus()
        if self.input.value:
            self._find(self.input.value, from_row=table.cursor_row)

    @on(Input.Changed, "#table-search-input")
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        if self.table is not None:
            self._find(event.value, from_row=self.table.cursor_row)

    @on(Input.Submitted, "#table-search-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_step(1)

    def _find(self, query: str, *, from_row: int) -> None:
        table = self.table
        if table is None:
            return
        needle = query.casefold().strip()
        self.matches = [i for i, text in enumerate(row_texts(table)) if needle and needle in text]
        if self.matches:
            target = next((i for i in self.matches if i >= from_row), self.matches[0])
            table.move_cursor(row=target)
        self._show_count()

    def action_step(self, step: int) -> None:
        table = self.table
        if table is None or not self.matches:
            self.app.bell()
            return
        here = table.cursor_row
        if step > 0:
            target = next((i for i in self.matches if i > here), self.matches[0])
        else:
            target = next((i for i in reversed(self.matches) if i < here), self.matches[-1])
        table.move_cursor(row=target)
        self._show_count()

    def _show_count(self) -> None:
        table = self.table
        query = self.input.value.strip()
        if not query:
            text = ""
        elif not self.matches:
            text = "no match"
        else:
            at = self.matches.index(table.cursor_row) + 1 if table is not None and table.cursor_row in self.matches else 0
            text = f"{at}/{len(self.matches)}"
        self.query_one("#table-search-count", Static).update(text)

    def action_close(self) -> None:
        self.remove_class("-open")
        if self.table is not None:
            self.table.focus()
