"""Service errors: the API turns them into 400/404/409, the console into notifications."""

from __future__ import annotations

__all__ = ["ServiceError", "NotFound", "InvalidInput", "Conflict"]


class ServiceError(Exception):
    """Base of every error a service raises on purpose; ``str(err)`` is shown to people."""


class NotFound(ServiceError):
    """The resource does not exist (in this account / gateway)."""


class InvalidInput(ServiceError, ValueError):
    """A value was refused; ``field`` names it when there is one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class Conflict(ServiceError):
    """The change clashes with existing state (e.g. a gateway id already taken)."""
