"""The console uses Textual (and aiohttp, and Rich) through their public API only.

A private attribute of a library object is one whose name starts with a single underscore and is
defined in that library's source. Two rules tell those apart from the console's own private names:

* ``self._x`` (or a ``def _x``) in a class of ours that derives from a library class is a private
  touch when ``_x`` is a name that a library class in its MRO defines or uses on ``self``: reading
  it reaches into the library, and assigning it silently overwrites the library's own state (the
  dialogs once set ``self._name``, the attribute behind Textual's ``.name``).
* ``obj._x`` on anything else is a private touch when ``_x`` appears anywhere in the libraries'
  source and is not one of our own private names (assigned on ``self`` or defined in a class of
  ``console``, ``proxy_core`` or ``tests``, which the first rule keeps clear of the libraries').

And no class of ours overrides the message dispatcher ``on_event`` of Textual's ``MessagePump``.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import textwrap
from functools import lru_cache
from pathlib import Path

import aiohttp
import rich
import textual
from textual.message_pump import MessagePump

ROOT = Path(__file__).resolve().parents[2]
LIBRARIES = (textual, aiohttp, rich)
CHECKED = [ROOT / "console", ROOT / "tests" / "console", ROOT / "tests" / "e2e",
           ROOT / "tests" / "integration" / "test_console_process.py", ROOT / "tests" / "integration" / "test_attach.py"]  # fmt: skip
OURS = [ROOT / "console", ROOT / "proxy_core", ROOT / "tests"]


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _files(*roots: Path) -> list[Path]:
    return sorted(p for root in roots for p in ([root] if root.is_file() else root.rglob("*.py")))


@lru_cache(maxsize=None)
def _library_names() -> frozenset[str]:
    names: set[str] = set()
    for library in LIBRARIES:
        for path in Path(library.__file__).parent.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Attribute) and _private(node.attr):
                    names.add(node.attr)
                elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _private(node.name):
                    names.add(node.name)
    return frozenset(names)


def _self_names(tree: ast.AST) -> set[str]:
    """Private names a class body defines or assigns on ``self``."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) and isinstance(node.value, ast.Name):
            if node.value.id == "self" and _private(node.attr):
                names.add(node.attr)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and _private(item.name):
                    names.add(item.name)
                targets = item.targets if isinstance(item, ast.Assign) else [getattr(item, "target", None)]
                names.update(t.id for t in targets if isinstance(t, ast.Name) and _private(t.id))
    return names


@lru_cache(maxsize=None)
def _our_names() -> frozenset[str]:
    names: set[str] = set()
    for path in _files(*OURS):
        names |= _self_names(ast.parse(path.read_text(encoding="utf-8")))
    return frozenset(names)


def _is_library_class(klass: type) -> bool:
    return klass.__module__.split(".")[0] in {library.__name__ for library in LIBRARIES}


@lru_cache(maxsize=None)
def _names_of_library_class(klass: type) -> frozenset[str]:
    """Private names a library class defines, or uses on ``self`` in its methods."""
    names = {name for name in vars(klass) if _private(name)}
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
    except (OSError, TypeError):
        return frozenset(names)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
            if _private(node.attr):
                names.add(node.attr)
    return frozenset(names)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _touches(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    module = importlib.import_module(_module_name(path))
    library, ours = _library_names(), _our_names()
    found = []
    self_checked: set[int] = set()
    for cls_node in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
        cls = getattr(module, cls_node.name, None)
        if not inspect.isclass(cls):
            continue
        theirs: set[str] = set()
        for klass in cls.__mro__:
            if _is_library_class(klass):
                theirs |= _names_of_library_class(klass)
        if issubclass(cls, MessagePump) and "on_event" in vars(cls):
            found.append(f"{path.name}:{cls_node.lineno}: {cls.__name__} overrides Textual's on_event dispatcher")
        for node in ast.walk(cls_node):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                self_checked.add(id(node))
                if node.attr in theirs:
                    found.append(f"{path.name}:{node.lineno}: {cls.__name__} self.{node.attr}")
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in theirs:
                found.append(f"{path.name}:{node.lineno}: {cls.__name__} def {node.name}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and id(node) not in self_checked and _private(node.attr):
            if node.attr in library and node.attr not in ours:
                found.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_private_library_attribute_is_touched() -> None:
    touches = [touch for path in _files(*CHECKED) for touch in _touches(path)]
    assert touches == []


def test_the_check_sees_a_private_touch(tmp_path: Path) -> None:
    """The rules above catch what they are meant to (so an empty list means something)."""
    from textual.screen import ModalScreen

    class Dialog(ModalScreen[None]):
        def __init__(self, name: str) -> None:
            super().__init__()
            self._name = name  # Textual's attribute behind .name

    theirs = set().union(*(_names_of_library_class(k) for k in Dialog.__mro__ if _is_library_class(k)))
    assert {"_name", "_compositor", "_layout_required"} <= theirs
    assert {"_compositor", "_notifications", "_background_screens", "_bindings"} <= _library_names() - _our_names()
