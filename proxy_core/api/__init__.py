"""The management API: Cloudflare-shaped JSON over the service layer, under ``/client/v4``."""

from proxy_core.api.admin_token import read_admin_token, resolve_admin_token
from proxy_core.api.routes import API_PREFIX, ROUTES, admin_authorized, create_api_app, openapi_document

__all__ = [
    "API_PREFIX", "ROUTES", "admin_authorized", "create_api_app", "openapi_document", "read_admin_token", "resolve_admin_token",
]
