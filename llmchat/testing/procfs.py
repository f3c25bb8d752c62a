"""What Linux's ``/proc`` says about one process: its CPU time and its memory.

Tests and benchmarks read these for the app's child process: CPU time from
``/proc/<pid>/stat`` (all threads, user and system apart), resident memory from
``/proc/<pid>/status``. Linux only; elsewhere the readers raise ``OSError``.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cpu_seconds", "cpu_split", "status_kib"]


def cpu_split(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of ``pid`` (all its threads) so far; OSError if it is gone."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # the name in parentheses may hold spaces
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` so far; OSError if it is gone."""
    return sum(cpu_split(pid))


def status_kib(pid: int, key: str) -> int | None:
    """A ``kB`` line of ``/proc/<pid>/status`` (``VmRSS``, ``VmHWM``...); None if it has none."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    return None
