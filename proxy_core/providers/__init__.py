"""Provider families (one folder each) and the one registry mapping URL path names to them."""

from proxy_core.providers.base import ModelType, ProviderFamily, Usage
from proxy_core.providers.registry import (
    BUILTIN_PROVIDERS,
    FAMILIES,
    ProviderRegistry,
    ProviderSpec,
    ResolvedProvider,
    pricing_name,
)

__all__ = [
    "BUILTIN_PROVIDERS",
    "FAMILIES",
    "ModelType",
    "ProviderFamily",
    "ProviderRegistry",
    "ProviderSpec",
    "ResolvedProvider",
    "Usage",
    "pricing_name",
]
