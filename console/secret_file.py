"""Save a secret shown once (a new gateway token) to a file only its owner can read.

The file is created with mode 0600 from the start (never written world-readable and then
narrowed) and never replaces an existing file: the operator gets the path back, or an error that
says why nothing was written.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["save_secret"]


def save_secret(directory: Path, name: str, secret: str) -> Path:
    """Write ``secret`` and a newline to ``directory/name`` (mode 0600, created new; the directory
    is made if missing). Returns the absolute path; raises ``OSError`` (e.g. ``FileExistsError``)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = (directory / name).resolve()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(secret + "\n")
    return path
