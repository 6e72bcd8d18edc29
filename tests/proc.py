"""Reading Linux's /proc, for the tests and the benchmarks: a process's stat fields and CPU
time, the process tree, and waiting for processes to be gone."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable
from pathlib import Path


def stat_fields(pid: int) -> list[str]:
    """`/proc/<pid>/stat` from its third field (the state) on: field n is at index n - 3.
    The command name (field 2) may hold spaces and parentheses; the fields after it do not."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def parents_and_groups() -> dict[int, tuple[int, int]]:
    """Every running process: pid -> (parent pid, process group)."""
    found: dict[int, tuple[int, int]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError, IndexError, ValueError):  # ended while being read
            fields = stat_fields(int(entry.name))
            found[int(entry.name)] = (int(fields[1]), int(fields[2]))
    return found


def children(pid: int) -> list[int]:
    return [child for child, (parent, _) in parents_and_groups().items() if parent == pid]


def gone(pids: Iterable[int], timeout: float) -> bool:
    """Whether every one of `pids` has exited within `timeout` seconds."""
    waiting = list(pids)
    deadline = time.monotonic() + timeout
    while any(Path(f"/proc/{pid}").exists() for pid in waiting):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True
