"""Sending the messages each way, turn by turn, and what the machine did meanwhile."""

from __future__ import annotations

import contextlib
import os
import time
from typing import Any

from benchmarks.common.machine import busy_seconds, load1
from benchmarks.long_chat.summary import fmt
from benchmarks.long_chat.turn import Turn
from llmchat.testing import procfs


def process_cpu(pid: int | None) -> float:
    """CPU seconds a process has used (user + system, all its threads); 0 if it is gone."""
    if not pid:
        return 0.0
    try:
        return procfs.cpu_seconds(pid)
    except OSError:
        return 0.0


class CpuSnapshot:
    def __init__(self, pids: list[int]) -> None:
        self.at = time.monotonic()
        self.busy = busy_seconds() or 0.0
        self.cpu = {pid: process_cpu(pid) for pid in pids}

    def since(self, before: CpuSnapshot) -> tuple[float, float, dict[int, float]]:
        """(wall seconds, machine busy CPU seconds, CPU seconds of each of our processes)."""
        return (
            self.at - before.at,
            self.busy - before.busy,
            {p: c - before.cpu[p] for p, c in self.cpu.items()},
        )


def run(ways: list[Any], messages: list[str], order: str, pause: float = 0.0) -> None:
    """Send the messages each way: turn by turn alternately, or one conversation after the other.

    ``pause``: the visitor's reading time after each answer of a way that works between turns (so
    nothing else runs on the machine meanwhile); the other way's turns do not depend on it.
    """
    with contextlib.ExitStack() as stack:
        for way in ways:
            way.start(stack)
        me = os.getpid()
        everyone = [me, *(pid for way in ways for pid in way.pids.values())]
        if order == "interleaved":
            schedule = [
                (n, way) for n in range(1, len(messages) + 1) for way in (ways if n % 2 else ways[::-1])
            ]
        else:
            schedule = [(n, way) for way in ways for n in range(1, len(messages) + 1)]
        print(f"{len(messages)} turns, {order}", flush=True)
        for number, way in schedule:
            load = load1()
            before = CpuSnapshot(everyone)
            turn = way.run_turn(number, messages[number - 1])
            wall, busy, ours = CpuSnapshot(everyone).since(before)
            turn.load1 = load
            turn.others_cores = max(0.0, busy - sum(ours.values())) / wall if wall > 0 else None
            turn.client_cpu_s = ours[me]
            turn.server_cpu_s = ours[way.pids["server"]]
            if "app" in way.pids:
                turn.app_cpu_s = ours[way.pids["app"]]
            way.turns.append(turn)
            print_turn(way.name, turn)
            if pause and way.works_between_turns:
                time.sleep(pause)


def print_turn(way: str, t: Turn) -> None:
    notes = f"  left out {t.left_out} messages" if t.left_out else ""
    if t.warmups:
        notes += f"  (warm-up before it: {t.warmup_evaluated} tokens in {fmt(t.warmup_seconds)} s)"
    if t.failed:
        notes += f"  FAILED: {t.error}"
    print(
        f"  {way:7} turn {t.turn:2}: {fmt(t.seconds)} s, TTFT {fmt(t.ttft)} s, "
        f"{fmt(t.completion_tokens, 'd')} tokens, decode {fmt(t.decode_ms_per_token, '.1f')} ms/token, "
        f"prompt {fmt(t.prompt_tokens, 'd')} "
        f"({fmt(t.prompt_evaluated, 'd')} evaluated), {fmt(t.messages_sent, 'd')} messages sent, "
        f"others used {fmt(t.others_cores)} cores{notes}",
        flush=True,
    )
