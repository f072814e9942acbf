"""load_settings: defaults < TOML file < AIGW_* env < flags, and one-line errors naming the key."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from proxy_core.config import ConfigError, ProviderSettings, Settings, load_settings


def toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "aigw.toml"
    path.write_text(text, encoding="utf-8")
    return path


def load(tmp_path: Path, text: str | None = None, env: dict[str, str] | None = None, **kwargs: Any) -> Settings:
    path = toml(tmp_path, text) if text is not None else None
    return load_settings(path, env=env or {}, **kwargs)


def config_error(tmp_path: Path, text: str | None = None, env: dict[str, str] | None = None, **kwargs: Any) -> str:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text, env, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_defaults() -> None:
    settings = load_settings(env={})
    assert (settings.server.host, settings.server.port, settings.server.account_id) == ("127.0.0.1", 8787, "local")
    assert settings.server.max_body_bytes == 25 * 1024 * 1024
    assert settings.logs.max_stored_body_bytes == 10 * 1024 * 1024
    assert settings.api.admin_token == ""
    assert settings.store.url == ""
    assert dict(settings.providers) == {}
    assert (settings.pricing_file, settings.demo, settings.headless) == ("", False, False)


def test_default_store_url_is_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    settings = load_settings(env={}, overrides={"store": {"data_dir": str(tmp_path)}})
    assert settings.data_dir == tmp_path
    assert settings.store_url == f"sqlite+aiosqlite:///{tmp_path / 'aigw.db'}"


def test_toml_file(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        """
pricing_file = "/etc/aigw/pricing.toml"

[server]
host = "0.0.0.0"
port = 9000
account_id = "acme"
upstream_timeout = 30
access_log = false

[store]
url = "postgresql+asyncpg://aigw@db/aigw"

[api]
admin_token = "file-token"

[logs]
batch_size = 100
""",
    )
    assert (settings.server.host, settings.server.port, settings.server.account_id) == ("0.0.0.0", 9000, "acme")
    assert settings.server.upstream_timeout == 30.0 and isinstance(settings.server.upstream_timeout, float)
    assert settings.server.access_log is False
    assert settings.store_url == "postgresql+asyncpg://aigw@db/aigw"
    assert settings.api.admin_token == "file-token"
    assert settings.logs.batch_size == 100
    assert settings.logs.queue_max_entries == 50_000  # untouched keys keep their defaults
    assert settings.pricing_file == "/etc/aigw/pricing.toml"


def test_custom_providers_are_parsed(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        """
[providers.ollama]
base_url = "http://localhost:11434/v1"
format = "openai"

[providers.openai]
base_url = "http://127.0.0.1:8000/v1"
""",
    )
    assert dict(settings.providers) == {
        "ollama": ProviderSettings(base_url="http://localhost:11434/v1", format="openai"),
        "openai": ProviderSettings(base_url="http://127.0.0.1:8000/v1"),
    }
    with pytest.raises(TypeError):
        settings.providers["x"] = ProviderSettings()  # type: ignore[index]


@pytest.mark.parametrize(
    ("env", "section", "key", "expected"),
    [
        ({"AIGW_SERVER_PORT": "9100"}, "server", "port", 9100),
        ({"AIGW_SERVER_HOST": "0.0.0.0"}, "server", "host", "0.0.0.0"),
        ({"AIGW_SERVER_ACCOUNT_ID": "acct"}, "server", "account_id", "acct"),
        ({"AIGW_SERVER_ACCESS_LOG": "false"}, "server", "access_log", False),
        ({"AIGW_SERVER_ACCESS_LOG": "Yes"}, "server", "access_log", True),
        ({"AIGW_SERVER_UPSTREAM_TIMEOUT": "12.5"}, "server", "upstream_timeout", 12.5),
        ({"AIGW_ADMIN_TOKEN": "env-token"}, "api", "admin_token", "env-token"),
        ({"AIGW_API_ADMIN_TOKEN": "env-token"}, "api", "admin_token", "env-token"),
        ({"AIGW_DB": "sqlite+aiosqlite:///tmp/x.db"}, "store", "url", "sqlite+aiosqlite:///tmp/x.db"),
        ({"AIGW_STORE_URL": "sqlite+aiosqlite:///tmp/y.db"}, "store", "url", "sqlite+aiosqlite:///tmp/y.db"),
        ({"AIGW_LOGS_BATCH_SIZE": "50"}, "logs", "batch_size", 50),
        ({"AIGW_DATA_DIR": "/srv/aigw"}, "store", "data_dir", "/srv/aigw"),
        ({"AIGW_REDIS_URL": "redis://127.0.0.1:6379/0"}, "redis", "url", "redis://127.0.0.1:6379/0"),
        ({"AIGW_REDIS_TIMEOUT": "0.25"}, "redis", "timeout", 0.25),
    ],
)
def test_env(env: dict[str, str], section: str, key: str, expected: Any) -> None:
    assert getattr(getattr(load_settings(env=env), section), key) == expected


def test_env_data_dir_is_where_the_database_goes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("AIGW_DATA_DIR", raising=False)
    settings = load_settings(env={"AIGW_DATA_DIR": str(tmp_path)})
    assert settings.data_dir == tmp_path
    assert settings.store_url == f"sqlite+aiosqlite:///{tmp_path / 'aigw.db'}"


def test_unrelated_env_is_ignored() -> None:
    settings = load_settings(env={"PORT": "1", "SERVER_PORT": "2", "AIGW": "3", "HOME": "/root"})
    assert settings.server.port == 8787


def test_precedence_flags_over_env_over_file_over_defaults(tmp_path: Path) -> None:
    text = '[server]\nport = 1000\nhost = "10.0.0.1"\n[api]\nadmin_token = "file"\n'
    env = {"AIGW_SERVER_PORT": "2000", "AIGW_ADMIN_TOKEN": "env"}
    flags = {"server": {"port": 3000}}
    assert load(tmp_path, text).server.port == 1000
    assert load(tmp_path, text, env).server.port == 2000
    settings = load(tmp_path, text, env, overrides=flags)
    assert settings.server.port == 3000
    assert settings.server.host == "10.0.0.1"  # file, untouched by env and flags
    assert settings.api.admin_token == "env"
    assert settings.server.account_id == "local"  # default


def test_flags_set_to_none_do_not_override(tmp_path: Path) -> None:
    settings = load(tmp_path, "[store]\nurl = \"sqlite+aiosqlite:///file.db\"\n", {"AIGW_SERVER_PORT": "2000"},
                    overrides={"server": {"port": None}, "store": {"url": None, "data_dir": None}})  # fmt: skip
    assert (settings.server.port, settings.store.url, settings.store.data_dir) == (2000, "sqlite+aiosqlite:///file.db", "")


def test_demo_and_headless_flags() -> None:
    settings = load_settings(env={}, demo=True, headless=True)
    assert (settings.demo, settings.headless) == (True, True)


def test_settings_are_immutable() -> None:
    settings = load_settings(env={})
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.server.port = 1  # type: ignore[misc]


# -- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "env", "names"),
    [
        ("bogus = 1\n", None, ["bogus"]),
        ("[nonsense]\nx = 1\n", None, ["nonsense"]),
        ("[server]\nprot = 8080\n", None, ["[server]", "prot"]),
        ("[logs]\nbatchsize = 1\n", None, ["[logs]", "batchsize"]),
        ('[server]\nport = "abc"\n', None, ["[server] port"]),
        ("[server]\nport = 80.5\n", None, ["[server] port"]),
        ("[server]\nport = true\n", None, ["[server] port"]),
        ("[server]\naccess_log = 3\n", None, ["[server] access_log"]),
        ("[server]\nhost = 127\n", None, ["[server] host"]),
        ("[server]\nupstream_timeout = \"soon\"\n", None, ["[server] upstream_timeout"]),
        ("pricing_file = 3\n", None, ["pricing_file"]),
        ("server = 5\n", None, ["[server]"]),
        ("server = 5\n", {"AIGW_SERVER_PORT": "9000"}, ["[server]"]),
        ("providers = 5\n", None, ["[providers]"]),
        ("[providers]\nollama = 5\n", None, ["providers.ollama"]),
        ('[providers.ollama]\nbase_url = "http://x"\nmodel = "llama"\n', None, ["providers.ollama", "model"]),
        ('[providers.ollama]\nbase_url = "localhost:11434"\n', None, ["providers.ollama", "base_url"]),
        ("[server]\nport = 70000\n", None, ["[server] port"]),
        ("[server]\nport = -1\n", None, ["[server] port"]),
        ("[server]\nmax_body_bytes = 0\n", None, ["max_body_bytes"]),
        ("[logs]\nbatch_size = 0\n", None, ["batch_size"]),
        (None, {"AIGW_SERVER_PORT": "abc"}, ["[server] port", "abc"]),
        (None, {"AIGW_SERVER_ACCESS_LOG": "sometimes"}, ["[server] access_log"]),
        (None, {"AIGW_LOGS_RETRY_DELAY": "fast"}, ["[logs] retry_delay"]),
        ('[redis]\nurl = "http://127.0.0.1:6379"\n', None, ["[redis] url", "redis://"]),
        ("[redis]\ntimeout = 0\n", None, ["[redis] timeout"]),
        ('[redis]\nprefix = "a b"\n', None, ["[redis] prefix"]),
        ("[redis]\nhost = 1\n", None, ["[redis]", "host"]),
    ],
)
def test_errors_name_the_key(tmp_path: Path, text: str | None, env: dict[str, str] | None, names: list[str]) -> None:
    message = config_error(tmp_path, text, env)
    assert all(name in message for name in names), message


def test_flag_with_wrong_type_names_the_key(tmp_path: Path) -> None:
    assert "[server] port" in config_error(tmp_path, overrides={"server": {"port": "many"}})


def test_bad_toml_names_the_file(tmp_path: Path) -> None:
    message = config_error(tmp_path, "[server\nport = 1\n")
    assert "aigw.toml" in message and "TOML" in message


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="nowhere.toml"):
        load_settings(tmp_path / "nowhere.toml", env={})


def test_config_error_is_a_value_error() -> None:
    assert issubclass(ConfigError, ValueError)
