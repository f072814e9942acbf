"""The admin bearer token of the management API: configured, or generated once into the data dir."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from proxy_core.config import Settings

__all__ = ["read_admin_token", "resolve_admin_token"]


def resolve_admin_token(settings: Settings) -> tuple[str, Path | None]:
    """``(token, file)``: ``[api] admin_token`` / ``AIGW_ADMIN_TOKEN`` if set (file ``None``), else the
    token in ``{data_dir}/admin_token``, created with mode 0600 on first start."""
    if settings.api.admin_token:
        return settings.api.admin_token, None
    path = settings.data_dir / "admin_token"
    if path.exists():
        token = path.read_text(encoding="utf-8").strip()
        if token:
            return token, path
    path.parent.mkdir(parents=True, exist_ok=True)
    token = "aigw_admin_" + secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    os.chmod(path, 0o600)
    return token, path


def read_admin_token(settings: Settings) -> str | None:
    """The token a running gateway of these settings uses, without creating one (for attaching)."""
    if settings.api.admin_token:
        return settings.api.admin_token
    try:
        return (settings.data_dir / "admin_token").read_text(encoding="utf-8").strip() or None
    except OSError:
        return None
