"""A program on a private tmux server of fixed size, driven with ``send-keys`` and read with
``capture-pane``: what an operator at a real terminal would type and see.

The server is private (``tmux -S <socket in a temporary directory>``), so the user's own tmux
server is never touched, and it is started with a config of our own (``-f``): no status line (the
pane is the whole 80×24), and ``remain-on-exit`` so that once the program exits its last screen and
its exit status (``#{pane_dead_status}``) can still be read. Every wait polls the screen against a
deadline; nothing synchronises on a fixed sleep.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable, Mapping, Sequence

__all__ = ["TmuxScreen", "TMUX"]

TMUX = shutil.which("tmux")

_CONFIG = """\
set -g status off
set -g remain-on-exit on
set -g escape-time 10
set -g history-limit 2000
"""


class TmuxScreen:
    """One detached session running ``command`` in a ``width``×``height`` pane."""

    def __init__(
        self,
        command: Sequence[str],
        *,
        env: Mapping[str, str],
        width: int = 80,
        height: int = 24,
        cwd: str | os.PathLike[str] | None = None,
    ) -> None:
        if TMUX is None:
            raise RuntimeError("tmux is not installed")
        self._dir = Path(tempfile.mkdtemp(prefix="aigw-tmux-", dir="/tmp" if os.path.isdir("/tmp") else None))
        self.socket = self._dir / "sock"  # short: unix socket paths are limited to ~108 bytes
        config = self._dir / "tmux.conf"
        config.write_text(_CONFIG)
        self._base = [TMUX, "-S", str(self.socket), "-f", str(config)]
        self.target = "aigw"
        # tmux's own #{pane_dead_status} was seen empty (and the pane not marked dead) after
        # aigw-console had exited, so a shell records the exit status in a file instead.
        self._status_file = self._dir / "status"
        wrapper = ["/bin/sh", "-c", '"$@"; echo "$?" > "$0"', str(self._status_file), *command]
        # The server (started by this command) hands its environment to the pane: pass ours.
        server_env = {k: v for k, v in env.items() if k not in ("TMUX", "TMUX_PANE")}
        self._tmux(
            "new-session", "-d", "-s", self.target, "-x", str(width), "-y", str(height),
            "-e", f"TERM={env.get('TERM', 'xterm-256color')}", "--", *wrapper,
            env=server_env, cwd=cwd,
        )  # fmt: skip
        self._shell_pid = int(self.display("#{pane_pid}"))
        self.pid = self._program_pid()

    def _program_pid(self, timeout: float = 5.0) -> int:
        """The program's PID: the wrapper shell's child (the shell itself until it has forked)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            children = _children(self._shell_pid)
            if children:
                return children[0]
            if self._status_file.exists() or not _alive(self._shell_pid):
                break
            time.sleep(0.02)
        return self._shell_pid

    # -- tmux ------------------------------------------------------------------------------------

    def _tmux(self, *args: str, env: Mapping[str, str] | None = None, cwd: object = None, check: bool = True) -> str:
        proc = subprocess.run(
            [*self._base, *args], capture_output=True, text=True, timeout=15,
            env=dict(env) if env is not None else None, cwd=cwd,  # type: ignore[arg-type]
        )  # fmt: skip
        if check and proc.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args[:2])} failed ({proc.returncode}): {proc.stderr.strip()}")
        return proc.stdout

    def display(self, fmt: str) -> str:
        """A tmux format (``#{pane_pid}``, ``#{pane_width}``…) for the pane."""
        return self._tmux("display-message", "-p", "-t", self.target, fmt).strip()

    def send(self, *keys: str) -> None:
        """tmux key names: ``"2"``, ``"?"``, ``"C-q"``, ``"Escape"``, ``"Left"``, ``"Enter"``."""
        self._tmux("send-keys", "-t", self.target, *keys)

    def screen(self) -> str:
        """The visible pane as text (no colours)."""
        return self._tmux("capture-pane", "-p", "-t", self.target)

    # -- waiting ---------------------------------------------------------------------------------

    def wait_for(
        self, check: str | re.Pattern[str] | Callable[[str], object], *, timeout: float = 15.0, what: str = ""
    ) -> str:
        """Poll the screen until ``check`` (a regex, or a callable returning truthy) holds; the screen.

        On timeout the assertion message carries the last screen, so a failure shows what was there.
        """
        if callable(check):
            test = check
        else:
            rx = re.compile(check, re.MULTILINE) if isinstance(check, str) else check
            test = rx.search
        deadline = time.monotonic() + timeout
        screen = ""
        while True:
            screen = self.screen()
            if test(screen):
                return screen
            if time.monotonic() >= deadline:
                break
            if self.dead():
                screen = self.screen()
                if test(screen):
                    return screen
                raise AssertionError(
                    f"the program exited (status {self.exit_status()}) before {what or check!r} appeared; screen:\n{screen}"
                )
            time.sleep(0.1)
        raise AssertionError(f"{what or check!r} not on screen after {timeout:g}s; screen:\n{screen}")

    def dead(self) -> bool:
        """The program has exited (and its status is known)."""
        return self.exit_status() is not None

    def exit_status(self) -> int | None:
        """The program's exit status (128+N when signal N ended it), ``None`` while it runs."""
        try:
            text = self._status_file.read_text().strip()
        except FileNotFoundError:
            return None
        return int(text) if text.isdigit() else None

    def wait_exit(self, timeout: float = 20.0) -> int:
        """Wait until the program has exited; its exit status."""
        deadline = time.monotonic() + timeout
        while (status := self.exit_status()) is None:
            if time.monotonic() >= deadline:
                raise AssertionError(f"the program did not exit within {timeout:g}s; screen:\n{self.screen()}")
            time.sleep(0.05)
        return status

    # -- cleanup ---------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the program if it still runs (SIGTERM, then SIGKILL), then the tmux server.

        Killing the server alone would only hang up the pane, and a hung-up ``aigw-console`` keeps
        its gateway serving (by design): it must be stopped by its PID first.
        """
        try:
            if not self.dead():
                _terminate(self.pid)
        finally:
            try:
                self._tmux("kill-server", check=False)
            except (OSError, subprocess.TimeoutExpired):
                pass
            shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> TmuxScreen:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _terminate(pid: int, grace: float = 10.0) -> None:
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not _alive(pid):
                return
            time.sleep(0.1)


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except (FileNotFoundError, ProcessLookupError, ValueError):
        return []


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
        return state != b"Z"  # a zombie awaits its parent (the wrapper shell): it is gone
    except (FileNotFoundError, IndexError):
        return False
