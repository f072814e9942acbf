"""The scrolling text of the log pager, on Textual's Line API, with search.

Logical lines (Rich ``Text``) are wrapped to the widget's width into rows; only the rows on screen
are rendered. :meth:`PagerBody.search` finds every case-insensitive match (within a logical line),
:meth:`PagerBody.next_match` moves to the next or previous one and scrolls it into view; every
match is marked, the current one in the cursor's colours, so they read without colour too
(underlined and reversed).
"""

from __future__ import annotations

import bisect
from typing import ClassVar, NamedTuple, Sequence

from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from console.widgets.styles import component_style

__all__ = ["PagerBody", "Match"]


class Match(NamedTuple):
    line: int
    """Index of the logical line."""
    start: int
    end: int


class _Row(NamedTuple):
    line: int
    start: int
    """Offset of the row's first character in its logical line."""
    text: Text


class PagerBody(ScrollView, can_focus=True):
    """Scrollable, searchable text."""

    HELP_CONTEXT = "Moving in the pager"

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "pager-body--match", "pager-body--current", "pager-body--heading", "pager-body--label", "pager-body--role",
        "pager-body--ok", "pager-body--warn", "pager-body--error", "pager-body--muted",
    }  # fmt: skip
    DEFAULT_CSS = """
    PagerBody {
        scrollbar-size-vertical: 1;
        overflow-x: hidden;
        & > .pager-body--match { background: $warning 40%; text-style: underline; }
        & > .pager-body--current { background: $block-cursor-background; color: $block-cursor-foreground;
                                   text-style: bold reverse underline; }
        & > .pager-body--heading { text-style: bold; color: $text-primary; }
        & > .pager-body--label { color: $text-muted; }
        & > .pager-body--role { text-style: bold; color: $text-accent; }
        & > .pager-body--ok { color: $text-success; }
        & > .pager-body--warn { color: $text-warning; text-style: bold; }
        & > .pager-body--error { color: $text-error; text-style: bold; }
        & > .pager-body--muted { color: $text-muted; }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down,j", "scroll_by(1)", "Down", show=False, id="pager.down", tooltip="One line down"),
        Binding("up,k", "scroll_by(-1)", "Up", show=False, id="pager.up", tooltip="One line up"),
        Binding("pagedown,space", "page(1)", "Page down", show=False, id="pager.page_down", tooltip="One screen down"),
        Binding("pageup,b", "page(-1)", "Page up", show=False, id="pager.page_up", tooltip="One screen up"),
        Binding("home,g", "top", "Top", show=False, id="pager.top", tooltip="The first line"),
        Binding("end,G", "bottom", "Bottom", show=False, id="pager.bottom", tooltip="The last line"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._lines: tuple[Text, ...] = ()
        self._rows: list[_Row] = []
        self._row_of_line: list[int] = []
        """Index of the first row of each logical line."""
        self._width = 0
        self.matches: list[Match] = []
        self.current: int | None = None
        """Index in :attr:`matches` of the match the cursor is on."""
        self._query = ""

    # -- content ---------------------------------------------------------------------------------

    def set_lines(self, lines: Sequence[Text]) -> None:
        self._lines = tuple(lines)
        self.matches, self.current, self._query = [], None, ""
        self._width = 0
        self._wrap()
        self.scroll_to(y=0, animate=False)

    @property
    def plain_lines(self) -> list[str]:
        return [line.plain for line in self._lines]

    def _wrap(self) -> None:
        width = max(10, self.scrollable_content_region.width or self.app.size.width - 1)
        if width == self._width and self._rows:
            return
        self._width = width
        rows: list[_Row] = []
        firsts: list[int] = []
        console = self.app.console
        for index, line in enumerate(self._lines):
            firsts.append(len(rows))
            if not line.plain:
                rows.append(_Row(index, 0, line))
                continue
            start = 0
            for part in line.wrap(console, width, overflow="fold"):
                found = line.plain.find(part.plain, start) if part.plain else start
                start = found if found >= 0 else start
                rows.append(_Row(index, start, part))
                start += len(part.plain)
        self._rows, self._row_of_line = rows, firsts
        self.virtual_size = Size(width, len(rows))
        self.refresh()

    def on_resize(self) -> None:
        self._wrap()

    def row_of(self, match: Match) -> int:
        """The row (from the top of the text) that holds the start of ``match``."""
        first = self._row_of_line[match.line]
        last = self._row_of_line[match.line + 1] if match.line + 1 < len(self._row_of_line) else len(self._rows)
        starts = [self._rows[i].start for i in range(first, last)]
        return first + max(0, bisect.bisect_right(starts, match.start) - 1)

    # -- search ----------------------------------------------------------------------------------

    def search(self, query: str) -> int:
        """Find ``query`` (case-insensitive); the current match becomes the first one at or below
        the top of the screen. Returns how many there are."""
        self._query = query
        needle = query.casefold()
        self.matches = []
        if needle:
            for index, line in enumerate(self._lines):
                haystack = line.plain.casefold()
                at = haystack.find(needle)
                while at >= 0:
                    self.matches.append(Match(index, at, at + len(needle)))
                    at = haystack.find(needle, at + max(1, len(needle)))
        top = int(self.scroll_y)
        self.current = next((i for i, m in enumerate(self.matches) if self.row_of(m) >= top), 0) if self.matches else None
        self._show_current()
        self.refresh()
        return len(self.matches)

    def next_match(self, step: int) -> Match | None:
        """Move to the next (``1``) or previous (``-1``) match, wrapping around."""
        if not self.matches or self.current is None:
            return None
        self.current = (self.current + step) % len(self.matches)
        self._show_current()
        self.refresh()
        return self.matches[self.current]

    def _show_current(self) -> None:
        if self.current is None:
            return
        row = self.row_of(self.matches[self.current])
        height = self.scrollable_content_region.height or 1
        if not (self.scroll_y <= row < self.scroll_y + height):
            self.scroll_to(y=max(0, row - height // 3), animate=False)

    # -- keys ------------------------------------------------------------------------------------

    def action_scroll_by(self, lines: int) -> None:
        self.scroll_to(y=self.scroll_y + lines, animate=False)

    def action_page(self, pages: int) -> None:
        height = max(1, (self.scrollable_content_region.height or 1) - 1)
        self.scroll_to(y=self.scroll_y + pages * height, animate=False)

    def action_top(self) -> None:
        self.scroll_to(y=0, animate=False)

    def action_bottom(self) -> None:
        self.scroll_to(y=self.max_scroll_y, animate=False)

    # -- rendering -------------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        index = int(self.scroll_y) + y
        if index >= len(self._rows):
            return Strip.blank(width, base)
        row = self._rows[index]
        text = row.text
        marks = [(i, m) for i, m in enumerate(self.matches) if m.line == row.line] if self.matches else []
        if marks:
            text = text.copy()
            end_of_row = row.start + len(text.plain)
            for i, match in marks:
                start, end = max(match.start, row.start), min(match.end, end_of_row)
                if start < end:
                    text.stylize(self._mark_style(i == self.current), start - row.start, end - row.start)
        segments = list(text.render(self.app.console))
        return Strip(segments).crop_extend(0, width, None).apply_style(base)

    def style_of(self, role: str) -> Style:
        """The style of a document role (``heading``, ``label``, ``role``, ``ok``, ``warn``,
        ``error``, ``muted``) in the current theme."""
        return component_style(self, f"pager-body--{role}")

    def _mark_style(self, current: bool) -> Style:
        return component_style(self, "pager-body--current" if current else "pager-body--match")
