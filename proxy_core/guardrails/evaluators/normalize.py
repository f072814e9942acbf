"""Text normalisation for the built-in pattern lexicon: one canonical form to match phrases against.

The lexicon's phrases are written in the *words* form: NFKC, lower case, zero-width characters
gone, leetspeak undone inside words (``k1ll`` → ``kill``, ``b0mb`` → ``bomb``, ``m@ke`` → ``make``),
apostrophes dropped (``someone's`` → ``someones``, ``i'm`` → ``im``), every other non-alphanumeric
character a space, letter-spaced words joined (``b o m b``, ``b.o.m.b`` → ``bomb``; when that
happens both readings of a leading ``a``/``i`` are kept, separated by `` ~ ``) and single spaces. The *raw* form (NFKC, lower case) keeps punctuation for shell commands and number patterns.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

__all__ = ["Views", "views_of"]

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i", "|": "i"})
_LEET_CHARS = frozenset("013457@$!|")
# A whole token holding a leet character (the lookbehind keeps the scan linear).
_LEET_TOKEN = re.compile(r"(?<!\S)(?=[^\s013457@$!|]*[013457@$!|])\S+")
_EDGE_PUNCT = ".,;:!?\"'()[]{}<>*_~`"
_APOSTROPHES = re.compile(r"['’`ʼ]")
_NON_WORD = re.compile(r"[^a-z0-9 ]+")
_SPACES = re.compile(r" {2,}")
# Three single letters separated by single spaces (on the padded text): a letter-spaced word.
_SPACED_HINT = re.compile(r" [a-z] [a-z] [a-z] ")
_SPACED_PAIR = re.compile(r"(?<![a-z0-9])[a-z](?: [a-z](?![a-z0-9]))+")


@dataclass(frozen=True, slots=True)
class Views:
    """The two forms the lexicon matches: ``words`` (padded with a space each side) and ``raw``."""

    words: str
    raw: str


def _unleet(match: re.Match[str]) -> str:
    token = match.group(0)
    core = token.strip(_EDGE_PUNCT)
    # Only words that start with a letter and mix in leet digits/symbols: "k1ll", "t0", "mys3lf";
    # numbers, "$50", "1st", "4k", "2fa" are left alone.
    if not core or not core[0].isalpha() or _LEET_CHARS.isdisjoint(core):
        return token
    return core.translate(_LEET)


def _join_letters(match: re.Match[str]) -> str:
    return match.group(0).replace(" ", "")


def _join_after_article(match: re.Match[str]) -> str:
    run = match.group(0)
    # "make a b o m b": a leading "a" or "i" before a longer run may be the article/pronoun.
    if len(run) >= 7 and run[0] in "ai":
        return run[:2] + run[2:].replace(" ", "")
    return run.replace(" ", "")


def views_of(text: str) -> Views:
    """Both normalised forms of ``text`` (see the module docstring)."""
    raw = unicodedata.normalize("NFKC", text).translate(_ZERO_WIDTH).lower()
    words = _LEET_TOKEN.sub(_unleet, raw)
    words = _APOSTROPHES.sub("", words)
    words = " " + _NON_WORD.sub(" ", words) + " "
    if _SPACED_HINT.search(words):
        # Letter-spaced text ("h o w  t o  b u i l d"): single spaces join letters, wider gaps
        # separate words, so join runs of single letters before collapsing the spaces.
        # Both readings ("a n t h r a x" → "anthrax", "a b o m b" → "a bomb"), with a "~" between
        # them that no phrase can cross.
        words = _SPACED_PAIR.sub(_join_letters, words) + " ~ " + _SPACED_PAIR.sub(_join_after_article, words)
    words = _SPACES.sub(" ", words).strip()
    return Views(words=f" {words} ", raw=raw)
