"""``?``: every binding of the current view and of the whole console, grouped, with what it does."""

from __future__ import annotations

from typing import ClassVar, Iterable, Sequence

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingsMap, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.widgets import Label, Static

__all__ = ["HelpScreen", "collect_bindings", "declared_bindings", "HelpSection"]

HelpSection = tuple[str, list[tuple[str, str, str]]]
"""A heading and its ``(keys, description, tooltip)`` rows."""


def declared_bindings(node: DOMNode) -> list[Binding]:
    """The bindings ``node``'s class declares, its bases' merged in the way Textual merges them (a
    subclass's binding for a key replaces its base's), read from the public ``BINDINGS`` lists."""
    keys: dict[str, list[Binding]] = {}
    for klass in reversed(type(node).__mro__):
        if isinstance(klass, type) and issubclass(klass, DOMNode):
            keys.update(BindingsMap(vars(klass).get("BINDINGS", [])).key_to_bindings)
    return [binding for bindings in keys.values() for binding in bindings]


def _rows(node: DOMNode, seen: set[tuple[str, str]]) -> list[tuple[str, str, str]]:
    rows = []
    app = node.app
    for binding in declared_bindings(node):
        if not binding.description:
            continue
        keys = app.get_key_display(binding)
        mark = (binding.action, binding.description)
        if mark in seen:
            # Same action on several keys (``up,k``): show the keys together.
            for i, (k, d, t) in enumerate(rows):
                if d == binding.description and keys not in k.split("/"):
                    rows[i] = (f"{k}/{keys}", d, t)
            continue
        seen.add(mark)
        rows.append((keys, binding.description, binding.tooltip))
    return rows


def collect_bindings(screen: Screen, title: str) -> list[HelpSection]:
    """The bindings of ``screen``'s widgets (under ``title``), then the console-wide ones."""
    seen: set[tuple[str, str]] = set()
    sections: list[HelpSection] = []
    view_rows: list[tuple[str, str, str]] = []
    for node in screen.walk_children():
        view_rows += _rows(node, seen)
    if view_rows:
        sections.append((title, view_rows))
    sections.append(("Everywhere", _rows(screen.app, seen) + _rows(screen, seen)))
    return sections


class HelpScreen(ModalScreen[None]):
    """A scrollable list of keys; escape, ``?`` or ``q`` closes it."""

    CSS_PATH = "help_screen.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "close", "Close", id="help.close", tooltip="Close the help"),
    ]

    def __init__(self, sections: Sequence[HelpSection]) -> None:
        super().__init__()
        self.sections = list(sections)

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            yield Label("Keys (escape closes; ctrl+p finds any action by name)", id="help-title")
            with VerticalScroll(id="help-body"):
                for heading, rows in self.sections:
                    yield Label(heading, classes="help-heading", markup=False)
                    yield Static(self._table(rows), classes="help-table")

    @staticmethod
    def _table(rows: Iterable[tuple[str, str, str]]) -> Table:
        table = Table.grid(padding=(0, 2), expand=True)
        table.add_column(no_wrap=True, min_width=10)
        table.add_column(ratio=1, overflow="fold")
        for keys, description, tooltip in rows:
            line = Text(description, style="bold")
            if tooltip and tooltip != description:
                line.append(f"  {tooltip}", style="dim")
            table.add_row(Text(keys), line)
        return table

    def action_close(self) -> None:
        self.dismiss(None)
