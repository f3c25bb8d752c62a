"""Part A: the direct ``openai`` client vs the app's API vs the app timed at its SSE bytes.

Run back to back, in alternating order, so they meet the same load from whatever else runs.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from benchmarks.common.bench_app import App
from benchmarks.common.gradio_queue import answer_of, chat_template, visit
from benchmarks.common.llm_process import LLMServer
from benchmarks.common.log import log
from benchmarks.stream_bench.figures import Run
from benchmarks.stream_bench.texts import first_difference, tok_text

SSE_TOKENS = 4000  # the answer length at which TTFT through the app is timed at the SSE bytes


async def _direct_once(client: Any, n: int) -> Run:
    """The plain ``openai`` client: call -> first non-empty delta.content -> end of stream."""
    messages = [{"role": "user", "content": f"[[test tokens={n}]] direct"}]
    parts: list[str] = []
    first = None
    start = time.monotonic()
    stream = await client.chat.completions.create(model="test-model", messages=messages, stream=True)
    async with stream:
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                if first is None:
                    first = time.monotonic()
                parts.append(chunk.choices[0].delta.content)
    end = time.monotonic()
    return Run(n, end - start, (first or end) - start, "".join(parts) == tok_text(n))


def _api_once(client: Any, app: App, n: int) -> Run:
    """``gradio_client``: ``client.submit(msg, api_name="/chat")``, then wait for the final result.

    The time includes gradio_client's own per-call overhead (a new ``httpx`` client, i.e. a new
    SSL context, per request; a reader loop that sleeps 50 ms when idle).
    """
    cpu0 = app.cpu_seconds()
    start = time.monotonic()
    job = client.submit(f"[[test tokens={n}]] via api", api_name="/chat")
    final = job.result(timeout=120)
    end = time.monotonic()
    text = answer_of(final)
    ok = text == tok_text(n)
    note = "" if ok else first_difference(text, tok_text(n))
    return Run(n, end - start, None, ok, note, cpu=app.cpu_seconds() - cpu0)


async def _sse_once(http: httpx.AsyncClient, app: App, fn_index: int, template: list[Any], n: int) -> Run:
    v = await visit(http, app.url, fn_index, template, f"[[test tokens={n}]] via sse")
    ok = not v.error and v.text == tok_text(n) and v.streamed == tok_text(n)
    return Run(n, (v.done or v.submitted) - v.submitted, v.ttft, ok, v.error)


def paired_bench(
    app: App, llm: LLMServer, sizes: list[int], runs: int
) -> tuple[dict[int, list[Run]], dict[int, list[Run]], list[Run]]:
    """Direct client, app API and (at ``SSE_TOKENS``) the app timed at the SSE bytes, back to back.

    Each run does all of them one right after the other (in alternating order), so they meet the
    same load from whatever else runs on the machine; ratios are taken per run. Every client is
    kept warm (pooled connections) across runs, and the first run of each length is a warm-up.
    """
    import openai
    from gradio_client import Client

    log(f"direct client vs app API vs app SSE: {sizes} tokens x {runs} runs")
    fn_index, template = chat_template(app)
    loop = asyncio.new_event_loop()
    direct_client = openai.AsyncOpenAI(base_url=llm.base_url, api_key="sk-bench", max_retries=0, timeout=120)
    http = httpx.AsyncClient(timeout=120)
    client = Client(app.url, verbose=False)
    direct: dict[int, list[Run]] = {}
    api: dict[int, list[Run]] = {}
    sse: list[Run] = []
    try:
        for n in sizes:
            direct[n], api[n] = [], []
            for i in range(runs + 1):
                got: dict[str, Run] = {}
                steps = ["direct", "api", "sse"] if i % 2 else ["sse", "api", "direct"]
                for step in steps:
                    if step == "direct":
                        got[step] = loop.run_until_complete(_direct_once(direct_client, n))
                    elif step == "api":
                        got[step] = _api_once(client, app, n)
                    elif n == SSE_TOKENS:
                        got[step] = loop.run_until_complete(_sse_once(http, app, fn_index, template, n))
                if i:
                    direct[n].append(got["direct"])
                    api[n].append(got["api"])
                    if "sse" in got:
                        sse.append(got["sse"])
    finally:
        client.close()
        loop.run_until_complete(direct_client.close())
        loop.run_until_complete(http.aclose())
        loop.close()
    return direct, api, sse
