"""The footer of every mode screen: the screen's keys on one line, drawn by one widget.

Textual's ``Footer`` rebuilds a widget per key (mount, styles, a ``compact`` class each) whenever
the screen's bindings change: on every view switch, focus change and ``refresh_bindings`` (space
on Live). Measured, that rebuild was about a quarter of a view switch and most of the cost of a
key like space. This footer keeps the keys as data: when the bindings change it works out the
line again and repaints only when it differs. It looks like the compact ``Footer`` (same theme
variables, the command palette key on the right), and keeps its behaviour: a click on a key
presses it (a disabled key rings the bell), hovering a key highlights it and shows its tooltip.
When the keys do not fit, the view's last ones give way to ``…`` and the console's own keys (the
views, ``?`` help) stay on the line.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import groupby
from typing import TYPE_CHECKING, Callable, ClassVar, NamedTuple

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.widget import Widget

from console.widgets.styles import component_style

if TYPE_CHECKING:
    from textual.screen import Screen

__all__ = ["KeyFooter", "FooterItem"]


class FooterItem(NamedTuple):
    """One key (or a group's label, with ``key`` empty) as the footer shows it."""

    key: str
    """The key pressed when it is clicked (``""`` for a label)."""
    display: str
    """How the key is written (``^p``, ``space``, ``1``)."""
    description: str
    enabled: bool
    tooltip: str
    gap_before: str
    """Spaces between this item and the one before it."""
    essential: bool = False
    """One of the console's own keys (views, help): kept when the line is too long, the view's
    last keys giving way instead (they stay in ``?`` help and the palette)."""


class KeyFooter(Widget, can_focus=False):
    """``⏎ Open space Pause / Filter  123456 Views ? Help           ▏^p palette``."""

    ALLOW_SELECT = False
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "footer-key--key", "footer-key--description", "footer-key--hover", "footer-key--separator",
    }  # fmt: skip
    DEFAULT_CSS = """
    KeyFooter {
        dock: bottom;
        height: 1;
        width: 1fr;
        color: $footer-foreground;
        background: $footer-background;
        text-wrap: nowrap;
        & > .footer-key--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        & > .footer-key--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
        & > .footer-key--hover {
            color: $footer-key-foreground;
            background: $block-hover-background;
        }
        & > .footer-key--separator {
            color: $foreground 20%;
        }
    }
    """

    def __init__(self, *, show_command_palette: bool = True, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.show_command_palette = show_command_palette
        self._items: tuple[FooterItem, ...] = ()
        self._palette: FooterItem | None = None
        self._spans: list[tuple[int, int, FooterItem]] = []
        """``(start, end, item)`` cells of each clickable key as last rendered."""
        self._hover: FooterItem | None = None

    # -- bindings --------------------------------------------------------------------------------

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self.bindings_changed)
        self.bindings_changed(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def bindings_changed(self, screen: Screen) -> None:
        """Read the screen's bindings again; repaint when what the footer shows changed."""
        if not self.is_attached or screen is not self.screen:
            return
        items, palette = self._read(screen)
        if items != self._items or palette != self._palette:
            self._items, self._palette = items, palette
            if self._hover is not None and self._hover not in items and self._hover != palette:
                self._hover = None
            self.refresh()

    def _read(self, screen: Screen) -> tuple[tuple[FooterItem, ...], FooterItem | None]:
        """The items to show, grouped like Textual's compact footer."""
        app = self.app
        active = screen.active_bindings
        by_action: defaultdict[str, list[tuple[Binding, bool, str]]] = defaultdict(list)
        essential: set[str] = set()
        for node, binding, enabled, tooltip in active.values():
            if binding.show:
                by_action[binding.action].append((binding, enabled, tooltip))
                if node is app:
                    essential.add(binding.action)
        items: list[FooterItem] = []
        gap = ""
        for group, members in groupby(by_action.values(), lambda bindings: bindings[0][0].group):
            grouped = list(members)
            if group is not None and len(grouped) > 1:
                gap += " "  # the group's own padding
                for bindings in grouped:
                    binding, enabled, tooltip = bindings[0]
                    items.append(FooterItem(binding.key, app.get_key_display(binding), "", enabled,
                                            tooltip or binding.description, gap, binding.action in essential))  # fmt: skip
                    gap = ""
                items.append(FooterItem("", "", group.description, True, "", " ", grouped[0][0][0].action in essential))
                gap = " "
            else:
                for bindings in grouped:
                    binding, enabled, tooltip = bindings[0]
                    items.append(FooterItem(binding.key, app.get_key_display(binding), binding.description,
                                            enabled, tooltip, gap, binding.action in essential))  # fmt: skip
                    gap = " "
        palette = None
        if self.show_command_palette and app.ENABLE_COMMAND_PALETTE:
            found = active.get(app.COMMAND_PALETTE_BINDING)
            if found is not None:
                _node, binding, enabled, tooltip = found
                palette = FooterItem(binding.key, app.get_key_display(binding), binding.description, enabled,
                                     binding.tooltip or binding.description, "")  # fmt: skip
        return tuple(items), palette

    # -- rendering -------------------------------------------------------------------------------

    def _item_text(self, item: FooterItem, key_style: Style, description_style: Style, hover: Style) -> Text:
        text = Text(no_wrap=True, end="")
        if item.key:
            text.append(item.display, key_style)
        if item.description:
            text.append((" " if item.key else "") + item.description, description_style)
        if not item.enabled:
            text.stylize(Style(dim=True))
        if item == self._hover and item.key:
            text.stylize(hover)
        return text

    def render(self) -> Text:
        width = self.size.width
        key_style = component_style(self, "footer-key--key")
        description_style = component_style(self, "footer-key--description")
        hover = component_style(self, "footer-key--hover")

        def size(items: list[FooterItem]) -> int:
            return sum(len(i.gap_before) + self._item_text(i, key_style, description_style, hover).cell_len for i in items) + 1

        # Too long for the width: first the palette key loses its label, then the view keys
        # ``1``…``6`` read ``1-6``, then the view's last keys give way to ``…``.
        items = list(self._items)
        palette = self._palette
        if palette is not None and size(items) + 3 + len(palette.display) + 1 + len(palette.description) > width:
            palette = FooterItem(palette.key, palette.display, "", palette.enabled, palette.tooltip, "")
        palette_text: Text | None = None
        if palette is not None:
            palette_text = Text.assemble(
                ("▏", component_style(self, "footer-key--separator")),
                self._item_text(palette, key_style, description_style, hover), " ",
            )  # fmt: skip
        room = width - (palette_text.cell_len if palette_text is not None else 0)
        if size(items) > room:
            items = _collapse_digits(items)
        if size(items) > room:
            items = self._fitting(items, room, size)
        line = Text(no_wrap=True, end="", overflow="crop")
        spans: list[tuple[int, int, FooterItem]] = []
        for item in items:
            line.append(item.gap_before)
            start = line.cell_len
            line.append_text(self._item_text(item, key_style, description_style, hover))
            if item.key:
                spans.append((start, line.cell_len, item))
        line.append(" ")  # the last key's margin
        if line.cell_len > room:
            line.truncate(max(0, room))
        else:
            line.pad_right(room - line.cell_len)
        if palette_text is not None and palette is not None:
            spans.append((line.cell_len + 1, line.cell_len + palette_text.cell_len - 1, palette))
            line.append_text(palette_text)
        self._spans = [span for span in spans if span[0] < width]
        return line

    @staticmethod
    def _fitting(items: list[FooterItem], room: int, size: "Callable[[list[FooterItem]], int]") -> list[FooterItem]:
        """The view's keys that fit beside the essential ones, whole groups at a time, then ``…``."""
        units: list[list[FooterItem]] = []
        for item in items:  # a group's keys follow each other without a gap; its label closes it
            joins = units and (item.gap_before == "" or (not item.key and units[-1][-1].key and units[-1][-1].gap_before == ""))
            if joins and units[-1][0].essential == item.essential:
                units[-1].append(item)
            else:
                units.append([item])
        essential = [i for unit in units for i in unit if unit[0].essential]
        budget = room - size(essential) - 2  # " …"
        chosen: list[FooterItem] = []
        for unit in (u for u in units if not u[0].essential):
            cost = size(unit) - 1
            if cost > budget:
                break
            chosen += unit
            budget -= cost
        return chosen + [FooterItem("", "", "…", True, "", " ")] + essential


    # -- mouse -----------------------------------------------------------------------------------

    def _item_at(self, x: int) -> FooterItem | None:
        for start, end, item in self._spans:
            if start <= x < end:
                return item
        return None

    def on_mouse_move(self, event: events.MouseMove) -> None:
        item = self._item_at(event.x)
        if item != self._hover:
            self._hover = item
            self.tooltip = item.tooltip if item is not None and item.tooltip else None
            self.refresh()

    def on_leave(self, event: events.Leave) -> None:
        if self._hover is not None:
            self._hover = None
            self.tooltip = None
            self.refresh()

    def on_mouse_down(self, event: events.MouseDown) -> None:
        item = self._item_at(event.x)
        if item is None:
            return
        if not item.enabled:
            self.app.bell()
        else:
            self.app.simulate_key(item.key)


def _collapse_digits(items: list[FooterItem]) -> list[FooterItem]:
    """``123456 Views`` as ``1-6 Views`` (a group of consecutive digit keys; not clickable then)."""
    out: list[FooterItem] = []
    i = 0
    while i < len(items):
        j = i
        while j < len(items) and items[j].key.isdigit() and (j == i or items[j].gap_before == ""):
            j += 1
        if j - i > 2 and j < len(items) and not items[j].key:
            label = items[j]
            out.append(FooterItem("", "", f"{items[i].display}-{items[j - 1].display} {label.description}", True,
                                  label.tooltip, items[i].gap_before, label.essential))  # fmt: skip
            i = j + 1
            continue
        out.append(items[i])
        i += 1
    return out
