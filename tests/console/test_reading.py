"""Pure pieces of the console: transcripts, untrusted text, rolling stats, units, themes, prefs."""

from __future__ import annotations

from datetime import timezone
from pathlib import Path

import orjson
import pytest
from rich.cells import cell_len

from proxy_core.live_stats import LiveStats
from console.prefs import PrefsFile
from console.model_names import cut_model_name
from console.safe_text import clean, clean_line, middle_ellipsis, untrusted
from console.theming import THEMES_DIR, ThemeFileError, discover_themes, load_theme, load_themes
from console.transcript import read_request, read_response
from proxy_core.errors import ErrorCode
from console.units import format_cost, format_duration, format_tokens, format_when

UTC = timezone.utc


def test_openai_chat_request_and_response() -> None:
    request = {"model": "gpt-4o", "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "Look:"}, {"type": "image_url", "image_url": {"url": "x"}}]},
    ]}  # fmt: skip
    turns = read_request(orjson.dumps(request), "application/json").turns
    assert [(t.role, t.text) for t in turns] == [("system", "Be brief."), ("user", "Look:\n[image]")]
    response = {"choices": [{"message": {"role": "assistant", "content": None,
                                         "tool_calls": [{"function": {"name": "f", "arguments": "{}"}}]}}]}  # fmt: skip
    assert read_response(orjson.dumps(response), "application/json").turns[0].text == "[tool call f] {}"


def test_anthropic_blocks_and_system() -> None:
    request = {"system": [{"type": "text", "text": "Terse."}], "messages": [{"role": "user", "content": "Hi"}]}
    assert [t.role for t in read_request(orjson.dumps(request)).turns] == ["system", "user"]
    response = {"type": "message", "role": "assistant", "content": [{"type": "text", "text": "Hello"},
                {"type": "tool_use", "name": "lookup", "input": {"q": 1}}]}  # fmt: skip
    text = read_response(orjson.dumps(response), "application/json").turns[0].text
    assert text.startswith("Hello\n[tool call lookup]")


def test_google_parts_and_json_array_stream() -> None:
    request = {"systemInstruction": {"parts": [{"text": "S"}]}, "contents": [{"role": "user", "parts": [{"text": "Q"}]}]}
    assert [(t.role, t.text) for t in read_request(orjson.dumps(request)).turns] == [("system", "S"), ("user", "Q")]
    chunks = [{"candidates": [{"content": {"parts": [{"text": "Hel"}]}}]},
              {"candidates": [{"content": {"parts": [{"text": "lo"}]}}]}]  # fmt: skip
    transcript = read_response(orjson.dumps(chunks), "application/json", streamed=True)
    assert transcript.turns[0].text == "Hello" and "reassembled" in transcript.note


def test_sse_streams_are_reassembled() -> None:
    openai = b"".join(
        b"data: " + orjson.dumps({"choices": [{"index": 0, "delta": {"content": piece}}]}) + b"\n\n"
        for piece in ("The ", "answer")
    ) + b"data: [DONE]\n\n"
    assert read_response(openai, "text/event-stream").turns[0].text == "The answer"
    anthropic = (
        b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"A"}}\n\n'
        b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"B"}}\n\n'
    )
    assert read_response(anthropic, "text/event-stream; charset=utf-8").turns[0].text == "AB"


def test_errors_embeddings_and_fallbacks() -> None:
    error = orjson.dumps({"error": {"message": "rate limited", "type": "x"}})
    assert [(t.role, t.text) for t in read_response(error).turns] == [("error", "rate limited")]
    embeddings = orjson.dumps({"data": [{"embedding": [0.1, 0.2, 0.3]}] * 2})
    assert read_response(embeddings).turns[0].text == "2 embedding(s) of 3 dimensions"
    assert read_response(orjson.dumps({"weird": 1})).turns[0].role == "json"
    assert read_response(b"plain words").turns[0].text == "plain words"
    assert "binary" in read_response(b"\xff\xfe\x00").note
    assert read_request(None).note == "not stored"


def test_control_characters_become_visible() -> None:
    assert clean("a\x1b[31mb\x07c") == "a␛[31mb␇c"
    assert clean("keep\nlines\tand tabs") == "keep\nlines   and tabs"
    assert clean_line("one\ntwo\r\nthree") == "one two three"
    assert clean("\x9b2J \u202eabc") == "<U+009B>2J <U+202E>abc"
    text = untrusted("[bold]x[/bold]")
    assert text.plain == "[bold]x[/bold]" and not text.spans


def test_live_stats_window_rate_and_percentiles() -> None:
    stats = LiveStats(window_ms=60_000, rate_ms=10_000, bucket_ms=10_000)
    now = 1_000_000
    for i in range(20):
        stats.add({"id": f"l{i}", "created_at": now - i * 1000, "duration": (i + 1) * 10, "success": i != 0, "cost": 0.5})
    stats.add({"id": "l0", "created_at": now, "duration": 999, "success": False, "cost": 1})  # a repeat is ignored
    stats.add({"id": "old", "created_at": now - 61_000, "duration": 1, "success": True, "cost": 1})
    snap = stats.snapshot(now)
    assert snap.requests == 20
    assert snap.per_second == pytest.approx(1.0)  # 10 in the last 10 s
    assert snap.error_rate == pytest.approx(0.05)
    assert (snap.p50_ms, snap.p95_ms) == (100, 190)
    assert snap.spend == pytest.approx(10.0) and snap.spend_total == pytest.approx(11.0)
    assert snap.rate_series[-2:] == [1.0, 1.0] and len(snap.rate_series) == 6


def test_units() -> None:
    assert format_cost(None) == "-" and format_cost(0) == "$0" and format_cost(0.00123) == "$0.00123"
    assert format_cost(0.25) == "$0.250" and format_cost(12.5) == "$12.50"
    assert format_duration(850) == "850ms" and format_duration(1234) == "1.2s" and format_duration(125_000) == "2m05s"
    assert format_tokens(None, None) == "-" and format_tokens(1200, 35) == "1.2k/35"
    now = 1_764_300_000_000
    assert format_when(now - 1000, now, UTC) == "03:19:59"
    assert format_when(now - 2 * 86_400_000, now, UTC) == "Nov 26 03:20"
    assert format_when(now - 2 * 86_400_000, now, UTC, short=True) == "Nov 26"  # a narrow column: the day
    assert format_when(now - 1000, now, UTC, short=True) == "03:19:59"


def test_small_costs_are_written_out_never_in_scientific_notation() -> None:
    assert format_cost(6e-08) == "$0.00000006" and format_cost(1.23e-05) == "$0.0000123"
    assert format_cost(1e-10) == "<$0.00000001" and format_cost(0.00005) == "$0.00005"
    for cost in (6e-08, 1.23e-05, 1e-10, 0.00005):  # a table cell of 8 characters
        assert format_cost(cost, short=True) == "<$0.0001"
    assert format_cost(0.00109, short=True) == "$0.00109" and format_cost(0, short=True) == "$0"
    assert not any("e" in format_cost(10.0 ** -n) for n in range(1, 15))


def test_paths_are_cut_in_the_middle() -> None:
    assert middle_ellipsis("/var/lib/aigw/exports/datasets", 18) == "/var/lib/…datasets"
    assert middle_ellipsis("gpt-4o", 18) == "gpt-4o" and len(middle_ellipsis("a" * 40, 11)) == 11


def test_a_cut_model_name_keeps_what_tells_it_from_its_siblings() -> None:
    # the release date goes first: to its last digits, then whole
    assert cut_model_name("claude-sonnet-4-5-20250929", 22) == "claude-sonnet-4-5…0929"
    assert cut_model_name("claude-sonnet-4-5-20250929", 18) == "claude-sonnet-4-5…"
    assert cut_model_name("claude-sonnet-4-20250514", 18) == "claude-sonnet-4…"
    assert cut_model_name("gpt-4o-2024-08-06", 12) == "gpt-4o…0806"
    assert cut_model_name("claude-3-5-haiku-latest", 17) == "claude-3-5-haiku…"
    # then the organisation path, then words without digits (the size and version stay whole)
    assert cut_model_name("llama-3.1-8b-instant", 18) == "llama-3.1-8b-inst…"
    assert cut_model_name("llama-3.1-8b-instant", 12) == "l…-3.1-8b-i…"
    assert cut_model_name("@cf/meta/llama-3.1-8b-instruct", 22) == "…/llama-3.1-8b-instru…"
    assert cut_model_name("claude-3-5-haiku-latest", 15) == "cla…-3-5-haiku…"
    # a name that fits is left alone; nothing left to cut falls back to the middle
    assert cut_model_name("gpt-4o", 18) == "gpt-4o"
    assert cut_model_name("claude-sonnet-4-5-20250929", 3) == "c…9"
    for width in range(1, 30):
        assert cell_len(cut_model_name("@cf/meta/llama-3.1-8b-instruct-20250101", width)) <= width


def test_theme_files_load(tmp_path: Path) -> None:
    import console

    assert THEMES_DIR == Path(console.__file__).resolve().parents[1] / "themes"  # the top-level themes/
    names = [t.name for t in load_themes()]
    assert names == ["aigw-dark", "aigw-high-contrast", "aigw-light"]
    assert not list(Path(console.__file__).parent.rglob("*.toml"))  # themes are data, outside the package
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\nprimary = "#fff"\ncolour = "red"\n')
    with pytest.raises(ThemeFileError, match="unknown field 'colour'"):
        load_theme(bad)
    bad.write_text('name = "x"\nprimary = "not-a-colour"\n')
    with pytest.raises(ThemeFileError, match="not-a-colour"):
        load_theme(bad)
    bad.write_text('name = "x"\nprimary = "#fff"\n[variables]\n"footer-key-foreground" = "loud"\n')
    with pytest.raises(ThemeFileError, match="footer-key-foreground"):
        load_theme(bad)


def test_user_themes_from_the_data_dir_and_bad_files_reported(tmp_path: Path) -> None:
    themes = tmp_path / "themes"
    themes.mkdir()
    (themes / "mine.toml").write_text('name = "mine"\ndark = true\nprimary = "#336699"\nbackground = "#000000"\n')
    (themes / "aigw-light.toml").write_text('name = "aigw-light"\ndark = false\nprimary = "#123456"\n')
    (themes / "broken.toml").write_text('name = "broken"\nprimary = ')
    found = discover_themes(tmp_path)
    assert found.names == ["aigw-dark", "aigw-high-contrast", "aigw-light", "mine"]
    assert next(t for t in found.themes if t.name == "aigw-light").primary == "#123456"  # the operator's wins
    assert len(found.problems) == 1 and "broken.toml" in found.problems[0]
    assert discover_themes(tmp_path / "missing").names == ["aigw-dark", "aigw-high-contrast", "aigw-light"]


def test_prefs_survive_a_damaged_file(tmp_path: Path) -> None:
    path = tmp_path / "prefs.json"
    path.write_text("{not json")
    prefs = PrefsFile(path)
    assert prefs.prefs.theme == "aigw-dark"
    prefs.prefs.theme = "aigw-light"
    prefs.prefs.remember_filter("a")
    prefs.prefs.remember_filter("b")
    prefs.prefs.remember_filter("a")
    prefs.save()
    again = PrefsFile(path).prefs
    assert again.theme == "aigw-light" and again.filter_history == ["b", "a"]


def test_live_stats_count_client_aborts_apart_from_errors() -> None:
    """A client that hangs up before the answer (a load generator stopping mid-flight) is logged as
    failed with CLIENT_DISCONNECTED: the Live view counts it, but not as an error rate."""
    stats = LiveStats()
    now = 1_000_000
    stats.add({"id": "ok", "created_at": now, "duration": 10, "success": True})
    stats.add({"id": "gone", "created_at": now, "duration": 10, "success": False, "status_code": 200,
               "error_code": int(ErrorCode.CLIENT_DISCONNECTED)})  # fmt: skip
    stats.add({"id": "bad", "created_at": now, "duration": 10, "success": False, "status_code": 502,
               "error_code": int(ErrorCode.UPSTREAM_UNREACHABLE)})  # fmt: skip
    snap = stats.snapshot(now)
    assert snap.requests == 3 and snap.aborted == 1
    assert snap.error_rate == pytest.approx(1 / 3)


def test_live_stats_percentiles_stay_exact_below_a_second_and_close_above() -> None:
    stats = LiveStats()
    now = 5_000_000
    for i, duration in enumerate([7, 521, 999, 1_234, 61_234]):
        stats.add({"id": f"d{i}", "created_at": now - i, "duration": duration, "success": True})
    snap = stats.snapshot(now)
    assert snap.p50_ms == 999
    assert snap.p95_ms is not None and abs(snap.p95_ms - 61_234) <= 61_234 // 1000
