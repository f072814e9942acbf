"""Reload a view's data when its screen comes back, except from the view's own dialogs.

Another view (or another process sharing the store) may have changed what a view shows while its
screen was hidden, so coming back reloads. A dialog the view opened itself reloads only what its
outcome changed, in its callback, so returning from it does not reload everything a second time.
"""

from __future__ import annotations

from typing import Any, Callable, ClassVar

from textual.events import Key
from textual.screen import Screen
from textual.widget import Widget

from console.type_ahead import TypeAhead

__all__ = ["DialogOwner"]


class DialogOwner(Widget):
    """A view widget with ``refresh_data()``; call :meth:`watch_screen_changes` on mount and open
    dialogs with :meth:`_push_dialog`."""

    _own_dialog = False

    def refresh_data(self) -> None:
        raise NotImplementedError

    def watch_screen_changes(self) -> None:
        self.app.screen_change_signal.subscribe(self, self._screen_changed)

    def _screen_changed(self, screen: Screen) -> None:
        if not self.is_attached or screen is not self.screen:
            return
        if self._own_dialog:
            self._own_dialog = False  # back from our own dialog: its outcome reloads what changed
            return
        self.refresh_data()

    def _push_dialog(self, dialog: Screen[Any], callback: Callable[[Any], None] | None = None) -> None:
        self._own_dialog = True
        self.app.push_screen(dialog, callback)

    FORM_KEYS: ClassVar[dict[str, str]] = {}
    """Keys whose action opens a form (a :class:`TypeAhead` dialog), e.g. ``{"n": "new_dataset"}``:
    run as the key arrives, so the keys typed after it in the same burst find the form open."""

    def on_key(self, event: Key) -> None:
        """A fast typist's burst reaches this view before any binding has run: open a form on its
        key at once, then pass the keys after it on to the form instead of running this view's
        bindings with them (``e`` would edit, ``n`` open a second form)."""
        form = self.app.screen
        if self._own_dialog and form is not self.screen and isinstance(form, TypeAhead):
            form.post_message(Key(event.key, event.character))
        elif not self._own_dialog and event.key in self.FORM_KEYS:
            action = self.FORM_KEYS[event.key]
            if self.check_action(action, ()) is not True:
                return
            getattr(self, f"action_{action}")()
        else:
            return
        event.stop()
        event.prevent_default()
