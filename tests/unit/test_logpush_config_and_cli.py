"""``[logpush]`` is validated with one line naming the key; ``logpush decrypt`` reads files and
refuses an altered one by name."""

from __future__ import annotations

import argparse
import base64
import gzip
from pathlib import Path

import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from console.logpush_command import run_logpush
from proxy_core.config import ConfigError, load_settings
from proxy_core.logpush import encode_file, load_public_key
from proxy_core.logpush.records import pending_log
from tests.unit.test_logpush_records import BODY, ROW


def test_logpush_settings_defaults_and_overrides() -> None:
    settings = load_settings(env={"AIGW_LOGPUSH_DESTINATION": "s3://logs/aigw", "AIGW_LOGPUSH_INTERVAL": "5"})
    assert (settings.logpush.destination, settings.logpush.interval, settings.logpush.max_batch) == ("s3://logs/aigw", 5.0, 1000)
    assert load_settings(env={}).logpush.interval == 30.0 and load_settings(env={}).logpush.destination == ""


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"destination": "ftp://x"}, "config key [logpush] destination: 'ftp://x' must start with file://"),
        ({"destination": "s3:///prefix"}, "config key [logpush] destination: s3:// needs a bucket"),
        ({"destination": "file://relative"}, "config key [logpush] destination: file:// needs an absolute directory"),
        ({"destination": "s3://b", "endpoint": "minio:9000"}, "config key [logpush] endpoint: must start with http"),
        ({"interval": 0}, "config keys [logpush] interval and timeout: must be positive seconds"),
        ({"max_batch": 0}, "config key [logpush] max_batch: must be positive"),
        ({"intervall": 3}, "unknown config key [logpush] intervall"),
        ({"interval": "soon"}, "config key [logpush] interval: expected float, got 'soon'"),
    ],
)
def test_bad_logpush_settings_name_the_key(values: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env={}, overrides={"logpush": values})
    assert str(info.value).startswith(message) and "\n" not in str(info.value)


@pytest.fixture
def pushed(tmp_path: Path) -> tuple[Path, Path]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = tmp_path / "private.pem"
    key_file.write_bytes(private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ))  # fmt: skip
    public_pem = private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    pushed = tmp_path / "default_20260101T000000Z_00000001.log.gz"
    pushed.write_bytes(encode_file([pending_log(ROW, BODY)], load_public_key(public_pem.decode())))
    return key_file, pushed


def _args(key: Path, *files: Path) -> argparse.Namespace:
    return argparse.Namespace(key=str(key), files=[str(f) for f in files])


def test_decrypt_prints_json_lines(pushed: tuple[Path, Path], capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    key, file = pushed
    assert run_logpush(_args(key, file)) == 0
    [record] = [orjson.loads(line) for line in capsysbinary.readouterr().out.splitlines()]
    assert record["ID"] == ROW["id"] and record["RequestBody"] == BODY["request_body"].decode()
    assert orjson.loads(record["Metadata"]) == {"user": "alice"}


def test_decrypt_refuses_an_altered_file_by_name(pushed: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    key, file = pushed
    record = orjson.loads(gzip.decompress(file.read_bytes()))
    data = bytearray(base64.b64decode(record["ResponseBody"]["data"]))
    data[3] ^= 0x10
    record["ResponseBody"]["data"] = base64.b64encode(bytes(data)).decode()
    file.write_bytes(gzip.compress(orjson.dumps(record) + b"\n"))
    assert run_logpush(_args(key, file)) == 1
    assert f"{file}: cannot decrypt: altered, or encrypted for another key" in capsys.readouterr().err
    assert run_logpush(_args(file, file)) == 1
    assert "--key" in capsys.readouterr().err
