"""Does the visitor see the local model's full speed? Tokens/s through the app vs what llama.cpp reports.

Run ``.venv/bin/python -m benchmarks.embedded_rate`` (about a minute on 2 cores); ``stream_bench``
runs it too, as its part E. It starts SmolLM2-135M with ``llama_cpp.server`` exactly as llmchat's
embedded default does (``llmchat.engine.embedded.EmbeddedServer``: n_ctx 2048, every core but one) and
the app as a child process with a preset pointing at that server, then, ``--runs`` times, asks the
same question three ways one after the other:

- **server**: the decode rate llama.cpp itself reports for that answer in its log
  (``eval time = X ms / R runs``: R tokens decoded in X ms, the first answer token excluded, as it
  comes out of the prompt's evaluation);
- **direct**: the plain ``openai`` client streaming from the server: (chunks - 1) / (last chunk -
  first chunk), timed at the client;
- **visitor**: the app's Gradio queue stream, read as the browser reads it
  (``benchmarks.common.gradio_queue.visit``):
  (tokens - 1) / (the message that completed the text - the first message with text).

The target (issue 5): visitor >= 0.98 x server, median of the runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks.common.bench_app import App
from benchmarks.common.gradio_queue import chat_template, visit
from benchmarks.common.local_model import start_embedded
from benchmarks.common.log import log

TARGET_RATIO = 0.98
MAX_TOKENS = 256
QUESTION = "Write a long story about a lighthouse keeper and a storm. Number run {run}."
EVAL = re.compile(r"^llama_perf_context_print:\s+eval time =\s*([\d.]+) ms /\s*(\d+) runs", re.M)
PRESET_YAML = f"""\
name: Embedded rate
mode: qa
base_url: {{base_url}}
api_key: sk-bench-not-a-secret
model: smollm2
system_prompt: ""
temperature: 0.8
seed: 1
max_tokens: {MAX_TOKENS}
timeout: 120
show_stats: false
"""


class ServerLog:
    """Reads what the llama.cpp server wrote to its log since the last call."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = path.stat().st_size

    def server_rate(self) -> tuple[float, int] | None:
        """(tokens/s, tokens decoded) of the latest answer, from llama.cpp's own timings."""
        time.sleep(0.3)  # the server writes its timings just after the last chunk
        with self.path.open("rb") as file:
            file.seek(self.offset)
            data = file.read()
        self.offset += len(data)
        found = EVAL.findall(data.decode("utf-8", "replace"))
        if not found:
            return None
        ms, runs = float(found[-1][0]), int(found[-1][1])
        return (runs / (ms / 1000), runs) if ms > 0 and runs > 0 else None


async def _direct(base_url: str, question: str) -> tuple[float | None, int]:
    import openai

    client = openai.AsyncOpenAI(base_url=base_url, api_key="sk-bench-not-a-secret", max_retries=0)
    stamps: list[float] = []
    try:
        stream = await client.chat.completions.create(
            model="smollm2",
            messages=[{"role": "user", "content": question}],
            max_tokens=MAX_TOKENS,
            temperature=0.8,
            seed=1,
            stream=True,
        )
        async with stream:
            async for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    stamps.append(time.monotonic())
    finally:
        await client.close()
    if len(stamps) < 2:
        return None, len(stamps)
    return (len(stamps) - 1) / (stamps[-1] - stamps[0]), len(stamps)


async def _visitor(app: App, fn_index: int, template: list[Any], question: str) -> tuple[float, float] | None:
    """(first text, last text change) as monotonic times, read off the app's queue stream."""
    async with httpx.AsyncClient(timeout=httpx.Timeout(120)) as http:
        result = await visit(http, app.url, fn_index, template, question)
    if result.error or result.first is None or result.last is None:
        log(f"visitor run failed: {result.error or 'no text'}")
        return None
    return result.first, result.last


def embedded_bench(work: Path, runs: int = 3) -> dict[str, Any]:
    """Start SmolLM2 and the app, measure ``runs`` times; everything is stopped again on return."""
    res: dict[str, Any] = {"runs": [], "max_tokens": MAX_TOKENS}
    with contextlib.ExitStack() as stack:
        server = start_embedded(stack, "rate", 2048, None)
        res["n_threads"] = server.settings.n_threads or max(1, (os.cpu_count() or 2) - 1)
        base_url = server.base_url
        server_log = ServerLog(Path(server._logfile))
        app = App(
            type("Upstream", (), {"base_url": base_url})(), 8, work, preset_yaml=PRESET_YAML, name="rate"
        )
        stack.callback(app.stop)
        fn_index, template = chat_template(app)
        asyncio.run(_direct(base_url, "Say hello."))  # warm-up: model pages, connections
        server_log.server_rate()
        for run in range(runs):
            question = QUESTION.format(run=run)
            direct, direct_tokens = asyncio.run(_direct(base_url, question))
            direct_server = server_log.server_rate()
            seen = asyncio.run(_visitor(app, fn_index, template, question))
            visitor_server = server_log.server_rate()
            row: dict[str, Any] = {"direct": direct, "direct_tokens": direct_tokens}
            if direct_server:
                row["server_for_direct"] = direct_server[0]
            if seen and visitor_server:
                rate, decoded = visitor_server
                first, last = seen
                row["server"], row["tokens"] = rate, decoded + 1
                # ``decoded`` tokens came after the first one, between the first and last text seen.
                row["visitor"] = decoded / (last - first) if last > first else None
            res["runs"].append(row)
            log(
                f"run {run + 1}/{runs}: "
                + ", ".join(f"{k} {v:.1f}" for k, v in row.items() if isinstance(v, float))
            )
    return res


def summarize(res: dict[str, Any]) -> dict[str, float | None]:
    def med(key: str) -> float | None:
        values = [r[key] for r in res["runs"] if r.get(key)]
        return statistics.median(values) if values else None

    ratios = [r["visitor"] / r["server"] for r in res["runs"] if r.get("visitor") and r.get("server")]
    direct_ratios = [
        r["direct"] / r["server_for_direct"]
        for r in res["runs"]
        if r.get("direct") and r.get("server_for_direct")
    ]
    return {
        "server": med("server"),
        "visitor": med("visitor"),
        "direct": med("direct"),
        "tokens": med("tokens"),
        "ratio": statistics.median(ratios) if ratios else None,
        "direct_ratio": statistics.median(direct_ratios) if direct_ratios else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.embedded_rate", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="llmchat-rate-"))
    res = embedded_bench(work, args.runs)
    s = summarize(res)

    def f(v: float | None, spec: str = ".1f") -> str:
        return "-" if v is None else format(v, spec)

    print(
        f"SmolLM2, {res['n_threads']} threads, answers of ~{f(s['tokens'], '.0f')} tokens, "
        f"median of {args.runs}: server {f(s['server'])} tok/s, "
        f"direct client {f(s['direct'])} tok/s ({f(s['direct_ratio'], '.3f')}x), "
        f"visitor through the app {f(s['visitor'])} tok/s = {f(s['ratio'], '.3f')}x server "
        f"(target >= {TARGET_RATIO})"
    )
    return 0 if s["ratio"] is not None and s["ratio"] >= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
