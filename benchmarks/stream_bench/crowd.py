"""Part C: N visitors, each its own Gradio session, all sending in the same instant."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from typing import Any

import httpx

from benchmarks.common.bench_app import App
from benchmarks.common.gradio_queue import chat_template, visit
from benchmarks.common.llm_process import LLMServer
from benchmarks.common.log import log
from benchmarks.common.stats import median, percentile
from benchmarks.stream_bench.texts import crowd_reply


@dataclass
class Crowd:
    visitors: int
    concurrency: int
    rounds: list[dict[str, Any]] = field(default_factory=list)

    def med(self, key: str) -> float:
        return median([r[key] for r in self.rounds])

    @property
    def bad_texts(self) -> int:
        return sum(r["bad_texts"] for r in self.rounds)

    @property
    def waited(self) -> int:
        return max(r["waited"] for r in self.rounds) if self.rounds else 0


def crowd_bench(
    app: App, llm: LLMServer, levels: list[int], rounds: int, tokens: int, delay: float
) -> list[Crowd]:
    """N visitors, each its own Gradio session, all sending at the same moment."""
    fn_index, template = chat_template(app)
    out = []
    for n in levels:
        log(f"{n} visitors at once (--concurrency {app.concurrency}), {rounds} rounds")
        crowd = Crowd(n, app.concurrency)
        for _ in range(rounds):
            llm.clear()
            cpu0, own0 = app.cpu_seconds(), _own_cpu()
            result = asyncio.run(_crowd_round(app, fn_index, template, n, tokens, delay))
            result["app_cpu_s"], result["client_cpu_s"] = app.cpu_seconds() - cpu0, _own_cpu() - own0
            streams = llm.streams()
            result["server_finished"] = sum(1 for s in streams if s["finished"])
            result["max_at_once"] = max_overlap([(s["started_at"], s["ended_at"]) for s in streams])
            crowd.rounds.append(result)
        out.append(crowd)
    return out


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system


def max_overlap(intervals: list[tuple[float, float | None]]) -> int:
    """Most intervals open at the same moment: how many answers the LLM server streamed at once."""
    edges = sorted(
        [(a, 1) for a, _ in intervals] + [(b if b is not None else float("inf"), -1) for _, b in intervals]
    )
    best = now = 0
    for _, step in edges:
        now += step
        best = max(best, now)
    return best


async def _crowd_round(
    app: App, fn_index: int, template: list[Any], n: int, tokens: int, delay: float
) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=2 * n + 10, max_keepalive_connections=2 * n + 10)
    async with httpx.AsyncClient(timeout=httpx.Timeout(120), limits=limits) as http:
        expected = [crowd_reply(k, tokens) for k in range(n)]
        messages = [f'[[test reply="{expected[k]}" delay={delay}]] visitor {k}' for k in range(n)]
        visits = await asyncio.wait_for(
            asyncio.gather(*(visit(http, app.url, fn_index, template, m) for m in messages)), 180
        )
    ttfts = [v.ttft for v in visits]
    bad = [k for k, v in enumerate(visits) if v.error or v.text != expected[k] or v.streamed != expected[k]]
    dones = sorted((v.done or float("inf"), k) for k, v in enumerate(visits))
    # Waited behind another visitor: someone else's whole answer ended before this one's first text.
    waited = 0
    for k, v in enumerate(visits):
        other_done = dones[0][0] if dones[0][1] != k else (dones[1][0] if len(dones) > 1 else float("inf"))
        if (v.first or float("inf")) > other_done:
            waited += 1
    return {
        "p50": percentile(ttfts, 50),
        "p95": percentile(ttfts, 95),
        "max": max(ttfts),
        "bad_texts": len(bad),
        "errors": [v.error for v in visits if v.error][:3],
        "waited": waited,
        "answer_s": median([(v.done or 0) - (v.first or 0) for v in visits]),
        "updates": median([v.updates for v in visits]),
    }
