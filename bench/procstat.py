"""Process and CPU accounting from ``/proc`` (Linux only).

* :func:`tree_cpu_seconds` — user+system CPU of a process and all its live descendants, plus the
  CPU of children it has already reaped (``cutime``/``cstime``). Read before and after a load
  point; the difference over the requests served is the CPU cost per request.
* :func:`tree_peak_rss` — ``VmHWM`` (peak resident set) summed over the process tree, bytes.
* :func:`tree_rss` — current ``VmRSS`` summed over the tree, bytes (for the soak).
* :class:`CoreSampler` — per-core busy fractions from ``/proc/stat`` between two reads, and the
  machine-wide busy time not explained by the processes under test (other users of the machine:
  noise that makes a measurement unreliable).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

__all__ = [
    "CLK_TCK",
    "descendants",
    "proc_cpu_seconds",
    "tree_cpu_seconds",
    "tree_peak_rss",
    "tree_rss",
    "CoreSample",
    "read_cores",
    "core_busy",
    "busy_seconds",
]

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read().decode("latin-1")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name is in parentheses and may contain spaces: split after the last ')'.
    return raw[raw.rfind(")") + 2 :].split()


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _stat_fields(int(entry))
        if fields is None:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    return children


def descendants(pid: int) -> list[int]:
    """``pid`` and every live process below it."""
    children = _children_map()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, ()))
    return out


def proc_cpu_seconds(pid: int, *, reaped_children: bool = True) -> float:
    """utime+stime (+cutime+cstime) of one process, seconds; 0 if it is gone."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    # After the ')' split: index 0 is field 3 (state); utime is field 14 → index 11.
    ticks = int(fields[11]) + int(fields[12])
    if reaped_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / CLK_TCK


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of ``pid`` and its live descendants (and of the children they reaped)."""
    return sum(proc_cpu_seconds(p) for p in descendants(pid))


def _status_kb(pid: int, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


def tree_peak_rss(pid: int) -> int:
    """Sum of ``VmHWM`` over the tree, bytes (an upper bound when pages are shared)."""
    return sum(_status_kb(p, "VmHWM:") for p in descendants(pid)) * 1024


def tree_rss(pid: int) -> int:
    """Sum of ``VmRSS`` over the tree, bytes."""
    return sum(_status_kb(p, "VmRSS:") for p in descendants(pid)) * 1024


@dataclass(frozen=True)
class CoreSample:
    """Cumulative (busy, total) jiffies per core, from one read of ``/proc/stat``."""

    cores: dict[int, tuple[int, int]]


def read_cores() -> CoreSample:
    cores: dict[int, tuple[int, int]] = {}
    with open("/proc/stat") as f:
        for line in f:
            if not line.startswith("cpu") or line.startswith("cpu "):
                continue
            name, *vals = line.split()
            nums = [int(v) for v in vals[:8]]
            idle = nums[3] + nums[4]  # idle + iowait
            total = sum(nums)
            cores[int(name[3:])] = (total - idle, total)
    return CoreSample(cores)


def core_busy(before: CoreSample, after: CoreSample) -> dict[int, float]:
    """Busy fraction (0..1) of each core between two samples."""
    out: dict[int, float] = {}
    for core, (busy1, total1) in after.cores.items():
        busy0, total0 = before.cores.get(core, (busy1, total1))
        span = total1 - total0
        out[core] = (busy1 - busy0) / span if span > 0 else 0.0
    return out


def busy_seconds(before: CoreSample, after: CoreSample) -> float:
    """Machine-wide busy CPU seconds between two samples."""
    return sum(a[0] - before.cores.get(c, a)[0] for c, a in after.cores.items()) / CLK_TCK
