"""The gateway's URLs, built in one place for the client and the management API's ``urls.get``."""

from __future__ import annotations

from urllib.parse import quote

__all__ = ["gateway_url"]


def gateway_url(origin: str, account_id: str, gateway_id: str, provider: str | None = None) -> str:
    """``{origin}/v1/{account}/{gateway}/`` — or ``…/{gateway}/{provider}`` — as the reference's
    ``getUrl`` writes them (the base ends in a slash, a provider's URL does not).

    ``provider`` may carry the resource segments some providers take (``azure-openai/RES/DEPLOY``).
    """
    base = f"{origin.rstrip('/')}/v1/{quote(account_id, safe='')}/{quote(gateway_id, safe='')}/"
    return base if not provider else base + quote(provider.strip("/"), safe="/")
