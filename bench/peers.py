"""Peer gateways: LiteLLM proxy (PyPI) and Portkey's open-source gateway (npm).

Each installs once into ``bench/`` and is reused afterwards (a stamp file names the installed
spec; change the spec, or delete the stamp, to reinstall):

* LiteLLM: ``bench/.venvs/litellm`` (its own venv; ``pip install 'litellm[proxy]==X'``), started
  as ``litellm --config … --num_workers 1`` with two models (one per upstream latency) pointed
  at the mock, no database, no master key (``LITELLM_DANGEROUSLY_PERMIT_WEAK_OR_UNSET_MASTER_KEY``
  — ours and the bare proxy authenticate nothing either), telemetry off, the bundled cost map
  (``LITELLM_LOCAL_MODEL_COST_MAP=True``: no download) and uvicorn's access log off (ours runs
  ``--quiet``).
* Portkey: ``npm install --prefix bench --no-save @portkey-ai/gateway@X`` → ``bench/node_modules``,
  started as ``node …/build/start-server.js --port=P --headless``; each request names the
  provider and the mock with ``x-portkey-provider: openai`` and ``x-portkey-custom-host``.

An install or start failure never crashes the bench: the target gets ``skip_reason`` and the
report prints ``skipped: <reason>``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench.targets import BENCH_DIR, Mock, Proc, Target, free_port, pin

__all__ = ["LITELLM_SPEC", "PORTKEY_SPEC", "install_litellm", "install_portkey", "LiteLLMTarget", "PortkeyTarget"]

LITELLM_SPEC = os.environ.get("BENCH_LITELLM_SPEC", "litellm[proxy]==1.108.7")
PORTKEY_SPEC = os.environ.get("BENCH_PORTKEY_SPEC", "@portkey-ai/gateway@1.15.2")
LITELLM_VENV = BENCH_DIR / ".venvs" / "litellm"
NODE_PREFIX = BENCH_DIR  # → bench/node_modules
_INSTALL_TIMEOUT = 900


def _stamp_ok(stamp: Path, spec: str) -> bool:
    return stamp.exists() and stamp.read_text().strip() == spec


def install_litellm(log_dir: Path) -> tuple[Path | None, str]:
    """``(path to the litellm CLI, version)``, installing once; ``(None, reason)`` on failure."""
    stamp = LITELLM_VENV / ".bench-installed"
    cli = LITELLM_VENV / "bin" / "litellm"
    if not (_stamp_ok(stamp, LITELLM_SPEC) and cli.exists()):
        print(f"bench: installing {LITELLM_SPEC} into {LITELLM_VENV.relative_to(BENCH_DIR.parent)} (one-time, a few minutes)…", flush=True)
        started = time.monotonic()
        log = log_dir / "litellm-install.log"
        try:
            with open(log, "wb") as out:
                if not (LITELLM_VENV / "bin" / "python").exists():
                    subprocess.run([sys.executable, "-m", "venv", str(LITELLM_VENV)], stdout=out, stderr=out, check=True, timeout=120)
                subprocess.run(
                    [str(LITELLM_VENV / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check", LITELLM_SPEC],
                    stdout=out,
                    stderr=out,
                    check=True,
                    timeout=_INSTALL_TIMEOUT,
                )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
            tail = log.read_text("utf-8", "replace").strip().splitlines()[-1:] if log.exists() else []
            return None, f"pip install {LITELLM_SPEC} failed ({type(exc).__name__}): {' '.join(tail)[:200]}"
        stamp.write_text(LITELLM_SPEC)
        print(f"bench: LiteLLM installed in {time.monotonic() - started:.0f}s", flush=True)
    proc = subprocess.run(
        [str(LITELLM_VENV / "bin" / "python"), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
        capture_output=True,
        text=True,
    )
    return cli, f"litellm {proc.stdout.strip() or '?'}"


def install_portkey(log_dir: Path) -> tuple[Path | None, str]:
    """``(path to start-server.js, version)``, installing once; ``(None, reason)`` on failure."""
    if not shutil.which("node") or not shutil.which("npm"):
        return None, "node/npm not found on PATH"
    pkg_dir = NODE_PREFIX / "node_modules" / "@portkey-ai" / "gateway"
    script = pkg_dir / "build" / "start-server.js"
    stamp = NODE_PREFIX / "node_modules" / ".bench-installed"
    if not (_stamp_ok(stamp, PORTKEY_SPEC) and script.exists()):
        print(f"bench: installing {PORTKEY_SPEC} into bench/node_modules (one-time)…", flush=True)
        log = log_dir / "portkey-install.log"
        try:
            with open(log, "wb") as out:
                subprocess.run(
                    ["npm", "install", "--prefix", str(NODE_PREFIX), "--no-save", "--no-package-lock", "--no-audit", "--no-fund", PORTKEY_SPEC],
                    stdout=out,
                    stderr=out,
                    check=True,
                    timeout=_INSTALL_TIMEOUT,
                )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
            tail = log.read_text("utf-8", "replace").strip().splitlines()[-1:] if log.exists() else []
            return None, f"npm install {PORTKEY_SPEC} failed ({type(exc).__name__}): {' '.join(tail)[:200]}"
        if not script.exists():
            return None, f"npm installed {PORTKEY_SPEC} but {script.relative_to(NODE_PREFIX)} is missing"
        stamp.write_text(PORTKEY_SPEC)
    version = json.loads((pkg_dir / "package.json").read_text()).get("version", "?")
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    return script, f"@portkey-ai/gateway {version} (node {node})"


_UVICORN_LOG_CONFIG = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(levelname)s %(name)s: %(message)s"}},
    "handlers": {"err": {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"}},
    "loggers": {
        "uvicorn": {"handlers": ["err"], "level": "WARNING"},
        "uvicorn.error": {"level": "WARNING"},
        "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
    },
}


class LiteLLMTarget(Target):
    def prepare(self) -> None:
        cli, info = install_litellm(self.workdir)
        if cli is None:
            self.skip_reason = info
        else:
            self.cli, self.version = cli, info

    def start(self, mock: Mock) -> None:
        cli = self.cli
        models = []
        for lat in self.latencies:
            models.append(
                {
                    "model_name": self.model(lat),
                    "litellm_params": {"model": f"openai/{self.model(lat)}", "api_base": f"{mock.base_for(lat)}/v1", "api_key": "sk-bench"},
                }
            )
        config = {"model_list": models, "litellm_settings": {"telemetry": False, "drop_params": True}}
        cfg_path = self.workdir / "litellm.json"  # YAML is a superset of JSON
        cfg_path.write_text(json.dumps(config, indent=1))
        log_cfg = self.workdir / "litellm-logging.json"
        log_cfg.write_text(json.dumps(_UVICORN_LOG_CONFIG))
        self.port = free_port()
        env: dict[str, str | None] = {
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "LITELLM_TELEMETRY": "False",
            "LITELLM_DANGEROUSLY_PERMIT_WEAK_OR_UNSET_MASTER_KEY": "true",
            "LITELLM_LOG": "ERROR",
            "DISABLE_SCHEMA_UPDATE": "true",
        }
        env.update(dict.fromkeys(("DATABASE_URL", "LITELLM_MASTER_KEY", "REDIS_HOST", "REDIS_URL")))  # no DB, no cache
        cmd = pin(
            [str(cli), "--config", str(cfg_path), "--host", "127.0.0.1", "--port", str(self.port), "--num_workers", "1", "--log_config", str(log_cfg)],
            self.cpu,
        )
        self.proc = Proc("litellm", cmd, self.workdir / "litellm.log", env=env, cwd=self.workdir)

    def model(self, latency_ms: int) -> str:
        return f"bench-lat{latency_ms}"

    def url(self, latency_ms: int) -> str:
        return f"http://127.0.0.1:{self.port}/v1/chat/completions"


class PortkeyTarget(Target):
    def prepare(self) -> None:
        script, info = install_portkey(self.workdir)
        if script is None:
            self.skip_reason = info
        else:
            self.script, self.version = script, info

    def start(self, mock: Mock) -> None:
        script = self.script
        self.mock = mock
        self.port = free_port()
        cmd = pin(["node", str(script), f"--port={self.port}", "--headless"], self.cpu)
        self.proc = Proc("portkey", cmd, self.workdir / "portkey.log", env={"NODE_ENV": "production"}, cwd=self.workdir)

    def url(self, latency_ms: int) -> str:
        return f"http://127.0.0.1:{self.port}/v1/chat/completions"

    def headers(self, latency_ms: int) -> dict[str, str]:
        return {
            **super().headers(latency_ms),
            "x-portkey-provider": "openai",
            "x-portkey-custom-host": f"{self.mock.base_for(latency_ms)}/v1",
        }
