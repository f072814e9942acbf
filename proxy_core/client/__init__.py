"""A Python client for the binding methods the reference gives Workers — ``getUrl``,
``patchLog``, ``getLog``, ``run`` — for apps that talk to a local gateway::

    from proxy_core.client import AIGateway
    gw = AIGateway("http://127.0.0.1:8787", account="local", gateway="default", token=ADMIN_TOKEN)
    answer = gw.run({"provider": "openai", "endpoint": "chat/completions", "headers": {...}, "query": {...}})
    gw.patch_log(answer.log_id, feedback=1, score=100, metadata={"user": "123"})

It imports aiohttp (the async client) and the standard library, never the console, Textual or a
database driver, so an app may depend on it without the rest of the gateway being loaded.
"""

from proxy_core.client.async_client import AsyncAIGateway, AsyncGatewayResponse
from proxy_core.client.errors import GatewayAPIError, GatewayClientError, GatewayConnectionError
from proxy_core.client.models import GatewayLog
from proxy_core.client.protocol import ADMIN_TOKEN_ENV
from proxy_core.client.sync_client import AIGateway, GatewayResponse
from proxy_core.client.urls import gateway_url

__all__ = [
    "ADMIN_TOKEN_ENV",
    "AIGateway",
    "AsyncAIGateway",
    "AsyncGatewayResponse",
    "GatewayAPIError",
    "GatewayClientError",
    "GatewayConnectionError",
    "GatewayLog",
    "GatewayResponse",
    "gateway_url",
]
