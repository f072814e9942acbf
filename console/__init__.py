"""The operator console (Textual) and the ``aigw-console`` command line.

``make_console`` builds the App from a :class:`proxy_core.services.Services` and an event bus;
it is imported lazily, so ``aigw-console --headless`` and the CLI subcommands never load Textual.
"""

from __future__ import annotations

from typing import Any

__all__ = ["AigwConsole", "make_console"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from console import app

        return getattr(app, name)
    raise AttributeError(f"module 'console' has no attribute {name!r}")
