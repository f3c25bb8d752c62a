"""The figures of one way's turns: head vs tail, cut turns, warm-ups, calm turns."""

from __future__ import annotations

import statistics
from typing import Any

from benchmarks.long_chat.conversation import CALM
from benchmarks.long_chat.turn import Turn


def median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def fmt(value: float | int | None, spec: str = ".2f") -> str:
    return "–" if value is None else format(value, spec)


def seconds_per_token(t: Turn) -> float | None:
    return t.seconds / t.completion_tokens if t.seconds is not None and t.completion_tokens else None


def summary(turns: list[Turn]) -> dict[str, Any]:
    ok = [t for t in turns if not t.failed]
    head, tail = turns[:3], turns[-3:]
    walls = sum(t.seconds or 0 for t in turns)
    out: dict[str, Any] = {
        "turns": len(turns),
        "failed": sum(t.failed for t in turns),
        "first_failed_turn": next((t.turn for t in turns if t.failed), None),
        "cut_turns": [
            t.turn for i, t in enumerate(turns) if t.left_out != (turns[i - 1].left_out if i else 0)
        ],
        "first_s": turns[0].seconds if turns else None,
        "last_s": turns[-1].seconds if turns else None,
        "largest_prompt": max((t.prompt_tokens or 0 for t in ok), default=None),
        "others_cores": sum((t.others_cores or 0) * (t.seconds or 0) for t in turns) / walls
        if walls
        else None,
    }
    for key, get in (
        ("s", lambda t: t.seconds),
        ("ttft", lambda t: t.ttft),
        ("s_per_token", seconds_per_token),
        ("decode_ms", lambda t: t.decode_ms_per_token),
    ):
        out[f"head_{key}"] = median([get(t) for t in head if not t.failed])
        out[f"tail_{key}"] = median([get(t) for t in tail if not t.failed])
        out[f"ratio_{key}"] = ratio(out[f"tail_{key}"], out[f"head_{key}"])
    out["ratio_last_first"] = ratio(out["last_s"], out["first_s"])
    out["slowest_s"] = max((t.seconds for t in ok if t.seconds is not None), default=None)
    out["ratio_slowest_first"] = ratio(out["slowest_s"], out["first_s"])
    cut = [t for t in ok if t.turn in out["cut_turns"]]
    out["cut_s"] = median([t.seconds for t in cut])
    out["cut_evaluated"] = median([t.prompt_evaluated for t in cut])
    out["warmups"] = sum(t.warmups for t in turns)
    out["warmup_evaluated"] = median([t.warmup_evaluated for t in turns if t.warmups])
    out["warmup_s"] = median([t.warmup_seconds for t in turns if t.warmups])
    # On a shared machine: only the turns during which other processes left the CPU (nearly) alone.
    calm = [t for t in ok if t.others_cores is not None and t.others_cores < CALM]
    plain = [t for t in calm if t.turn not in out["cut_turns"]]
    half = (len(turns) + 1) // 2
    for key, group in (
        ("calm_plain", plain),
        ("calm_plain_early", [t for t in plain if t.turn <= half]),
        ("calm_plain_late", [t for t in plain if t.turn > half]),
        ("calm_cut", [t for t in calm if t.turn in out["cut_turns"]]),
    ):
        out[f"{key}_turns"] = [t.turn for t in group]
        out[f"{key}_s"] = median([t.seconds for t in group])
        out[f"{key}_ttft"] = median([t.ttft for t in group])
    return out
