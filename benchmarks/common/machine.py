"""How busy the whole machine is: benchmarks share 2 cores with everything else that runs.

Wall-clock figures move with the load from other processes; these readers (Linux ``/proc``) let
a benchmark say how much CPU others took while it ran, so its figures can be read for what
they are.
"""

from __future__ import annotations

import os
import time
from pathlib import Path


def busy_seconds() -> float | None:
    """CPU seconds all CPUs together have been busy since boot (from /proc/stat); None if unknown."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return None
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def busy_and_total_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all cores, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def load1() -> float:
    """The 1-minute load average."""
    return float(Path("/proc/loadavg").read_text().split()[0])


def own_tree_cpu() -> float:
    """CPU seconds of this process and of its children that have ended (all of them, at the end)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class OthersMeter:
    """How much CPU other processes took while the benchmark ran: all busy time minus ours."""

    def __init__(self) -> None:
        self.busy0, self.own0, self.wall0 = busy_seconds(), own_tree_cpu(), time.monotonic()

    def share(self) -> float | None:
        """Share of all CPUs used by other processes; call after every child has been stopped."""
        busy1 = busy_seconds()
        if busy1 is None or self.busy0 is None:
            return None
        wall = time.monotonic() - self.wall0
        others = (busy1 - self.busy0) - (own_tree_cpu() - self.own0)
        return max(0.0, others / (wall * (os.cpu_count() or 1)))


def cpu_speed_ms(loops: int = 1_000_000, tries: int = 3) -> float:
    """CPU milliseconds this process needs for a fixed pure-Python loop (best of ``tries``).

    CPU-time figures are less sensitive to other processes than wall-clock ones, but not immune:
    on a busy machine the same work takes more CPU time (shared caches, frequency). Printed next
    to CPU figures so that runs on a busy and a quiet machine can be told apart.
    """
    best = float("inf")
    for _ in range(tries):
        started = time.process_time()
        total = 0
        for i in range(loops):
            total += i * i
        best = min(best, time.process_time() - started)
    return best * 1000
