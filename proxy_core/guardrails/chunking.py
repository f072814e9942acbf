"""Long content split into overlapping chunks an evaluator's context can hold (SPEC §4)."""

from __future__ import annotations

__all__ = ["chunk"]


def chunk(text: str, max_chars: int, overlap: int = 100) -> list[str]:
    """``text`` cut into pieces of at most ``max_chars`` characters, each overlapping the previous.

    The overlap keeps a phrase that straddles a boundary whole in at least one chunk (as long as
    the phrase is shorter than the overlap). Cuts prefer whitespace in the last quarter of a
    window so words stay intact. Blank text gives ``[]``; text that fits gives ``[text]``.
    """
    if max_chars < 1:
        raise ValueError("chunk: max_chars must be at least 1")
    if not text or text.isspace():
        return []
    if len(text) <= max_chars:
        return [text]
    overlap = max(0, min(overlap, max_chars // 2))
    pieces: list[str] = []
    start = 0
    n = len(text)
    while start < n:
        end = min(start + max_chars, n)
        if end < n:
            floor = start + max(overlap + 1, (max_chars * 3) // 4)
            cut = text.rfind(" ", floor, end)
            if cut == -1:
                cut = max(text.rfind("\n", floor, end), text.rfind("\t", floor, end))
            if cut > start:
                end = cut
        pieces.append(text[start:end])
        if end >= n:
            break
        start = end - overlap
    return pieces
