"""The pricing table and compute_cost: exact, longest-prefix and alias lookup; honest 'no cost'."""

from __future__ import annotations

from pathlib import Path

import pytest

from proxy_core.costs import Price, PricingTable, compute_cost, load_pricing
from proxy_core.policy import CustomCost

SHIPPED = load_pricing()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pricing.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_table_loads_with_its_date() -> None:
    assert SHIPPED.updated
    assert SHIPPED.price("openai", "gpt-4o") == Price(2.50, 10.00)
    assert SHIPPED.price("anthropic", "claude-3-haiku") == Price(0.25, 1.25)


@pytest.mark.parametrize(
    ("provider", "model", "expected"),
    [
        ("openai", "gpt-4o", Price(2.50, 10.00)),
        ("openai", "gpt-4o-mini", Price(0.15, 0.60)),  # exact, although "gpt-4o" is also a prefix
        ("openai", "gpt-4o-mini-2024-07-18", Price(0.15, 0.60)),  # longest prefix, not "gpt-4o"
        ("openai", "gpt-4o-2024-08-06", Price(2.50, 10.00)),
        ("openai", "gpt-4.1-nano-2025-04-14", Price(0.10, 0.40)),
        ("openai", "openai/gpt-4o-mini", Price(0.15, 0.60)),  # "vendor/model" priced by its last part
        ("anthropic", "claude-3-5-haiku-20241022", Price(0.80, 4.00)),
        ("anthropic", "claude-sonnet-4-20250514", Price(3.00, 15.00)),
        ("google-ai-studio", "gemini-2.5-flash-lite", Price(0.10, 0.40)),
        ("google-ai-studio", "gemini-2.5-flash-preview-05-20", None),  # a preview is another model: no guess
        ("google-ai-studio", "gemini-2.5-flash-lite-001", Price(0.10, 0.40)),
        ("google-ai-studio", "models/gemini-2.0-flash", Price(0.10, 0.40)),
        ("google-vertex-ai", "gemini-2.0-flash-001", Price(0.10, 0.40)),  # alias of google-ai-studio
        ("cerebras-ai", "llama3.1-8b", Price(0.10, 0.10)),  # alias of cerebras
        ("workers-ai", "@cf/meta/llama-3.1-8b-instruct", Price(0.282, 0.827)),
        ("grok", "grok-3-mini", Price(0.30, 0.50)),
        ("openai", "unknown-model", None),
        ("openai", "", None),
        ("openai", None, None),
        ("replicate", "gpt-4o", None),  # prices belong to a provider
        ("openrouter", "openai/gpt-4o", None),
        ("workers-ai", "@cf/unknown/model", None),
        ("openai", "GPT-4O", None),  # names are exact, not case-folded
    ],
)
def test_lookup(provider: str, model: str | None, expected: Price | None) -> None:
    assert SHIPPED.price(provider, model) == expected


def test_lookup_is_stable_when_memoised() -> None:
    table = PricingTable({"p": {"m": Price(1, 2)}})
    assert table.price("p", "m-0613") == table.price("p", "m-0613") == Price(1, 2)
    assert table.price("p", "x") is None and table.price("p", "x") is None


def test_longest_prefix_does_not_depend_on_file_order(tmp_path: Path) -> None:
    table = load_pricing(write(tmp_path, '[p]\n"a" = {input = 1, output = 1}\n"a-b-c" = {input = 3, output = 3}\n"a-b" = {input = 2, output = 2}\n'))
    assert table.price("p", "a-b-c-2025-01-01") == Price(3, 3)
    assert table.price("p", "a-b-latest") == Price(2, 2)
    assert table.price("p", "a-20240101") == Price(1, 1)


def test_a_longer_name_is_another_model_not_a_snapshot() -> None:
    table = PricingTable({"p": {"o3": Price(2, 8), "gpt-4o": Price(2.5, 10)}})
    assert table.price("p", "o3-mini") is None
    assert table.price("p", "gpt-4o-audio-preview") is None
    assert table.price("p", "o3-2025-04-16") == Price(2, 8)


def test_custom_pricing_file_replaces_the_shipped_table(tmp_path: Path) -> None:
    table = load_pricing(write(tmp_path, '[meta]\nupdated = "2030-01-01"\n\n[ollama]\n"llama3.2" = { input = 0, output = 0.5 }\n'))
    assert table.updated == "2030-01-01"
    assert table.price("ollama", "llama3.2") == Price(0.0, 0.5)
    assert table.price("ollama", "llama3.2:3b") is None  # another size is another price
    assert table.price("openai", "gpt-4o") is None


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ('[openai]\n"gpt-x" = { input = 1 }\n', ["[openai]", "gpt-x"]),
        ('[openai]\n"gpt-x" = { input = "cheap", output = 1 }\n', ["[openai]", "gpt-x"]),
        ('[openai]\n"gpt-x" = 5\n', ["[openai]", "gpt-x"]),
        ('[anthropic]\n"claude" = { output = 2 }\n', ["[anthropic]", "claude"]),
        ('openai = "cheap"\n', ["[openai]"]),
    ],
)
def test_bad_pricing_file_names_the_entry(tmp_path: Path, text: str, names: list[str]) -> None:
    with pytest.raises(ValueError) as info:
        load_pricing(write(tmp_path, text))
    assert all(name in str(info.value) for name in names)


def test_pricing_file_that_is_not_toml_is_a_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        load_pricing(write(tmp_path, "[openai\n"))


# -- compute_cost --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "model", "tokens_in", "tokens_out", "expected"),
    [
        ("openai", "gpt-4o", 1_000_000, 1_000_000, (12.50, False)),
        ("openai", "gpt-4o", 1000, 200, ((1000 * 2.5 + 200 * 10) / 1e6, False)),
        ("openai", "text-embedding-3-small", 8, 0, (8 * 0.02 / 1e6, False)),
        ("openai", "gpt-4o", 500, None, (500 * 2.5 / 1e6, False)),  # a missing side counts as zero
        ("openai", "gpt-4o", None, 40, (40 * 10 / 1e6, False)),
        ("openai", "gpt-4o", 0, 0, (0.0, False)),
        ("openai", "gpt-4o", None, None, (None, False)),
        ("openai", "unknown-model", 1000, 200, (None, False)),
        ("openai", None, 1000, 200, (None, False)),
    ],
)
def test_compute_cost(provider, model, tokens_in, tokens_out, expected) -> None:
    cost, custom = compute_cost(SHIPPED, provider, model, tokens_in, tokens_out, None)
    assert custom is expected[1]
    assert cost == (None if expected[0] is None else pytest.approx(expected[0]))


def test_custom_cost_wins_and_is_flagged() -> None:
    custom = CustomCost(per_token_in=0.001, per_token_out=0.002)
    assert compute_cost(SHIPPED, "openai", "gpt-4o", 100, 50, custom) == (pytest.approx(0.2), True)
    assert compute_cost(SHIPPED, "openai", "unknown-model", 100, 50, custom) == (pytest.approx(0.2), True)
    assert compute_cost(SHIPPED, "openai", None, 100, None, custom) == (pytest.approx(0.1), True)


def test_custom_cost_without_tokens_is_no_cost() -> None:
    assert compute_cost(SHIPPED, "openai", "gpt-4o", None, None, CustomCost(0.001, 0.002)) == (None, False)
