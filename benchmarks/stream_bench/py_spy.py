"""Part D: where the app's CPU goes while it streams, from py-spy's samples of its stacks."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from benchmarks.common.bench_app import App
from benchmarks.common.gradio_queue import chat_template, visit
from benchmarks.common.log import log
from benchmarks.common.paths import PYTHON


def _has(stack: str, *needles: str) -> bool:
    return any(needle in stack for needle in needles)


MIDDLEWARE = ("llmchat/web/csp.py", "llmchat/web/route_guard.py")


def categorize(stack: str) -> str:
    """Which part of the app a py-spy stack sample belongs to (most specific first)."""
    # llmchat's ASGI middleware wraps every request Gradio serves: what runs inside is not llmchat's.
    stack = ";".join(frame for frame in stack.split(";") if not _has(frame, *MIDDLEWARE))
    upstream = _has(stack, "stream_deltas (llmchat/engine/stream.py", "openai/_streaming.py", "AsyncStream")
    if _has(stack, "openai/_models.py", "_process_response_data"):
        return "openai: chunk dict -> typed objects (construct_type)"
    if upstream and _has(stack, "httpx2/", "httpcore2/", "h11/", "anyio/"):
        return "httpx2/httpcore2/h11: reading the LLM's HTTP stream"
    if _has(stack, "openai/_streaming.py"):
        return "openai: SSE line decoding + json.loads"
    if _has(stack, "stream_deltas (llmchat/engine/stream.py"):
        return "llmchat: stream_deltas (request, per-chunk fields)"
    if _has(stack, "llmchat/core/coalesce.py"):
        return "llmchat: coalescer"
    if _has(stack, "create_default_context", "load_verify_locations", "SSLContext"):
        return "SSL context of a new HTTP client"
    if _has(stack, "llmchat/engine/budget.py", "llmchat/engine/http.py"):
        return "llmchat: probes and token counts (context budget)"
    if _has(stack, "llmchat/core/safe_markdown.py", "llmchat/web/convert.py"):
        return "llmchat: TurnView -> chat messages (safe_markdown)"
    if _has(stack, "llmchat/"):
        return "llmchat: chat service (checks, TurnView, ThinkSplitter)"
    if _has(stack, "Queue.process_events", "call_process_api"):
        if _has(stack, "get_config", "config_for_block", "(inspect.py"):
            return "gradio per yield: component configs (inspect.signature)"
        if _has(stack, "postprocess"):
            return "gradio per yield: postprocess"
        if _has(stack, "diff (gradio/utils.py"):
            return "gradio per yield: diff of outputs"
        return "gradio per yield: other (state, queue bookkeeping)"
    if _has(stack, "sse_stream", "process_msg"):
        return "gradio: SSE messages to the visitor (JSON + send)"
    if _has(stack, "queue_join", "Queue.push", "SessionState"):
        return "gradio: accepting the request (queue/join, session)"
    if _has(stack, "start_processing", "start_progress_updates"):
        return "gradio: queue polling loops (1 ms / 10 ms sleeps)"
    if _has(stack, "uvicorn/", "starlette/", "fastapi/", "h11/"):
        return "uvicorn/starlette: HTTP serving"
    if _has(stack, "asyncio/"):
        return "asyncio: event loop itself"
    return "other"


# Leaf frames of threads that wait: py-spy cannot always tell waiting in C from running.
IDLE_LEAVES = (
    "EpollSelector.select (selectors.py",
    "Blocks.block_thread (gradio/blocks.py",
    "launch (llmchat/cli/web.py",  # the main thread sleeps while uvicorn serves
    "_worker (concurrent/futures/thread.py",
    "Condition.wait (threading.py",
    "Event.wait (threading.py",
    "Queue.get (queue.py",
)


def find_py_spy() -> str | None:
    for candidate in (shutil.which("py-spy"), str(Path(PYTHON).parent / "py-spy")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@contextlib.contextmanager
def py_spy_record(py_spy: str, pid: int, out: Path) -> Iterator[None]:
    """Sample ``pid``'s threads with py-spy until the block ends."""
    spy = subprocess.Popen(  # noqa: S603
        [py_spy, "record", "-p", str(pid), "-r", "250", "-f", "raw", "-o", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(1.0)  # py-spy attaches
        yield
        time.sleep(0.2)
    finally:
        spy.send_signal(signal.SIGINT)
        try:
            spy.wait(30)
        except subprocess.TimeoutExpired:
            spy.kill()
            spy.wait(5)


def profile_bench(app: App, py_spy: str, work: Path) -> dict[str, Any]:
    """A py-spy profile of the app while it streams 4000-token answers at full speed.

    (Many short answers at LLM speed are not profiled here: py-spy's samples of a mostly idle event
    loop are unreliable. ``--app-dir`` A/B runs measure those costs better.)
    """
    fn_index, template = chat_template(app)
    scenarios = {
        "fast": ("5 answers of 4000 tokens, one after another, server at full speed", 5, 4000, 0.0, False),
    }
    out: dict[str, Any] = {}
    for key, (title, count, tokens, delay, together) in scenarios.items():
        log(f"profiling the app with py-spy: {title}")
        raw = work / f"profile-{key}.txt"

        async def go(
            count: int = count, tokens: int = tokens, delay: float = delay, together: bool = together
        ) -> int:
            message = f"[[test tokens={tokens} delay={delay}]] profile"
            limits = httpx.Limits(max_connections=2 * count + 10, max_keepalive_connections=2 * count + 10)
            async with httpx.AsyncClient(timeout=120, limits=limits) as http:
                if together:
                    visits = await asyncio.gather(
                        *(visit(http, app.url, fn_index, template, message) for _ in range(count))
                    )
                else:
                    visits = [await visit(http, app.url, fn_index, template, message) for _ in range(count)]
            return sum(v.updates for v in visits)

        with py_spy_record(py_spy, app.proc.pid, raw):
            user0, sys0 = app.cpu_split()
            start = time.monotonic()
            updates = asyncio.run(go())
            wall = time.monotonic() - start
            user1, sys1 = app.cpu_split()
        if not raw.exists():
            out[key] = {"title": title, "error": "py-spy wrote no profile"}
            continue
        summary = summarize_profile(raw, user1 - user0 + sys1 - sys0, wall, count * tokens)
        summary.update(title=title, user_s=user1 - user0, sys_s=sys1 - sys0, updates=updates)
        out[key] = summary
    return out


def summarize_profile(path: Path, cpu: float, wall: float, tokens: int) -> dict[str, Any]:
    categories: dict[str, int] = {}
    functions: dict[str, int] = {}
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        leaf = stack.rsplit(";", 1)[-1].strip()
        if leaf.startswith(IDLE_LEAVES):
            continue  # a thread waiting (py-spy cannot always tell waiting from running)
        total += count
        name = categorize(stack)
        categories[name] = categories.get(name, 0) + count
        functions[leaf] = functions.get(leaf, 0) + count
    total = max(total, 1)
    per_token_ms = cpu / tokens * 1000
    rows = [
        {"category": k, "share": v / total, "us_per_token": per_token_ms * 1000 * v / total}
        for k, v in sorted(categories.items(), key=lambda kv: -kv[1])
    ]
    top = [
        {"function": k, "share": v / total} for k, v in sorted(functions.items(), key=lambda kv: -kv[1])[:12]
    ]
    return {
        "samples": total,
        "cpu_s": cpu,
        "wall_s": wall,
        "tokens": tokens,
        "ms_per_token": per_token_ms,
        "categories": rows,
        "top_functions": top,
        "raw": str(path),
    }
