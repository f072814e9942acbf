"""Logged content is untrusted: make it printable before it reaches the terminal.

Prompts, responses, model names, metadata and error strings come from clients and providers.
They may hold ANSI escape sequences (which would move the cursor or recolour the console), other
control characters, bidirectional overrides, or Rich markup. The console shows such text only as
:class:`rich.text.Text` (never parsed as markup) built from these functions, which replace every
control character with a visible stand-in, so the bytes an attacker chose are shown, not obeyed.
"""

from __future__ import annotations

import re

from rich.cells import cell_len, set_cell_size
from rich.text import Text

__all__ = ["clean", "clean_line", "untrusted", "untrusted_line", "middle_ellipsis"]

# C0 controls (except tab and newline), DEL, C1 controls, and the Unicode format characters that
# reorder or hide text (bidi embeddings/overrides/isolates, zero-width joiners, BOM).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f\x80-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
_TAB = 4


def _stand_in(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if code < 0x20:
        return chr(0x2400 + code)  # the Control Pictures block: ESC → ␛, CR → ␍
    if code == 0x7F:
        return "\u2421"  # ␡
    return f"<U+{code:04X}>"


def clean(text: str) -> str:
    """``text`` with newlines kept, tabs expanded and every other control character made visible."""
    return _UNSAFE.sub(_stand_in, text).expandtabs(_TAB)


def clean_line(text: str) -> str:
    """``text`` on one line (for table cells): newlines and tabs become spaces, controls visible."""
    return _UNSAFE.sub(_stand_in, text.replace("\r\n", " ").replace("\n", " ").replace("\t", " "))


def untrusted(text: str, style: str = "") -> Text:
    """Untrusted multi-line text as a Rich ``Text`` (markup is never interpreted)."""
    return Text(clean(text), style=style, no_wrap=False)


def untrusted_line(text: str, style: str = "") -> Text:
    """Untrusted text as a one-line Rich ``Text``."""
    return Text(clean_line(text), style=style, no_wrap=True, overflow="ellipsis")


def middle_ellipsis(text: str, width: int) -> str:
    """``text`` in at most ``width`` cells, cut in the middle so both ends stay readable (a path's
    root and its file name); model names have their own cut, :func:`console.model_names.cut_model_name`."""
    if cell_len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    tail = (width - 1) // 2
    head = width - 1 - tail
    return set_cell_size(text, head) + "…" + _last_cells(text, tail)


def _last_cells(text: str, width: int) -> str:
    out = ""
    for char in reversed(text):
        if cell_len(char + out) > width:
            break
        out = char + out
    return out
