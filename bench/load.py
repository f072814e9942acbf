"""Load generation: the ``wrk`` driver (throughput, latency) and a small Python streaming client.

``wrk`` (from Debian's ``wrk`` package, installed by :func:`ensure_wrk` when missing) runs one
thread pinned to the load core; a generated Lua script sets the POST body and headers and, in
``done()``, prints one ``BENCHJSON {...}`` line with exact counts and latency percentiles, so
nothing is scraped from wrk's human-readable output. :func:`run_wrk` returns a :class:`WrkResult`.

:func:`stream_ttfb` sends sequential streaming requests over one keep-alive connection with
blocking sockets and measures, per request, the time from the last byte sent to the first SSE body
byte received (time to first byte of the stream) and to the end of the stream.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field
from urllib.parse import urlsplit

__all__ = [
    "ensure_wrk",
    "wrk_version",
    "WrkResult",
    "run_wrk",
    "TtfbResult",
    "stream_ttfb",
    "http_request",
    "chat_body",
    "percentile",
]

_LUA = r"""
wrk.method = "POST"
wrk.body = [==[%(body)s]==]
%(headers)s
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCHJSON {\"requests\":%%d,\"duration_us\":%%d,\"bytes\":%%d,\"connect\":%%d,\"read\":%%d," ..
    "\"write\":%%d,\"status\":%%d,\"timeout\":%%d,\"p50_us\":%%d,\"p90_us\":%%d,\"p99_us\":%%d," ..
    "\"p999_us\":%%d,\"mean_us\":%%.1f,\"max_us\":%%d}\n",
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.mean, latency.max))
end
"""


def chat_body(model: str, *, stream: bool = False) -> bytes:
    """The request every target gets: a short OpenAI chat completion."""
    body: dict = {
        "model": model,
        "messages": [
            {"role": "system", "content": "You are a terse assistant."},
            {"role": "user", "content": "Say hello to the benchmark in one short sentence."},
        ],
        "max_tokens": 32,
    }
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return json.dumps(body, separators=(",", ":")).encode()


def ensure_wrk() -> str:
    """Path of ``wrk``; installs Debian's package with apt-get when missing (needs root)."""
    path = shutil.which("wrk")
    if path:
        return path
    if os.geteuid() != 0:
        raise RuntimeError("wrk is not installed and we are not root: run `apt-get install -y wrk`")
    print("bench: installing wrk (apt-get update && apt-get install -y wrk)…", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"`{' '.join(cmd)}` failed: {proc.stderr.strip()[-500:]}")
    path = shutil.which("wrk")
    if not path:
        raise RuntimeError("apt-get installed wrk but it is not on PATH")
    return path


def wrk_version() -> str:
    wrk = shutil.which("wrk")
    if not wrk:
        return "missing"
    proc = subprocess.run([wrk, "--version"], capture_output=True, text=True)
    return (proc.stdout or proc.stderr).splitlines()[0].split(" Copyright")[0].strip() if (proc.stdout or proc.stderr) else "?"


@dataclass
class WrkResult:
    """One wrk run. Latencies in milliseconds; ``errors`` = socket errors + non-2xx/3xx + timeouts."""

    url: str
    connections: int
    duration_s: float
    requests: int
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    errors: int
    error_detail: dict[str, int] = field(default_factory=dict)
    wrk_cpu_s: float = 0.0
    """CPU seconds the wrk process itself used (user+system)."""

    def to_dict(self) -> dict:
        return asdict(self)


def _lua_script(body: bytes, headers: dict[str, str]) -> str:
    lines = [f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items()]
    return _LUA % {"body": body.decode(), "headers": "\n".join(lines)}


def run_wrk(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    connections: int,
    duration: float,
    cpu: int | None,
    timeout_s: float = 10.0,
) -> WrkResult:
    """Run ``wrk -t1 -cN -dDs`` against ``url`` (pinned to ``cpu`` with taskset) and parse it."""
    import resource

    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="bench-", delete=False) as f:
        f.write(_lua_script(body, {"Content-Type": "application/json", **headers}))
        script = f.name
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(duration))}s", f"--timeout={timeout_s:g}s", "-s", script, url]
    if cpu is not None:
        cmd = ["taskset", "-c", str(cpu), *cmd]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + timeout_s + 30)
    finally:
        os.unlink(script)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    wrk_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    line = next((l for l in proc.stdout.splitlines() if l.startswith("BENCHJSON ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed (rc={proc.returncode}): {(proc.stderr or proc.stdout).strip()[-400:]}")
    data = json.loads(line[len("BENCHJSON ") :])
    secs = data["duration_us"] / 1e6
    detail = {k: data[k] for k in ("connect", "read", "write", "status", "timeout") if data[k]}
    return WrkResult(
        url=url,
        connections=connections,
        duration_s=round(secs, 3),
        requests=data["requests"],
        rps=data["requests"] / secs if secs else 0.0,
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        mean_ms=data["mean_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        errors=sum(detail.values()),
        error_detail=detail,
        wrk_cpu_s=round(wrk_cpu, 3),
    )


# -- the small Python client --------------------------------------------------------------------


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile of ``values`` (``nan`` when empty)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(pct / 100 * len(ordered) + 0.5)) - 1))
    return ordered[k]


class _Conn:
    """One blocking keep-alive HTTP/1.1 connection with a minimal response reader."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self) -> None:
        self.sock.close()

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("connection closed by the server")
        self.buf += data

    def request(self, raw: bytes) -> tuple[int, dict[str, str], bytes, float, float, float]:
        """Send ``raw``; return (status, headers, body, t_sent, t_first_body_byte, t_done)."""
        self.sock.sendall(raw)
        t_sent = time.perf_counter()
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        body = bytearray()
        t_first = 0.0
        if "chunked" in headers.get("transfer-encoding", "").lower():
            while True:
                while b"\r\n" not in self.buf:
                    self._fill()
                size_line, _, rest = self.buf.partition(b"\r\n")
                size = int(size_line.split(b";")[0], 16)
                self.buf = rest
                if size == 0:
                    while b"\r\n" not in self.buf:
                        self._fill()
                    self.buf = self.buf.partition(b"\r\n")[2]
                    break
                while len(self.buf) < size + 2:
                    if not t_first and self.buf:
                        t_first = time.perf_counter()
                    self._fill()
                if not t_first:
                    t_first = time.perf_counter()
                body += self.buf[:size]
                self.buf = self.buf[size + 2 :]
        else:
            length = int(headers.get("content-length", "0"))
            if length and self.buf:
                t_first = time.perf_counter()
            while len(self.buf) < length:
                self._fill()
                if not t_first:
                    t_first = time.perf_counter()
            body += self.buf[:length]
            self.buf = self.buf[length:]
        t_done = time.perf_counter()
        if headers.get("connection", "").lower() == "close":
            self.close()
            self.sock = None  # type: ignore[assignment]
        return status, headers, bytes(body), t_sent, t_first or t_done, t_done


def _raw_request(url: str, body: bytes, headers: dict[str, str], method: str = "POST") -> bytes:
    parts = urlsplit(url)
    path = parts.path + ("?" + parts.query if parts.query else "")
    lines = [f"{method} {path} HTTP/1.1", f"Host: {parts.netloc}", "Content-Type: application/json"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def http_request(url: str, body: bytes = b"", headers: dict[str, str] | None = None, *, method: str = "POST", timeout: float = 10.0) -> tuple[int, bytes]:
    """One request on a fresh connection: ``(status, body)``; raises ``OSError`` if unreachable."""
    parts = urlsplit(url)
    conn = _Conn(parts.hostname or "127.0.0.1", parts.port or 80, timeout)
    try:
        status, _, data, *_ = conn.request(_raw_request(url, body, headers or {}, method))
        return status, data
    finally:
        if conn.sock is not None:
            conn.close()


@dataclass
class TtfbResult:
    """Streaming requests, sequential on one connection. Times in milliseconds."""

    requests: int
    ok: int
    ttfb_p50_ms: float
    ttfb_p99_ms: float
    total_p50_ms: float
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def stream_ttfb(url: str, body: bytes, headers: dict[str, str], *, n: int, warmup: int = 5, timeout: float = 15.0) -> TtfbResult:
    """Time to first streamed byte (and to the end) for ``n`` sequential SSE requests."""
    parts = urlsplit(url)
    raw = _raw_request(url, body, headers)
    conn: _Conn | None = None
    ttfb: list[float] = []
    total: list[float] = []
    errors: list[str] = []
    for i in range(warmup + n):
        try:
            if conn is None or conn.sock is None:
                conn = _Conn(parts.hostname or "127.0.0.1", parts.port or 80, timeout)
            status, hdrs, data, t0, t1, t2 = conn.request(raw)
        except OSError as exc:
            if conn is not None and conn.sock is not None:
                conn.close()
            conn = None
            if i >= warmup:
                errors.append(f"{type(exc).__name__}: {exc}")
            if len(errors) >= 5 and not ttfb:
                break
            continue
        if i < warmup:
            continue
        if status != 200 or b"data:" not in data:
            errors.append(f"HTTP {status}: {data[:160].decode('utf-8', 'replace')}")
            if len(errors) >= 5 and not ttfb:
                break
            continue
        ttfb.append((t1 - t0) * 1000)
        total.append((t2 - t0) * 1000)
    if conn is not None and conn.sock is not None:
        conn.close()
    return TtfbResult(
        requests=n,
        ok=len(ttfb),
        ttfb_p50_ms=percentile(ttfb, 50),
        ttfb_p99_ms=percentile(ttfb, 99),
        total_p50_ms=percentile(total, 50),
        errors=sorted(set(errors))[:3],
    )
