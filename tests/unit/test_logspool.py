"""The crash spool: rows that waited too long reach the disk, leave it once stored, and come back
after a crash, torn tail and all; and the pipeline around it."""

from __future__ import annotations

import asyncio
import pickle
from pathlib import Path
from typing import Any, Sequence

from proxy_core.config import LogSettings
from proxy_core.costs import load_pricing
from proxy_core.logpipe import LogPipe
from proxy_core.logspool import LogSpool
from tests.integration.test_logpipe import FlakyStore, exchange


def record(n: int) -> tuple[dict[str, Any], dict[str, Any] | None, bool]:
    return {"id": f"{n:026d}", "metadata": {"user": "u"}, "cost": 0.5}, {"log_id": f"{n:026d}", "request_body": b"\x00body"}, True


def test_records_survive_a_new_process_and_confirmed_segments_go(tmp_path: Path) -> None:
    spool = LogSpool(tmp_path, max_bytes=1 << 20)
    assert spool.append(2, [record(1), record(2)])
    assert spool.rows == 2 and spool.bytes > 0
    # A killed process never confirms: the next one finds everything.
    found = [r for segment in LogSpool(tmp_path, 1 << 20).leftovers() for r in segment]
    assert found == [record(1), record(2)]
    spool.confirm(2)
    assert spool.rows == 0 and spool.bytes == 0 and not list(tmp_path.glob("*.spool"))


def test_a_segment_stays_until_every_row_in_it_is_confirmed(tmp_path: Path) -> None:
    spool = LogSpool(tmp_path, max_bytes=1 << 20)
    spool.append(1, [record(1)])
    spool.append(3, [record(2), record(3)])
    spool.confirm(2)
    assert spool.rows == 3  # one segment holds rows 1–3; row 3 is not stored yet
    spool.confirm(3)
    assert spool.rows == 0 and not list(tmp_path.glob("*.spool"))
    spool.append(4, [record(4)])  # a fresh segment after the last one went
    assert [r for s in LogSpool(tmp_path, 1 << 20).leftovers() for r in s] == [record(4)]


def test_a_torn_tail_keeps_the_records_before_it(tmp_path: Path) -> None:
    spool = LogSpool(tmp_path, max_bytes=1 << 20)
    spool.append(3, [record(1), record(2), record(3)])
    spool.close()
    (segment,) = tmp_path.glob("*.spool")
    segment.write_bytes(segment.read_bytes()[:-5])  # the kill landed mid-write
    assert [r for s in LogSpool(tmp_path, 1 << 20).leftovers() for r in s] == [record(1), record(2)]


def test_a_spool_file_cannot_run_code(tmp_path: Path) -> None:
    import struct
    import zlib

    payload = pickle.dumps(Path("/etc/passwd"))  # any class: refused on load
    (tmp_path / "0-1.spool").write_bytes(struct.pack("<II", len(payload), zlib.crc32(payload)) + payload)
    assert [r for s in LogSpool(tmp_path, 1 << 20).leftovers() for r in s] == []


def test_a_full_spool_refuses_and_counts(tmp_path: Path) -> None:
    spool = LogSpool(tmp_path, max_bytes=200)
    assert spool.append(1, [record(1)])
    assert not spool.append(2, [record(2)] * 10)
    assert spool.refused == 10 and spool.rows == 1


def test_discarding_leftovers_keeps_this_processs_own_segments(tmp_path: Path) -> None:
    LogSpool(tmp_path, 1 << 20).append(1, [record(1)])  # a killed process's
    spool = LogSpool(tmp_path, 1 << 20)
    spool.append(9, [record(9)])
    spool.discard_leftovers()
    assert [r for s in LogSpool(tmp_path, 1 << 20).leftovers() for r in s] == [record(9)]


class KnownIds:
    def __init__(self, ids: set[str]) -> None:
        self.ids = ids

    async def __call__(self, ids: Sequence[str]) -> set[str]:
        return self.ids & set(ids)


async def test_rows_the_store_refuses_reach_the_spool_and_a_restart_stores_them(tmp_path: Path) -> None:
    settings = LogSettings(batch_size=4, retry_delay=0.01, flush_interval=0.02)
    down = FlakyStore()
    pipe = LogPipe(settings, down.write, load_pricing(), spool=LogSpool(tmp_path, 1 << 24))
    pipe.start()
    for n in range(10):
        pipe.submit(exchange(n))
    while pipe.stats().spooled < 10:  # the store refuses: every row is copied to disk
        await asyncio.sleep(0.01)
    await pipe.close(timeout=0.05)  # stopping with the store still down: the rows stay on disk
    assert pipe.stats().dropped == 0 and down.rows == []

    up = FlakyStore()
    up.healthy = True
    restarted = LogPipe(settings, up.write, load_pricing(), spool=LogSpool(tmp_path, 1 << 24))
    already_stored = {f"{3:026d}"}  # its batch was committed just before the kill
    assert await restarted.recover(KnownIds(already_stored)) == 9
    assert sorted(row["id"] for row in up.rows) == sorted(f"{n:026d}" for n in range(10) if n != 3)
    assert not list(tmp_path.glob("*.spool"))


async def test_a_stop_with_the_store_down_spools_what_was_not_spooled_yet(tmp_path: Path) -> None:
    pipe = LogPipe(LogSettings(retry_delay=0.01, flush_interval=60), FlakyStore().write, load_pricing(),
                   spool=LogSpool(tmp_path, 1 << 24))  # fmt: skip
    pipe.start()
    for n in range(5):
        pipe.submit(exchange(n))
    await pipe.close(timeout=0.05)
    assert pipe.stats().dropped == 0
    assert len([r for s in LogSpool(tmp_path, 1 << 24).leftovers() for r in s]) == 5


async def test_rows_the_store_takes_promptly_are_never_spooled(tmp_path: Path) -> None:
    up = FlakyStore()
    up.healthy = True
    spool = LogSpool(tmp_path, 1 << 24)
    pipe = LogPipe(LogSettings(batch_size=4, flush_interval=60), up.write, load_pricing(), spool=spool)
    pipe.start()
    for n in range(10):
        pipe.submit(exchange(n))
    await pipe.close()
    assert len(up.rows) == 10 and spool.bytes == 0 and not list(tmp_path.glob("*.spool"))


async def test_a_replay_stores_kept_rows_only(tmp_path: Path) -> None:
    untallied = ({"id": "t"}, None, False)  # collection off: counted once, when it was first written
    LogSpool(tmp_path, 1 << 20).append(2, [record(1), untallied])
    up = FlakyStore()
    up.healthy = True
    pipe = LogPipe(LogSettings(), up.write, load_pricing(), spool=LogSpool(tmp_path, 1 << 20))
    assert await pipe.recover(KnownIds(set())) == 1
    assert [row["id"] for row in up.rows] == [f"{1:026d}"]


async def test_a_replay_the_store_refuses_keeps_the_spool(tmp_path: Path) -> None:
    LogSpool(tmp_path, 1 << 20).append(1, [record(1)])
    pipe = LogPipe(LogSettings(), FlakyStore().write, load_pricing(), spool=LogSpool(tmp_path, 1 << 20))
    assert await pipe.recover(KnownIds(set())) == 0
    assert len(list(tmp_path.glob("*.spool"))) == 1
