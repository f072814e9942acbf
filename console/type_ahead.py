"""Keys typed in a burst right after the key that opens a form go into the form's fields.

A terminal delivers a fast typist's keys in one read: the key that opens a dialog pushes its
screen, and the next keys reach that screen before it has focused its first field. Textual then
hands them to the screen itself, where a character is simply lost (and the rest of the burst ends
up in whichever field gets the focus next, short of its first letters). :class:`TypeAhead` takes
every printable key (and tab / shift+tab) that reaches the dialog's screen without a field having
taken it, and puts it where it was meant to go: the focused field, else the first one. Public
Textual API only: ``on_key``, ``set_focus`` and ``Input.insert_text_at_cursor``.
"""

from __future__ import annotations

from textual import events
from textual.screen import Screen
from textual.widgets import Input

__all__ = ["TypeAhead"]


class TypeAhead:
    """Mixin for a :class:`~textual.screen.ModalScreen` whose fields are :class:`Input` widgets."""

    def on_key(self, event: events.Key) -> None:
        screen = self if isinstance(self, Screen) else None
        if screen is None:
            return
        fields = [field for field in screen.query(Input) if not field.disabled and field.display]
        if not fields:
            return
        focused = screen.focused
        current = focused if isinstance(focused, Input) and focused in fields else None
        if event.key in ("tab", "shift+tab") and (focused is None or current is not None):
            at = fields.index(current) if current is not None else -1
            step = 1 if event.key == "tab" else -1
            screen.set_focus(fields[(at + step) % len(fields)] if at >= 0 else fields[0])
        elif event.character is not None and event.character.isprintable() and (focused is None or current):
            field = current or fields[0]
            if field is not focused:
                screen.set_focus(field)
            field.insert_text_at_cursor(event.character)
        else:
            return
        event.stop()
        event.prevent_default()
