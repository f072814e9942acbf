"""The one pricing table and the cost of a request.

Prices are data (``proxy_core/data/pricing.toml`` or the operator's ``pricing_file``), in USD per
million tokens. Custom per-token prices from ``cf-aig-custom-cost`` win and are flagged.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Mapping

from proxy_core.policy import CustomCost
from proxy_core.providers.registry import pricing_name

__all__ = ["Price", "PricingTable", "load_pricing", "compute_cost"]


@dataclass(frozen=True, slots=True)
class Price:
    input: float
    """USD per million input tokens."""
    output: float
    """USD per million output tokens."""


# What may follow a listed name and still be the same model at the same price: a dated snapshot
# ("-2024-07-18", "-20241022", "-0613", Google's "-001"), "-latest", or a Bedrock-style version
# ("-v1:0"). Anything
# else ("o3" → "o3-mini", "gpt-4o" → "gpt-4o-audio-preview") is another model: no price, no guess.
_SNAPSHOT_SUFFIX = re.compile(r"(?:-\d{4}-\d{2}-\d{2}|-\d{8}|-\d{3,4}|-latest|-v\d+(?::\d+)?)*$")


class PricingTable:
    """Lookup by provider and model: the exact name, then the longest listed name that the model
    extends only by a snapshot suffix (date, ``-latest``, version). A provider is looked up under
    its registry row's pricing name (an alias, or a provider serving another's catalogue)."""

    def __init__(self, prices: Mapping[str, Mapping[str, Price]], updated: str = "") -> None:
        self._prices = {p: dict(m) for p, m in prices.items()}
        self._by_length = {p: sorted(m, key=len, reverse=True) for p, m in self._prices.items()}
        self.updated = updated
        self._memo: dict[tuple[str, str], Price | None] = {}

    def price(self, provider: str, model: str | None) -> Price | None:
        if not model:
            return None
        key = (provider, model)
        if key in self._memo:
            return self._memo[key]
        found = self._lookup(pricing_name(provider), model)
        if len(self._memo) < 10_000:
            self._memo[key] = found
        return found

    def _lookup(self, provider: str, model: str) -> Price | None:
        table = self._prices.get(provider)
        if not table:
            return None
        # "models/gemini-2.5-flash" and "openai/gpt-4o" style names are priced by their last part.
        names = (model, model.rsplit("/", 1)[-1]) if "/" in model and not model.startswith("@") else (model,)
        for name in names:
            if name in table:
                return table[name]
            for listed in self._by_length[provider]:
                if name.startswith(listed) and _SNAPSHOT_SUFFIX.match(name, len(listed)):
                    return table[listed]
        return None


def load_pricing(path: str | Path | None = None) -> PricingTable:
    """Read a pricing TOML file (default: the shipped table); raises ``ValueError`` on a bad entry."""
    if path:
        text = Path(path).read_text(encoding="utf-8")
    else:
        text = resources.files("proxy_core.data").joinpath("pricing.toml").read_text(encoding="utf-8")
    raw = tomllib.loads(text)
    meta = raw.pop("meta", {})
    prices: dict[str, dict[str, Price]] = {}
    for provider, models in raw.items():
        if not isinstance(models, dict):
            raise ValueError(f"pricing: [{provider}] must be a table of models")
        for model, entry in models.items():
            try:
                prices.setdefault(provider, {})[model] = Price(float(entry["input"]), float(entry["output"]))
            except (KeyError, TypeError, ValueError):
                raise ValueError(f"pricing: [{provider}] {model!r} needs numeric input and output") from None
    return PricingTable(prices, str(meta.get("updated", "")))


def compute_cost(
    table: PricingTable,
    provider: str,
    model: str | None,
    tokens_in: int | None,
    tokens_out: int | None,
    custom: CustomCost | None,
) -> tuple[float | None, bool]:
    """``(cost in USD, is_custom)``; ``(None, False)`` when there is nothing honest to report."""
    if tokens_in is None and tokens_out is None:
        return None, False
    t_in, t_out = tokens_in or 0, tokens_out or 0
    if custom is not None:
        return t_in * custom.per_token_in + t_out * custom.per_token_out, True
    price = table.price(provider, model)
    if price is None:
        return None, False
    return (t_in * price.input + t_out * price.output) / 1_000_000, False
