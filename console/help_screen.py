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
from textual.widgets import Input, Label, Static

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


def _context(node: DOMNode, title: str) -> str:
    """The heading a node's keys go under: its ``HELP_CONTEXT`` (e.g. "Filter bar"), else ``title``."""
    context = getattr(node, "HELP_CONTEXT", None)
    return context if isinstance(context, str) else title


def _is_ours(binding: Binding) -> bool:
    """A key the console declares (every one has an ``id``), not a generic widget key of Textual's."""
    return bool(binding.description) and binding.id is not None


def collect_bindings(screen: Screen, title: str) -> list[HelpSection]:
    """The console's keys on ``screen``, grouped by where they apply (the view, its table, the
    filter bar, the search line, every view, everywhere), each key once: a key that the view takes
    for itself is not listed again under "Every view" / "Everywhere", and keys that do the same
    thing share a row (``↓/j``)."""
    app = screen.app
    nodes = list(screen.walk_children())

    def keys_of(owners: list[DOMNode]) -> set[str]:
        return {b.key for node in owners for b in declared_bindings(node) if _is_ours(b)}

    # A widget with ``HELP_UNLESS_KEY`` (the search line, for "/") is listed only where no other
    # widget of the screen takes that key for itself.
    nodes = [n for n in nodes if getattr(n, "HELP_UNLESS_KEY", None) not in keys_of([o for o in nodes if o is not n])]
    in_view = keys_of([n for n in nodes if not isinstance(n, Input)])  # a text field's keys apply only while typing
    screen_heading = "Every view" if getattr(screen, "spec", None) is not None else title
    sources: list[tuple[str, DOMNode, set[str]]] = [(_context(node, title), node, set()) for node in nodes]
    sources.append((screen_heading, screen, in_view))
    sources.append(("Everywhere", app, in_view | keys_of([screen])))
    sections: dict[str, list[tuple[str, str, str]]] = {}
    by_action: dict[tuple[str, str], tuple[str, int]] = {}
    for heading, node, shadowed in sources:
        for binding in declared_bindings(node):
            if not _is_ours(binding) or binding.key in shadowed:
                continue
            keys = app.get_key_display(binding)
            rows = sections.setdefault(heading, [])
            mark = (binding.action, binding.description)
            if mark in by_action:  # the same action on another key: one row, both keys
                where, index = by_action[mark]
                shown, description, tooltip = sections[where][index]
                if keys not in shown.split("/"):
                    sections[where][index] = (f"{shown}/{keys}", description, tooltip)
                continue
            by_action[mark] = (heading, len(rows))
            rows.append((keys, binding.description, binding.tooltip))
    return [(heading, rows) for heading, rows in sections.items() if rows]


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
