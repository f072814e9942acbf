"""What the client raises: the gateway refused (with its code), or it could not be reached."""

from __future__ import annotations

from typing import Any

__all__ = ["GatewayClientError", "GatewayAPIError", "GatewayConnectionError"]


class GatewayClientError(Exception):
    """Base of everything the client raises, so one ``except`` catches them all."""


class GatewayAPIError(GatewayClientError):
    """The gateway (or, through it, a provider) answered with an error.

    ``code`` and ``message`` are the first entry of the error envelope — the management API's
    ``errors`` (e.g. 10000 for a wrong admin token, 7003 for an unknown log) or the proxy's
    ``error`` (e.g. 2009 for a missing gateway token, 2016 for a blocked prompt). ``code`` is
    ``None`` when the body is not an envelope (a provider's own error, a reverse proxy's page).
    """

    def __init__(
        self,
        status: int,
        code: int | None,
        message: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        log_id: str | None = None,
    ) -> None:
        super().__init__(f"HTTP {status}" + (f", code {code}" if code is not None else "") + f": {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors or []
        """Every entry of the envelope, for the rare answer that carries more than one."""
        self.log_id = log_id
        """``cf-aig-log-id`` of the log row that records a refused proxy request, when there is one."""


class GatewayConnectionError(GatewayClientError):
    """The gateway could not be reached, or stopped answering within the client's timeout."""
