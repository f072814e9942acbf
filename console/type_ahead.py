"""Keys typed in a burst right after the key that opens a form go into the form's fields.

A terminal delivers a fast typist's keys in one read: the key that opens a dialog pushes its
screen, and the next keys reach that screen before it has focused its first field. Textual then
hands them to the screen itself, where a character is simply lost (and the rest of the burst ends
up in whichever field gets the focus next, short of its first letters). :class:`TypeAhead` takes
every printable key (and tab / shift+tab) that reaches the dialog's screen without a field having
taken it, and puts it where it was meant to go: the focused field, else the first one. Public
Textual API only: ``on_key``, ``set_focus`` and ``Input.insert_text_at_cursor``.

The keys of such a burst that the terminal delivered before the dialog was pushed are still on
their way to the view below it. A view that opens forms mixes in :class:`FormKeys`: the key that
opens a form runs its action at once (not after the keys behind it), and the keys after it are
posted to the form instead of running the view's own bindings.
"""

from __future__ import annotations

from typing import ClassVar

from textual import events
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input

__all__ = ["TypeAhead", "FormKeys"]


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


class FormKeys(Widget):
    """Mixin for a view whose keys open :class:`TypeAhead` forms (list them in ``FORM_KEYS``)."""

    FORM_KEYS: ClassVar[dict[str, str]] = {}
    """Keys whose action opens a form, e.g. ``{"n": "new_dataset"}``: run as the key arrives, so
    the keys typed after it in the same burst find the form open."""

    def on_key(self, event: events.Key) -> None:
        """A fast typist's burst reaches this view before any binding has run: open a form on its
        key at once, then pass the keys after it on to the form instead of running this view's
        bindings with them (``e`` would edit, ``n`` open a second form)."""
        form = self.app.screen
        if form is not self.screen and isinstance(form, TypeAhead):
            form.post_message(events.Key(event.key, event.character))
        elif form is self.screen and event.key in self.FORM_KEYS:
            action = self.FORM_KEYS[event.key]
            if self.check_action(action, ()) is not True:
                return
            getattr(self, f"action_{action}")()
        else:
            return
        event.stop()
        event.prevent_default()
