"""``proxy_core.client`` is for apps: importing it loads no console, UI or database module."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import proxy_core.client

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("console", "textual", "plotext", "rich", "sqlalchemy", "aiosqlite", "asyncpg", "sqlite3", "alembic")


def test_importing_the_client_loads_no_console_ui_or_database_module() -> None:
    script = (
        "import sys, proxy_core.client\n"
        f"print(sorted({{n.split('.')[0] for n in sys.modules}} & {set(FORBIDDEN)!r}))\n"
        "print(sorted(n for n in sys.modules if n.startswith('proxy_core.') and not n.startswith('proxy_core.client')))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["[]", "[]"]


def test_every_public_name_is_exported() -> None:
    """As httpx's ``test_exported_members``: what the package offers is exactly its ``__all__``."""
    offered = {name for name, value in vars(proxy_core.client).items()
               if not name.startswith("_") and not inspect.ismodule(value)}  # fmt: skip
    assert offered == set(proxy_core.client.__all__)
