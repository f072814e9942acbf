"""Reload a view's data when its screen comes back, except from the view's own dialogs.

Another view (or another process sharing the store) may have changed what a view shows while its
screen was hidden, so coming back reloads. A dialog the view opened itself reloads only what its
outcome changed, in its callback, so returning from it does not reload everything a second time.
"""

from __future__ import annotations

from typing import Any, Callable

from textual.screen import Screen

from console.type_ahead import FormKeys

__all__ = ["DialogOwner"]


class DialogOwner(FormKeys):
    """A view widget with ``refresh_data()``; call :meth:`watch_screen_changes` on mount and open
    dialogs with :meth:`_push_dialog` (its form keys work as :class:`~console.type_ahead.FormKeys`)."""

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
