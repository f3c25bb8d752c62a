"""What one measured answer is, the targets it is held to (issue 5), and medians over runs."""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.common.stats import median

# Targets from issue 5.
TARGET_API_RATIO = 1.5  # app API time for 4000 tokens <= 1.5 x direct client
TARGET_CPU_MS_PER_TOKEN = 0.1
TARGET_TTFT_EXTRA_MS = 20.0  # app TTFT <= direct TTFT + 20 ms
TARGET_BROWSER_AFTER_LAST_S = 1.5  # 4000 tokens fully shown <= 1.5 s after the server's last token
TARGET_BROWSER_8K_RATIO = 2.2  # 8000-token time <= 2.2 x 4000-token time
TARGET_CROWD_P95_S = {20: 0.5, 100: 2.0}


@dataclass
class Run:
    """One answer: how long it took, and whether its text was exactly what the server sent."""

    tokens: int
    total: float  # seconds from request to the complete answer
    ttft: float | None = None  # seconds from request to the first non-empty piece of text
    ok: bool = True  # the text received equals what the server sent
    note: str = ""
    cpu: float | None = None  # app CPU seconds spent on this answer
    after_last: float | None = None  # browser: fully shown, seconds after the server's last chunk
    join: float | None = None  # browser: Enter -> the page sends queue/join
    llm_request: float | None = None  # browser: Enter -> the request reaches the LLM server


def med(runs: list[Run], attr: str) -> float:
    return median([getattr(r, attr) for r in runs if getattr(r, attr) is not None])


def paired(a: list[Run], b: list[Run], how: str) -> float:
    """Median over runs of a/b total time ("ratio") or a-b TTFT ("ttft_diff"); runs were made in pairs."""
    if how == "ratio":
        values = [x.total / y.total for x, y in zip(a, b, strict=False) if y.total > 0]
    else:
        values = [
            x.ttft - y.ttft for x, y in zip(a, b, strict=False) if x.ttft is not None and y.ttft is not None
        ]
    return median(values)
