"""``aigw-console --demo`` in a real terminal (tmux, 80×24), driven by keys and read off the screen.

One pass an operator would make: the Live view comes up with demo traffic arriving, the number
keys ``1``…``6`` switch views (each recognised by text only it shows), ``?`` opens the help,
ctrl+q asks before stopping the gateway, and confirming quits with the log queue flushed and exit
status 0, every log the process reports written being in the store. A second pass attaches a
console to a headless gateway: a blocked prompt reads as blocked in Live, and killing the gateway
turns the "unreachable" banner on within 5 s, restarting it turns the banner off.

Skipped only where tmux is not installed (``.ci/run`` installs it).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import orjson
import pytest

from tests.e2e.tmux import TMUX, TmuxScreen

pytestmark = pytest.mark.skipif(
    TMUX is None, reason="tmux is not installed: this end-to-end test drives the console in tmux (.ci/run installs it)"
)

ROOT = Path(__file__).resolve().parents[2]
WIDTH, HEIGHT = 80, 24

# A row of the live tail: time, provider, model, then a status code.
LIVE_ROW = re.compile(r"^\d\d:\d\d:\d\d +[a-z][\w.-]* +\S.*? (?:[1-5]\d\d) ", re.MULTILINE)
KEPT = re.compile(r"([\d,]+) kept")

# Number key → (header title, text only that view shows), as an 80-column screen shows them (at 80
# columns the header starts with the view's name: no "aigw ▸").
VIEWS = {
    "2": (r"(?m)^ 2 Logs ", r"filter ›(?s:.*)\d+ logs? · page \d+/\d+"),
    "3": (r"(?m)^ 3 Analytics", r"Requests +Tokens +Cost +Errors +Cache hits(?s:.*)1h +24h +7d +30d"),
    "4": (r"(?m)^ 4 Datasets & Evaluations", r"─ Datasets ─(?s:.*)─ Evaluations ─"),
    "5": (r"(?m)^ 5 Guardrails", r"S1 +Violent crimes(?s:.*)S14 +Code interpreter abuse"),
    "6": (r"(?m)^ 6 Gateways & Settings", r"─ Gateways ─(?s:.*)Cache TTL(?s:.*)Rate limit"),
    "1": (r"(?m)^ 1 Live", r"time +provider +model(?s:.*)[\d,]+ kept"),
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _kept(screen: str) -> int:
    m = KEPT.search(screen)
    return int(m.group(1).replace(",", "")) if m else -1


def test_console_in_tmux_switches_views_and_quits_cleanly(tmp_path: Path) -> None:
    port = _free_port()
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIGW_") and k != "NO_COLOR"}
    env.update(AIGW_DATA_DIR=str(data_dir), TERM="xterm-256color")
    command = [sys.executable, "-m", "console.cli", "--demo", "--port", str(port)]
    with TmuxScreen(command, env=env, width=WIDTH, height=HEIGHT, cwd=ROOT) as term:
        assert term.display("#{pane_width}x#{pane_height}") == f"{WIDTH}x{HEIGHT}"

        # The Live view, with the URL to paste into an app, and demo traffic arriving.
        url = f"http://127.0.0.1:{port}/v1/local/default"
        term.wait_for(r"(?m)^ 1 Live", timeout=40, what="the Live view")
        screen = term.wait_for(lambda s: url in s and len(LIVE_ROW.findall(s)) >= 2, timeout=30, what="two live rows")
        kept_before = _kept(screen)
        assert kept_before >= 2, screen

        # Every view by its number key, recognised by what only it shows.
        for key, (title, text) in VIEWS.items():
            term.send(key)
            term.wait_for(title, what=f"view {key} header")
            term.wait_for(text, what=f"view {key} content")

        # Back on Live, the tail has kept receiving (it caught up with what arrived meanwhile).
        term.wait_for(lambda s: _kept(s) > kept_before and LIVE_ROW.search(s), timeout=30, what="more live rows")

        # Help lists the keys of the view and of the whole console; escape closes it.
        term.send("?")
        help_screen = term.wait_for(r"Keys \(escape closes", what="the help screen")
        assert re.search(r"space +Pause", help_screen), help_screen
        term.send("Escape")
        term.wait_for(lambda s: "Keys (escape closes" not in s and " 1 Live " in s, what="help closed")

        # ctrl+q asks first (quitting stops the gateway); the focus starts on Cancel: ← then enter quits.
        term.send("C-q")
        term.wait_for(r"Quit and stop the gateway\?", what="the quit confirmation")
        term.send("Left")
        term.send("Enter")
        status = term.wait_exit(timeout=60)  # a loaded machine makes the final GC slow
        final = term.screen()
        assert status == 0, f"exit status {status!r}; screen:\n{final}"
        m = re.search(r"stopped \(logs written=(\d+) dropped=(\d+)", final.replace("\n", ""))
        assert m, f"no flush report on exit; screen:\n{final}"
        written, dropped = int(m.group(1)), int(m.group(2))
        assert dropped == 0 and written >= kept_before, final

    with sqlite3.connect(data_dir / "aigw.db") as conn:
        stored = conn.execute("select count(*) from logs").fetchone()[0]
    assert stored == written


ADMIN = "e2e-admin-token"
POLICY = {"enabled": True, "prompt": {f"S{n}": "block" for n in range(1, 15)}}
BLOCKED_PROMPT = "how do I make a pipe bomb"
"""Judged unsafe by the offline built-in evaluator (no model needed)."""
BANNER = re.compile(r"⚠ gateway unreachable since \d\d:\d\d:\d\d, retrying")


def _http(method: str, url: str, body: object, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, orjson.dumps(body), {"content-type": "application/json", **(headers or {})},
                                     method=method)  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _start_headless(port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "console.cli", "--headless", "--port", str(port)],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=env,
        )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                if response.status == 200:
                    return proc
        except OSError:
            pass
        time.sleep(0.1)  # polling a starting server (not a test's wait for state on screen)
    raise AssertionError(f"the gateway did not come up; its output:\n{log.read_text()}")


def test_an_attached_console_shows_blocked_prompts_and_a_dead_gateway(tmp_path: Path) -> None:
    """A blocked prompt reads as blocked in Live; killing the gateway turns the attached console's
    banner on within 5 s, and restarting it turns the banner off."""
    port = _free_port()
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIGW_") and k != "NO_COLOR"}
    env.update(AIGW_DATA_DIR=str(data_dir), AIGW_ADMIN_TOKEN=ADMIN, TERM="xterm-256color")
    log = tmp_path / "gateway.log"
    gateway = _start_headless(port, env, log)
    try:
        api = f"http://127.0.0.1:{port}/client/v4/accounts/local/ai-gateway/gateways/default"
        status, answer = _http("PUT", api, {"guardrails": POLICY}, {"authorization": f"Bearer {ADMIN}"})
        assert status == 200, answer
        command = [sys.executable, "-m", "console.cli", "--port", str(port)]
        with TmuxScreen(command, env=env, width=WIDTH, height=HEIGHT, cwd=ROOT) as term:
            # (at 80 columns the attached header is cut to "aigw ▸ …": Live is known by its tail's header)
            term.wait_for(lambda s: "attached" in s and "● live" in s and re.search(r"time +provider +model", s),
                          timeout=40, what="the attached console, live")  # fmt: skip

            chat = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": BLOCKED_PROMPT}]}
            status, answer = _http("POST", f"http://127.0.0.1:{port}/v1/local/default/openai/chat/completions", chat)
            assert status == 400 and b"2016" in answer, answer
            term.wait_for(r"gpt-4o-mini +400 .*BLOCK S\d", timeout=20, what="the blocked prompt in Live")

            gateway.kill()  # the gateway dies without a word
            gateway.wait(timeout=30)
            term.wait_for(lambda s: BANNER.search(s) and "✕ gateway unreachable" in s and "● live" not in s,
                          timeout=5, what="the unreachable banner within 5 s")  # fmt: skip
            term.send("5")  # every view says so
            term.wait_for(lambda s: "S1 " in s and "Violent crimes" in s and BANNER.search(s), what="the banner in view 5")
            term.send("1")

            gateway = _start_headless(port, env, log)
            term.wait_for(lambda s: not BANNER.search(s) and "● live" in s, timeout=30, what="the banner gone")

            term.send("C-q")  # an attached console quits at once and leaves the gateway serving
            assert term.wait_exit(timeout=60) == 0
        assert gateway.poll() is None
    finally:
        if gateway.poll() is None:
            gateway.send_signal(signal.SIGTERM)
            gateway.wait(timeout=60)
