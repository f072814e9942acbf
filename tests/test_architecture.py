"""The walls of ARCHITECTURE.md that a test can hold."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN_IN_CORE = ("console", "textual", "plotext", "textual_plotext", "rich")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_proxy_core_never_imports_the_ui() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & set(FORBIDDEN_IN_CORE))
        for path in (ROOT / "proxy_core").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_importing_the_whole_core_loads_no_ui_module() -> None:
    """Like harlequin's import-hygiene test: what actually gets loaded, not only what is written."""
    script = (
        "import importlib, pkgutil, sys, proxy_core\n"
        "for m in pkgutil.walk_packages(proxy_core.__path__, 'proxy_core.'):\n"
        "    if '.migrations' not in m.name: importlib.import_module(m.name)\n"
        f"print(sorted({{n.split('.')[0] for n in sys.modules}} & {set(FORBIDDEN_IN_CORE)!r}))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_a_gateway_without_redis_never_loads_its_client() -> None:
    """Redis's client costs a process ~7 MB resident: only a gateway configured to share state
    through Redis may load it (the RSS goal of the hot-path issue is 100 MB under load)."""
    script = (
        "import asyncio, sys, tempfile\n"
        "from proxy_core.config import load_settings\n"
        "from proxy_core.runner import start_gateway\n"
        "async def main():\n"
        "    with tempfile.TemporaryDirectory() as data:\n"
        "        settings = load_settings(None, env={'AIGW_DATA_DIR': data}, overrides={'server': {'port': 0}})\n"
        "        gateway = await start_gateway(settings)\n"
        "        await gateway.stop()\n"
        "asyncio.run(main())\n"
        "print('redis' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_screens_and_routes_never_touch_the_database_directly() -> None:
    """The console and the management API reach the store through proxy_core.services only."""
    places = [*(ROOT / "console").rglob("*.py"), *(ROOT / "proxy_core" / "api").rglob("*.py")]
    offenders = {str(p.relative_to(ROOT)) for p in places if {"sqlalchemy", "aiosqlite", "asyncpg"} & _imports(p)}
    assert offenders == set()


def _foreign_private_reads(path: Path) -> list[str]:
    """``x._name`` where ``x`` is not ``self``/``cls``/``super()``: reaching into another object."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")):
            continue
        owner = node.value
        if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
            continue
        if isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name) and owner.func.id == "super":
            continue
        found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_core_module_reaches_into_another_object_through_underscore_names() -> None:
    """A class's underscore names are its own: neighbours use its public methods (the request path
    once reached into ``Proxy._prelude``; a WebSocket into aiohttp's ``_response``)."""
    assert [hit for path in sorted((ROOT / "proxy_core").rglob("*.py")) for hit in _foreign_private_reads(path)] == []


def test_the_request_path_has_no_loopback_call() -> None:
    """WebSocket requests are forwarded by the request path itself, never by a call to the gateway's
    own HTTP endpoint with a secret header."""
    hits = [str(p.relative_to(ROOT)) for p in (ROOT / "proxy_core").rglob("*.py")
            if "LOOPBACK" in p.read_text(encoding="utf-8") or "_prelude" in p.read_text(encoding="utf-8")]  # fmt: skip
    assert hits == []


MAX_MODULE_LINES = 420
DATA_TABLES = {"proxy_core/guardrails/evaluators/lexicon.py"}
"""Modules that are mostly a table (the built-in evaluator's phrase lexicon), allowed to be long."""


def test_core_modules_stay_small_enough_to_hold_one_job() -> None:
    sizes = {
        str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines())
        for p in (ROOT / "proxy_core").rglob("*.py")
        if "migrations" not in p.parts
    }
    assert {path: n for path, n in sizes.items() if n > MAX_MODULE_LINES and path not in DATA_TABLES} == {}


def test_migrations_match_the_models(tmp_path: Path) -> None:
    """A fresh database migrated to head has exactly the schema the models describe."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine

    from proxy_core.store.migrate import include_name, upgrade_to_head
    from proxy_core.store.models import Base

    engine = create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    with engine.begin() as conn:
        upgrade_to_head(conn)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": include_name})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []
