"""Textual's output when the terminal vanishes (an SSH session dropped, a tmux pane killed).

Once the terminal has hung up, every write to it fails with ``EIO``. Textual's output thread dies
on the first such write, and its shutdown then waits forever to queue its stop marker behind the
writes nobody will take: the console never closes, and a process whose console hangs there never
reaches its shutdown either (seen with the help screen open when a pty closed). The driver writes
to ``sys.__stderr__`` as it was when the app started, so while the console runs that is a stream
that drops writes once the terminal has gone, instead of raising.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any, Iterator, TextIO


class VanishingTerminal:
    """A text stream that forwards to ``stream`` until a write or flush fails, then drops them."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.gone = False

    def write(self, text: str) -> int:
        if not self.gone:
            try:
                return self.stream.write(text)
            except OSError:
                self.gone = True
        return len(text)

    def flush(self) -> None:
        if not self.gone:
            try:
                self.stream.flush()
            except OSError:
                self.gone = True

    def __getattr__(self, name: str) -> Any:  # fileno, isatty, encoding…: the real stream's
        return getattr(self.stream, name)


@contextlib.contextmanager
def terminal_may_vanish() -> Iterator[VanishingTerminal | None]:
    """While the console runs, Textual writes through a :class:`VanishingTerminal`."""
    real = sys.__stderr__
    if real is None:
        yield None
        return
    guarded = VanishingTerminal(real)
    sys.__stderr__ = guarded  # type: ignore[misc,assignment]  # read by Textual's driver at start
    try:
        yield guarded
    finally:
        sys.__stderr__ = real  # type: ignore[misc]
