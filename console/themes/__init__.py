"""Themes are data: each ``*.toml`` file beside this module becomes a :class:`textual.theme.Theme`.

A theme file holds the Theme fields (``name``, ``dark``, ``primary``, ``background``, …) and an
optional ``[variables]`` table of extra CSS variables. Views use only theme variables in their
``.tcss``, so adding a file here is all it takes to add a theme.
"""

from __future__ import annotations

import tomllib
from dataclasses import fields
from pathlib import Path

from textual.theme import Theme

__all__ = ["THEMES_DIR", "DEFAULT_THEME", "ThemeFileError", "load_theme", "load_themes"]

THEMES_DIR = Path(__file__).resolve().parent
DEFAULT_THEME = "aigw-dark"

_FIELDS = {f.name for f in fields(Theme)}


class ThemeFileError(ValueError):
    """A theme file that cannot be read, phrased as one line naming the file and the problem."""


def load_theme(path: Path) -> Theme:
    """One theme file as a Theme."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ThemeFileError(f"theme {path.name}: {exc}") from None
    unknown = set(data) - _FIELDS
    if unknown:
        raise ThemeFileError(f"theme {path.name}: unknown field {sorted(unknown)[0]!r}")
    if not isinstance(data.get("name"), str) or not isinstance(data.get("primary"), str):
        raise ThemeFileError(f"theme {path.name}: 'name' and 'primary' are required strings")
    variables = data.get("variables", {})
    if not isinstance(variables, dict) or not all(isinstance(v, str) for v in variables.values()):
        raise ThemeFileError(f"theme {path.name}: [variables] must map names to strings")
    return Theme(**data)


def load_themes(directory: Path = THEMES_DIR) -> list[Theme]:
    """Every ``*.toml`` theme in ``directory``, sorted by file name."""
    return [load_theme(path) for path in sorted(directory.glob("*.toml"))]
