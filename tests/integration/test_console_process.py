"""``aigw-console`` with its console, as a real process on a pseudo-terminal.

The gateway and the console share one process: the screen comes up and the proxy answers; a
dropped terminal (the pty hung up, as when an SSH session dies) or a SIGHUP drops the console,
never the gateway; a second ``aigw-console`` on the same data directory attaches to that gateway and
shows its new requests live, and quitting it leaves the gateway serving; quitting with ``y`` or with
Enter on *Quit* stops it; detaching leaves it serving until SIGTERM. Every way out ends with the
log queue flushed: the count the gateway reports is the count in the database.
"""

from __future__ import annotations

import fcntl
import os
import select
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import termios
import time
import urllib.request
from pathlib import Path

import orjson
import pytest

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "console.cli"]
HANG_S = 120.0
"""How long a process may take to stop (flush, final GC) on a loaded machine before the test calls it hung."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _read_until(fd: int, needle: bytes, seen: bytearray, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while needle not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"{needle!r} never appeared on the terminal"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            seen += os.read(fd, 65536)


def _chat(url: str, model: str = "gpt-4o-mini") -> int:
    body = orjson.dumps({"model": model, "messages": [{"role": "user", "content": "hi"}]})
    request = urllib.request.Request(f"{url}/openai/chat/completions", body, {"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


def _controlling_tty() -> None:
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _start_on_pty(args: list[str], data_dir: Path, width: int = 80) -> tuple[subprocess.Popen[bytes], int]:
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, width, 0, 0))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIGW_") and k != "NO_COLOR"}
    env.update(AIGW_DATA_DIR=str(data_dir), TERM="xterm-256color")
    proc = subprocess.Popen(
        [*CLI, *args], stdin=slave, stdout=slave, stderr=slave, cwd=ROOT, env=env, preexec_fn=_controlling_tty
    )
    os.close(slave)
    return proc, master


def _wait_for_log_line(data_dir: Path, needle: str, timeout: float = 30.0) -> str:
    """Wait until the console log holds ``needle`` (the process's own record of what it did)."""
    deadline = time.monotonic() + timeout
    path = data_dir / "console.log"
    while True:
        text = path.read_text() if path.exists() else ""
        if needle in text:
            return text
        assert time.monotonic() < deadline, f"{needle!r} never appeared in {path}"
        time.sleep(0.05)


def _stopped_with_every_log_stored(data_dir: Path, expected: int) -> None:
    """The gateway stopped, said how many logs it wrote, and the database holds exactly those."""
    log = (data_dir / "console.log").read_text()
    assert f"gateway stopped (logs written={expected} dropped=0" in log
    assert _stored_logs(data_dir) == expected
    assert not (data_dir / "gateway.json").exists(), "a stopped gateway removes its runtime file"


def test_console_runs_with_the_gateway_and_a_hangup_keeps_the_gateway(tmp_path: Path) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}/v1/local/default"
    data_dir = tmp_path / "data"
    proc, master = _start_on_pty(["--demo", "--no-demo-traffic", "--port", str(port)], data_dir)
    seen = bytearray()
    try:
        _read_until(master, b"1 Live", seen)
        _read_until(master, url.encode(), seen)  # the header shows the URL to paste into an app
        assert _chat(url) == 200
        os.write(master, b"\x11")  # ctrl+q: asks first, since quitting would stop the gateway
        _read_until(master, b"Quit and stop the gateway?", seen)
        os.write(master, b"n")  # n cancels; the next key reaches the view again
        os.write(master, b"?")
        _read_until(master, b"escape closes", seen)
        assert proc.poll() is None
    finally:
        os.close(master)  # the terminal goes away: the kernel hangs the session up
    _wait_for_log_line(data_dir, "console detached")
    assert proc.poll() is None, "a dropped terminal must not stop the gateway"
    assert _chat(url) == 200
    try:
        _attach_and_watch(data_dir, url)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(HANG_S) == 0
    _stopped_with_every_log_stored(data_dir, 4)


def _attach_and_watch(data_dir: Path, url: str) -> None:
    """A second ``aigw-console`` on the same data directory attaches and tails the gateway live."""
    attached, master = _start_on_pty(["--port", str(_free_port())], data_dir, width=120)
    seen = bytearray()
    try:
        _read_until(master, b"attached", seen)
        _read_until(master, b"gpt-4o-mini", seen)  # the history: the requests made before
        assert _chat(url, model="attach-canary-model") == 200  # the mock echoes any model name
        _read_until(master, b"attach-canary-model", seen)  # the live tail, from the other process
        os.write(master, b"\x11")  # ctrl+q: an attached console quits without stopping the gateway
        assert attached.wait(HANG_S) == 0
        _read_until(master, b"keeps serving", seen)
    finally:
        if attached.poll() is None:
            attached.kill()
        os.close(master)
    assert _chat(url) == 200, "quitting the attached console must leave the gateway serving"


def _stored_logs(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / "aigw.db") as conn:
        return conn.execute("select count(*) from logs").fetchone()[0]


class DemoConsole:
    """``aigw-console --demo`` on a pseudo-terminal, its Live view up; killed if a test leaves it running."""

    def __init__(self, tmp_path: Path) -> None:
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}/v1/local/default"
        self.data_dir = tmp_path / "data"
        self.proc, self.master = _start_on_pty(["--demo", "--no-demo-traffic", "--port", str(port)], self.data_dir)
        self.seen = bytearray()

    def __enter__(self) -> "DemoConsole":
        self.shows(b"1 Live")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        os.close(self.master)

    def shows(self, needle: bytes) -> None:
        _read_until(self.master, needle, self.seen)

    def type(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def chats(self, n: int) -> None:
        for _ in range(n):
            assert _chat(self.url) == 200

    def exits_0(self) -> None:
        assert self.proc.wait(HANG_S) == 0


def test_sighup_with_the_terminal_open_detaches_and_the_gateway_serves_on(tmp_path: Path) -> None:
    """SIGHUP (a dropped SSH session, ``kill -HUP``) closes the console, never the gateway."""
    with DemoConsole(tmp_path) as console:
        console.chats(1)
        console.proc.send_signal(signal.SIGHUP)
        _wait_for_log_line(console.data_dir, "console detached")
        assert console.proc.poll() is None
        console.chats(1)  # a hung-up console's gateway serves on, headless
        console.proc.send_signal(signal.SIGTERM)
        console.exits_0()
    _stopped_with_every_log_stored(console.data_dir, 2)


def test_ctrl_q_then_y_stops_the_gateway_and_exits_0(tmp_path: Path) -> None:
    """The freeze once seen in tmux: ``y`` on the quit dialog must stop the gateway and end the process."""
    with DemoConsole(tmp_path) as console:
        console.chats(3)
        console.type(b"\x11")  # ctrl+q
        console.shows(b"Quit and stop the gateway?")
        console.type(b"y")
        console.exits_0()
        console.shows(b"stopped (logs written=")
    with pytest.raises(OSError):
        _chat(console.url)
    _stopped_with_every_log_stored(console.data_dir, 3)


def test_ctrl_q_then_enter_on_quit_stops_the_gateway(tmp_path: Path) -> None:
    """The focus starts on Cancel (quitting stops the gateway); moving it to Quit and pressing Enter quits."""
    with DemoConsole(tmp_path) as console:
        console.chats(2)
        console.type(b"\x11")  # ctrl+q
        console.shows(b"Quit and stop the gateway?")
        console.type(b"\t\r")  # tab: focus the Quit button (one byte, no escape sequence to split); Enter presses it
        console.exits_0()
    _stopped_with_every_log_stored(console.data_dir, 2)


def test_detach_keeps_the_gateway_serving_until_sigterm(tmp_path: Path) -> None:
    with DemoConsole(tmp_path) as console:
        console.chats(1)
        console.type(b"\x04")  # ctrl+d
        console.shows(b"Detach the console?")
        console.type(b"y")
        console.shows(b"the gateway keeps serving")
        assert console.proc.poll() is None
        console.chats(1)  # a detached gateway serves on, headless
        console.proc.send_signal(signal.SIGTERM)
        console.exits_0()
    _stopped_with_every_log_stored(console.data_dir, 2)
