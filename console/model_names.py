"""A model name cut to a table column without losing what tells it from its siblings.

Sibling models differ in their version and size (``claude-sonnet-4-5`` / ``claude-sonnet-4``,
``llama-3.1-8b`` / ``llama-3.1-70b``), less in their release date and least in the organisation
prefix (``@cf/meta/``) or a word every sibling shares. A plain middle cut drops the part that
differs (``llama-3.1-8b-instant`` → ``llama-3.1…-instant``). :func:`cut_model_name` gives the
cells up in this order instead, stopping as soon as the name fits, and marks every cut with ``…``:

1. the organisation path (``@cf/meta/llama-3.1-8b-instruct`` → ``…/llama-3.1-8b-instruct``);
2. a release date down to its last four digits, then the whole date or ``-latest``
   (``claude-sonnet-4-5-20250929`` → ``claude-sonnet-4-5…0929`` → ``claude-sonnet-4-5…``);
3. the words without digits, longest first (the family name on a tie: every sibling shares it),
   down to one letter each (``llama-3.1-8b-instant`` → ``llama-3.1-8b-inst…``);
4. only then the middle of what is left.
"""

from __future__ import annotations

import re

from rich.cells import cell_len

from console.safe_text import middle_ellipsis

__all__ = ["cut_model_name"]

_DATE = re.compile(r"[-_@](\d{8}|\d{4}-\d{2}-\d{2}|latest)$")
_PIECE = re.compile(r"[^-_./:]+|[-_./:]")


def cut_model_name(name: str, width: int) -> str:
    """``name`` in at most ``width`` cells (see the module's docstring for what goes first)."""
    if cell_len(name) <= width:
        return name
    slash = name.rfind("/")
    if slash > 0:
        name = "…/" + name[slash + 1 :]
        if cell_len(name) <= width:
            return name
    core, date_tail = name, ""
    date = _DATE.search(name)
    if date is not None:
        core = name[: date.start()]
        digits = date.group(1).replace("-", "")
        if digits.isdigit():
            shorter = f"{core}…{digits[-4:]}"
            if cell_len(shorter) <= width:
                return shorter
        date_tail = "…"
        if cell_len(core + date_tail) <= width:
            return core + date_tail
    return _shorten_words(core, date_tail, width) or middle_ellipsis(name, width)


def _shorten_words(core: str, tail: str, width: int) -> str:
    """Cut the digit-free words of ``core`` (longest first) until ``core + tail`` fits; a word
    cut at the very end shares the tail's ``…``; empty when even one letter a word is too long."""
    pieces = _PIECE.findall(core)
    kept = [len(piece) for piece in pieces]
    words = [i for i, piece in enumerate(pieces) if piece.isalpha()]

    def shown() -> str:
        out = []
        for i, piece in enumerate(pieces):
            out.append(piece if kept[i] == len(piece) else piece[: kept[i]] + "…")
        text = "".join(out)
        return text if tail and text.endswith("…") else text + tail

    def cells(i: int) -> int:
        return kept[i] + (kept[i] < len(pieces[i]))

    while cell_len(shown()) > width:
        # a word's first cut pays for its ellipsis, so it must leave two letters out to save a cell
        cuttable = [i for i in words if kept[i] > 2 or (kept[i] == 2 and kept[i] < len(pieces[i]))]
        if not cuttable:
            return ""
        widest = max(cuttable, key=lambda i: (cells(i), -i))  # a tie cuts the family name first
        kept[widest] -= 1 if kept[widest] < len(pieces[widest]) else 2
    return shown()
