"""A first-characters index over many regexes, so a long text is scanned once instead of once per pattern.

Every word-view phrase starts with a space. From its parsed form we enumerate the strings of
three characters that can follow that space; at run time each word boundary of the text looks up
its next three characters and tries only the phrases indexed there (``pattern.match`` at that
position). Phrases whose start cannot be enumerated (a wildcard, a large character class) are
kept aside and searched the ordinary way. The index is a speed-up only: it never changes what
matches, which ``tests/unit/test_guardrails_builtin.py`` checks against a plain search.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

try:  # Python ≥ 3.11
    from re import _constants as _sre, _parser as _sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    import sre_constants as _sre  # type: ignore[no-redef]
    import sre_parse as _sre_parse  # type: ignore[no-redef]

__all__ = ["PatternIndex", "prefixes"]

KEY = 4
LEAD_WORDS = 16
"""How many words before a phrase a lead may start (its own words plus the gap it allows)."""
_CAP = 4096
_MAX_CLASS = 40


class _Wild(Exception):
    """The start of this pattern cannot be enumerated cheaply."""


def _charset(items: list) -> set[str]:
    chars: set[str] = set()
    for op, av in items:
        if op is _sre.LITERAL:
            chars.add(chr(av))
        elif op is _sre.RANGE:
            lo, hi = av
            if hi - lo >= _MAX_CLASS:
                raise _Wild
            chars.update(chr(c) for c in range(lo, hi + 1))
        else:  # NEGATE, CATEGORY (\w, \d, …)
            raise _Wild
        if len(chars) > _MAX_CLASS:
            raise _Wild
    return chars


def _expand(op: Any, av: Any, need: int) -> set[str]:
    if op is _sre.LITERAL:
        return {chr(av)}
    if op is _sre.IN:
        return _charset(av)
    if op is _sre.BRANCH:
        out: set[str] = set()
        for sub in av[1]:
            out |= _seq(sub, need)
        return out
    if op is _sre.SUBPATTERN:
        return _seq(av[-1], need)
    if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT) or getattr(_sre, "POSSESSIVE_REPEAT", None) is op:
        lo, hi, sub = av
        body = _seq(sub, need)
        out = {""} if lo == 0 else set()
        current = {""}
        for n in range(1, max(lo, need) + 1):
            if n > hi:
                break
            current = {(s + b)[:need] for s in current for b in body if len(s) < need} | {s for s in current if len(s) >= need}
            if len(current) > _CAP:
                raise _Wild
            if n >= lo:
                out |= current
        return out
    if op in (_sre.AT, _sre.ASSERT, _sre.ASSERT_NOT):
        return {""}
    if getattr(_sre, "ATOMIC_GROUP", None) is op:
        return _seq(av, need)
    raise _Wild  # ANY, NOT_LITERAL, GROUPREF, …


def _seq(items: Iterable, need: int) -> set[str]:
    current = {""}
    for op, av in items:
        done = {s for s in current if len(s) >= need}
        todo = [s for s in current if len(s) < need]
        if not todo:
            break
        grown = set(done)
        for s in todo:
            for e in _expand(op, av, need - len(s)):
                grown.add((s + e)[:need])
        if len(grown) > _CAP:
            raise _Wild
        current = grown
    return current


def prefixes(pattern: str) -> set[str] | None:
    """The :data:`KEY`-character strings that can follow the pattern's leading space, or ``None``
    when they cannot be enumerated (or the pattern does not start with a space)."""
    try:
        starts = _seq(_sre_parse.parse(pattern), KEY + 1)
    except (_Wild, RecursionError):
        return None
    if not starts or any(len(s) < KEY + 1 or s[0] != " " for s in starts):
        return None
    return {s[1:] for s in starts}


class PatternIndex:
    """Finds which labels' patterns match a text; ``labels`` may repeat (several patterns per label).

    An entry may name a ``lead``: a pattern that must end exactly where the phrase starts, at most
    :data:`LEAD_WORDS` words before it (a request such as "how do I", then a few words). The lead is
    only tried where the phrase matched, with ``fullmatch`` over each candidate start, which is the
    same as searching ``lead + phrase`` but far cheaper on long texts.
    """

    def __init__(self, entries: Iterable[tuple[str, str, str | None]]):
        self._by_key: dict[str, list[tuple[str, re.Pattern[str], re.Pattern[str] | None]]] = {}
        unindexed: dict[str, list[str]] = {}
        leads: dict[str, re.Pattern[str]] = {}
        self.size = 0
        for label, pattern, lead in entries:
            self.size += 1
            keys = prefixes(pattern)
            if keys is None:
                unindexed.setdefault(label, []).append(f"{lead}{pattern}" if lead else pattern)
                continue
            compiled = re.compile(pattern)
            lead_re = leads.setdefault(lead, re.compile(lead)) if lead else None
            for key in keys:
                self._by_key.setdefault(key, []).append((label, compiled, lead_re))
        self._unindexed = {label: re.compile("|".join(f"(?:{p})" for p in pats)) for label, pats in unindexed.items()}
        self.unindexed = sum(len(p) for p in unindexed.values())

    def search(self, text: str, skip: frozenset[str] | set[str] = frozenset()) -> dict[str, str]:
        """Label → the first matched text, for each label (not in ``skip``) with a pattern in ``text``."""
        found: dict[str, str] = {}
        by_key = self._by_key
        pos = text.find(" ")
        end = len(text) - 1
        while 0 <= pos < end:
            candidates = by_key.get(text[pos + 1 : pos + 1 + KEY])
            if candidates:
                for label, compiled, lead in candidates:
                    if label in found or label in skip:
                        continue
                    m = compiled.match(text, pos)
                    if m is None:
                        continue
                    if lead is None:
                        found[label] = m.group(0).strip()
                        continue
                    start = _lead_start(text, pos, lead)
                    if start is not None:
                        found[label] = text[start : m.end()].strip()
            pos = text.find(" ", pos + 1)
        for label, compiled in self._unindexed.items():
            if label not in found and label not in skip:
                m = compiled.search(text)
                if m:
                    found[label] = m.group(0).strip()
        return found


def _lead_start(text: str, pos: int, lead: re.Pattern[str]) -> int | None:
    """Where a ``lead`` match ending exactly at ``pos`` starts (nearest first), or ``None``."""
    start = pos
    for _ in range(LEAD_WORDS):
        start = text.rfind(" ", 0, start)
        if start < 0:
            return None
        if lead.fullmatch(text, start, pos):
            return start
    return None
