"""Themes are data: each ``*.toml`` file in ``themes/`` becomes a :class:`textual.theme.Theme`.

Where themes are looked for, in order (a later file with the same theme name wins):

1. the project's ``themes/`` directory (beside the ``console`` package: a source checkout or an
   editable install), or, when the package was installed from a wheel, the copy installed under
   ``<prefix>/share/aigw-console/themes``;
2. the operator's own ``<data_dir>/themes/*.toml``, so a theme can be added or tweaked without
   touching the installation.

A theme file holds the Theme fields (``name``, ``dark``, ``primary``, ``background``, …) and an
optional ``[variables]`` table of extra CSS variables. Views use only theme variables in their
``.tcss``, so adding a file is all it takes to add a theme. A file that cannot be used is skipped
and reported as one line naming the file and the problem (the App shows it as a notification);
it never stops the console from starting.
"""

from __future__ import annotations

import sysconfig
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Iterable

from textual.color import Color, ColorParseError
from textual.theme import Theme

__all__ = [
    "DEFAULT_THEME",
    "FALLBACK_THEME",
    "THEMES_DIR",
    "INSTALLED_THEMES_DIR",
    "ThemeFileError",
    "LoadedThemes",
    "bundled_themes_dir",
    "theme_dirs",
    "load_theme",
    "load_themes",
    "discover_themes",
]

THEMES_DIR = Path(__file__).resolve().parents[1] / "themes"
"""The project's ``themes/`` directory (the repository root, beside the ``console`` package)."""
INSTALLED_THEMES_DIR = Path(sysconfig.get_path("data")) / "share" / "aigw-console" / "themes"
"""Where a wheel install puts the same files (``[tool.setuptools.data-files]``)."""
USER_THEMES = "themes"
"""The operator's themes: ``<data_dir>/themes/*.toml``."""
DEFAULT_THEME = "aigw-dark"
FALLBACK_THEME = "textual-dark"
"""Used only when no theme file could be found at all (Textual ships it)."""

_FIELDS = {f.name for f in fields(Theme)}


def _is_colour(value: str) -> bool:
    if value.startswith("auto"):
        return True
    try:
        Color.parse(value)
    except ColorParseError:
        return False
    return True


_COLOUR_VARIABLES = frozenset(
    name for name, value in Theme(name="probe", primary="#000000").to_color_system().generate().items()
    if _is_colour(value)
)
"""Textual's variables that hold colours: a theme's ``[variables]`` must give them colours too."""


class ThemeFileError(ValueError):
    """A theme file that cannot be used, phrased as one line naming the file and the problem."""


@dataclass
class LoadedThemes:
    """What :func:`discover_themes` found: the usable themes and one line per skipped file."""

    themes: list[Theme] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [theme.name for theme in self.themes]


def bundled_themes_dir() -> Path:
    """The project's ``themes/`` directory, or the installed copy when there is no checkout."""
    if THEMES_DIR.is_dir() or not INSTALLED_THEMES_DIR.is_dir():
        return THEMES_DIR
    return INSTALLED_THEMES_DIR


def theme_dirs(data_dir: Path | None = None) -> list[Path]:
    """The directories searched, in order: the bundled themes, then ``<data_dir>/themes``."""
    dirs = [bundled_themes_dir()]
    if data_dir is not None:
        dirs.append(Path(data_dir).expanduser() / USER_THEMES)
    return dirs


def load_theme(path: Path) -> Theme:
    """One theme file as a Theme (every colour checked); raises :class:`ThemeFileError`."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ThemeFileError(f"theme {path}: {exc}") from None
    unknown = set(data) - _FIELDS
    if unknown:
        raise ThemeFileError(f"theme {path}: unknown field {sorted(unknown)[0]!r}")
    if not isinstance(data.get("name"), str) or not data["name"].strip() or not isinstance(data.get("primary"), str):
        raise ThemeFileError(f"theme {path}: 'name' and 'primary' are required strings")
    variables = data.get("variables", {})
    if not isinstance(variables, dict) or not all(isinstance(v, str) for v in variables.values()):
        raise ThemeFileError(f"theme {path}: [variables] must map names to strings")
    for name, value in variables.items():
        if name in _COLOUR_VARIABLES and not _is_colour(value):
            raise ThemeFileError(f"theme {path}: variable {name!r}: {value!r} is not a colour")
    try:
        theme = Theme(**data)
        theme.to_color_system().generate()  # a bad colour fails here, not when the theme is applied
    except (ColorParseError, TypeError, ValueError) as exc:
        raise ThemeFileError(f"theme {path}: {exc}") from None
    return theme


def load_themes(directory: Path | None = None) -> list[Theme]:
    """Every ``*.toml`` theme in ``directory`` (the bundled themes by default), sorted by file
    name; raises :class:`ThemeFileError` at the first file that cannot be used."""
    return [load_theme(path) for path in sorted((directory or bundled_themes_dir()).glob("*.toml"))]


def discover_themes(data_dir: Path | None = None, *, dirs: Iterable[Path] | None = None) -> LoadedThemes:
    """Every usable theme of :func:`theme_dirs` (or ``dirs``); unusable files are skipped and
    reported in :attr:`LoadedThemes.problems`, never raised. A later theme with a name already
    seen replaces the earlier one (so a user theme can override a bundled one)."""
    found = LoadedThemes()
    by_name: dict[str, Theme] = {}
    for directory in dirs if dirs is not None else theme_dirs(data_dir):
        try:
            paths = sorted(directory.glob("*.toml")) if directory.is_dir() else []
        except OSError as exc:
            found.problems.append(f"themes in {directory}: {exc}")
            continue
        for path in paths:
            try:
                theme = load_theme(path)
            except ThemeFileError as exc:
                found.problems.append(str(exc))
                continue
            by_name[theme.name] = theme  # a repeated name keeps its place, takes the new colours
    found.themes = list(by_name.values())
    return found
