"""How fast do answers reach visitors? Direct ``openai`` client vs. the app's API vs. a real browser.

Run ``.venv/bin/python -m benchmarks.stream_bench`` (full, a few minutes) or ``--quick``. It starts
everything itself on 127.0.0.1 and stops it again:

- the project's fake LLM server (``llmchat.testing.openai_server``) in a child process, streaming as
  fast as it can (no delay between tokens), see ``benchmarks/llm_server.py``;
- the app as a child process (``gradio_app.py --config-dir TMP --preset bench``), so its CPU time
  can be read from ``/proc/<pid>/stat`` without counting the clients or the LLM server;
- Debian's Chromium through Playwright for the browser figures.

Every figure is a median over several runs (``--api-runs``, ``--runs``), each after a warm-up.
See benchmarks/README.md for what each figure means and why it is measured the way it is.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from llmchat.cli import DEFAULT_CONCURRENCY
from llmchat.ports import free_port

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PRESET = "bench"
# The chat's text box: llmchat's elem_id, or the English placeholder (older versions).
TEXTBOX = "#llmchat-input textarea, textarea[placeholder='Ask a question']"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEFAULT_PNG = ROOT / "docs" / "bench_stream.png"
LOW_CONCURRENCY = 64  # llmchat's default before it was measured too low for 100 visitors

# Targets from issue 5.
TARGET_API_RATIO = 1.5  # app API time for 4000 tokens <= 1.5 x direct client
TARGET_CPU_MS_PER_TOKEN = 0.1
TARGET_TTFT_EXTRA_MS = 20.0  # app TTFT <= direct TTFT + 20 ms
TARGET_BROWSER_AFTER_LAST_S = 1.5  # 4000 tokens fully shown <= 1.5 s after the server's last token
TARGET_BROWSER_8K_RATIO = 2.2  # 8000-token time <= 2.2 x 4000-token time
TARGET_CROWD_P95_S = {20: 0.5, 100: 2.0}


# ----- small helpers ---------------------------------------------------------------------------------


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), q in [0, 100]."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def tok_text(n: int) -> str:
    """What the test server streams for ``tokens=n``."""
    return " ".join(f"tok{i}" for i in range(n))


JAPANESE = ["日本語の答えです。", "「ストリーミング」を確認、", "漢字とかなカナ。", "東京は晴れ。"]


def mixed_text(n: int) -> str:
    """An answer of exactly ``n`` stream tokens, ASCII words mixed with Japanese sentences.

    The test server streams long Japanese runs one character per chunk, so multi-byte text is cut
    at every possible place; nothing in it means anything to Markdown, so the rendered text must
    equal it character for character.
    """
    from llmchat.testing.scripting import split_tokens

    parts: list[str] = []
    count = i = 0
    while count < n:
        if i % 9 == 8 and n - count > 20:
            piece = JAPANESE[(i // 9) % len(JAPANESE)] + " "
            count += len(split_tokens(piece))
        else:
            piece = f"w{i} "
            count += 1
        parts.append(piece)
        i += 1
    text = "".join(parts).rstrip()
    assert len(split_tokens(text)) == n, (n, len(split_tokens(text)))
    return text


def crowd_reply(visitor: int, n: int) -> str:
    """A different answer for every visitor, so text crossing sessions would be caught."""
    return " ".join(f"日本{visitor % 100}" if i % 20 == 10 else f"v{visitor}w{i}" for i in range(n))


def answer_of(output: Any) -> str:
    """The answer text of a chat output: a string, or the messages without llmchat's titled notes."""
    if isinstance(output, str):
        return output
    if isinstance(output, (list, tuple)):
        texts = []
        for item in output:
            if isinstance(item, dict) and not (item.get("metadata") or {}).get("title"):
                content = item.get("content")
                if isinstance(content, str):
                    texts.append(content)
        return "".join(texts)
    return "" if output is None else str(output)


def first_difference(a: str, b: str) -> str:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return f"first difference at char {i}: {a[i : i + 20]!r} vs {b[i : i + 20]!r}"
    return f"lengths {len(a)} vs {len(b)}"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ----- child processes -------------------------------------------------------------------------------


class LLMServer:
    """``benchmarks.llm_server`` in a child process, plus its remote control."""

    def __init__(self, log_path: Path) -> None:
        self._log = open(log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [PYTHON, "-m", "benchmarks.llm_server", "--port", "0"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(self.proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(30)
        if not line or not line[0].strip().isdigit():
            self.stop()
            raise RuntimeError(f"LLM test server did not start; see {log_path}")
        self.port = int(line[0])
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=10)

    def streams(self) -> list[dict[str, Any]]:
        return self.http.get("/bench/streams").json()

    def enqueue(self, **behavior: Any) -> None:
        self.http.post("/bench/enqueue", json=behavior).raise_for_status()

    def clear(self) -> None:
        self.http.post("/bench/clear").raise_for_status()

    def last_stream(self, timeout: float = 10.0) -> dict[str, Any]:
        """The latest stream once it has ended (its ``ended_at`` is the last chunk's time)."""
        deadline = time.monotonic() + timeout
        while True:
            streams = self.streams()
            if streams and streams[-1]["ended_at"] is not None:
                return streams[-1]
            if time.monotonic() > deadline:
                raise TimeoutError(f"no ended stream after {timeout}s: {streams[-1:]}")
            time.sleep(0.02)

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.http.close()
        if self.proc.poll() is None:
            with contextlib.suppress(Exception):
                self.proc.stdin.close()  # the server exits when its stdin closes
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()


PRESET_YAML = """\
name: Bench
mode: qa
base_url: {base_url}
api_key: sk-bench-not-a-secret
model: test-model
system_prompt: ""
temperature: 0.0
max_tokens: 100000
max_tokens_limit: 100000
timeout: 120
show_stats: false
stream_usage: false
"""


class App:
    """``gradio_app.py`` in a child process, with a preset pointing at the LLM test server."""

    def __init__(
        self,
        llm: Any,
        concurrency: int,
        work: Path,
        app_dir: Path = ROOT,
        preset_yaml: str = PRESET_YAML,
        name: str = "",
    ) -> None:
        """``llm``: anything with a ``base_url``; ``preset_yaml`` is formatted with it."""
        self.concurrency = concurrency
        self.app_dir = app_dir
        config_dir = work / f"configs-{name}{concurrency}"
        config_dir.mkdir(parents=True, exist_ok=True)
        yaml = preset_yaml.format(base_url=llm.base_url)
        self.log_path = work / f"app-{name}{concurrency}.log"
        for _attempt in range(3):
            (config_dir / f"{PRESET}.yaml").write_text(yaml, encoding="utf-8")
            self.port = free_port()
            self.url = f"http://127.0.0.1:{self.port}/"
            self._start(config_dir)
            if self._wait_ready(90):
                return
            # Presets are validated strictly: drop an optional key this version does not know.
            text = self.log_path.read_text(errors="replace")
            unknown = [k for k in ("show_stats", "stream_usage") if f"unknown key '{k}'" in text]
            if not unknown:
                break
            yaml = "".join(line for line in yaml.splitlines(True) if line.split(":")[0] not in unknown)
        raise RuntimeError(f"the app did not start; see {self.log_path}")

    def _start(self, config_dir: Path) -> None:
        env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", PYTHONUNBUFFERED="1")
        env.pop("LLMCHAT_CONCURRENCY", None)
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        cmd = [PYTHON, "gradio_app.py", "--config-dir", str(config_dir), "--preset", PRESET]
        cmd += ["--host", "127.0.0.1", "--port", str(self.port), "--concurrency", str(self.concurrency)]
        self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and app
            cmd, cwd=self.app_dir, env=env, stdout=self._log, stderr=subprocess.STDOUT
        )

    def _wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._log.close()
                return False
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "gradio_api/info", timeout=2).status_code == 200:
                    return True
            time.sleep(0.1)
        self.stop()
        return False

    def cpu_split(self) -> tuple[float, float]:
        """User and system CPU seconds of the app process (all its threads) so far."""
        stat = Path(f"/proc/{self.proc.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        tick = os.sysconf("SC_CLK_TCK")
        return int(fields[11]) / tick, int(fields[12]) / tick

    def cpu_seconds(self) -> float:
        return sum(self.cpu_split())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        with contextlib.suppress(Exception):
            self._log.close()


# ----- 1. the direct openai client -------------------------------------------------------------------


@dataclass
class Run:
    tokens: int
    total: float  # seconds from request to the complete answer
    ttft: float | None = None  # seconds from request to the first non-empty piece of text
    ok: bool = True  # the text received equals what the server sent
    note: str = ""
    cpu: float | None = None  # app CPU seconds spent on this answer
    after_last: float | None = None  # browser: fully shown, seconds after the server's last chunk
    join: float | None = None  # browser: Enter -> the page sends queue/join
    llm_request: float | None = None  # browser: Enter -> the request reaches the LLM server


# ----- 2. through the app's API ---------------------------------------------------------------------


def chat_template(app: App) -> tuple[int, list[Any]]:
    """fn_index and the full input list (hidden state included) of the ``/chat`` endpoint."""
    from gradio_client import Client
    from gradio_client import utils as gc_utils

    client = Client(app.url, verbose=False)
    try:
        fn_index = client._infer_fn_index("/chat", None)
        endpoint = client.endpoints[fn_index]
        args = gc_utils.construct_args(endpoint.parameters_info, ("",), {})
        return fn_index, list(endpoint.insert_empty_state(*args))
    finally:
        client.close()


@dataclass
class Visit:
    """One visitor's answer, read straight off Gradio's queue stream (SSE)."""

    submitted: float
    first: float | None = None  # first message carrying answer text
    last: float | None = None  # the message that made the answer text what it finally was
    started: float | None = None  # ``process_starts``: the queue gave this visitor a worker
    done: float | None = None
    text: str = ""  # final output
    streamed: str = ""  # the text rebuilt from the streamed diffs
    updates: int = 0
    error: str = ""

    @property
    def ttft(self) -> float:
        return (self.first or self.done or float("inf")) - self.submitted


async def visit(
    http: httpx.AsyncClient, app_url: str, fn_index: int, template: list[Any], message: str
) -> Visit:
    """What the browser's Gradio client does: POST queue/join, then read queue/data (SSE).

    Every message is timestamped the moment its bytes arrive, so TTFT is not blurred by any
    polling. The streamed diffs are applied as gradio_client does, to check the streamed text too.
    """
    from gradio_client.utils import apply_diff

    session = uuid.uuid4().hex[:12]
    data = list(template)
    data[0] = message
    result = Visit(submitted=time.monotonic())
    current: Any = None
    seen_first_output = False
    try:
        join = await http.post(
            app_url + "gradio_api/queue/join",
            json={"data": data, "fn_index": fn_index, "session_hash": session, "trigger_id": None},
        )
        join.raise_for_status()
        async with http.stream(
            "GET", app_url + "gradio_api/queue/data", params={"session_hash": session}
        ) as r:
            buffer = b""
            async for chunk in r.aiter_bytes():
                now = time.monotonic()
                buffer += chunk
                while b"\n\n" in buffer:
                    event, buffer = buffer.split(b"\n\n", 1)
                    line = event.decode().strip()
                    if not line.startswith("data:"):
                        continue
                    msg = json.loads(line[5:])
                    kind = msg.get("msg")
                    if kind == "process_starts":
                        result.started = now
                    elif kind == "process_generating":
                        value = msg["output"]["data"][0]
                        before = answer_of(current)
                        current = apply_diff(current, value) if seen_first_output else value
                        seen_first_output = True
                        result.updates += 1
                        if answer_of(current) != before:
                            result.last = now
                        if result.first is None and answer_of(current):
                            result.first = now
                    elif kind == "process_completed":
                        result.done = now
                        if not msg.get("success", True):
                            result.error = str(msg.get("output", {}).get("error"))
                        result.text = answer_of(msg["output"].get("data", [None])[0])
                        result.streamed = answer_of(current)
                        if result.first is None and result.text:
                            result.first = now
                        return result
                    elif kind in ("close_stream", "unexpected_error", "queue_full"):
                        result.error = f"{kind}: {msg}"
                        return result
        result.error = result.error or "stream ended without process_completed"
    except Exception as exc:
        result.error = f"{type(exc).__name__}: {exc}"
    return result


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


# ----- 3. a real browser ----------------------------------------------------------------------------

# All browser times are taken inside the page (performance.now(), checked on every animation frame),
# so the DevTools round trip to Python does not count. ``window.__bench`` collects them.
INSTRUMENT_JS = """() => {
  window.__bench = {};
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') window.__bench.key = performance.now();
  }, true);
}"""
# The bot messages' rendered text (not their aria-label, which holds the raw Markdown).
FIRST_TEXT_JS = """(count) => {
  const els = document.querySelectorAll('[data-testid="bot"] .message-content');
  if (els.length < count || !els[els.length - 1].textContent.trim()) return false;
  window.__bench.first = performance.now();
  return true;
}"""
FULL_TEXT_JS = """([expected, count]) => {
  const els = document.querySelectorAll('[data-testid="bot"] .message-content');
  if (els.length < count) return false;
  const text = els[els.length - 1].textContent;
  if (text.length < expected.length || text.trim() !== expected) return false;
  window.__bench.full = performance.now();
  return true;
}"""
RESULT_JS = """() => {
  const b = window.__bench;
  const joins = performance.getEntriesByType('resource')
    .filter((e) => e.name.includes('/queue/join') && e.startTime >= b.key);
  const els = document.querySelectorAll('[data-testid="bot"] .message-content');
  return {key: b.key, first: b.first, full: b.full, join: joins.length ? joins[0].startTime : null,
          now: performance.now(), text: els.length ? els[els.length - 1].textContent.trim() : ''};
}"""


def _page_clock_offset(page: Any) -> float:
    """monotonic seconds minus page seconds (performance.now()), to within half a round trip."""
    before = time.monotonic()
    page_now = page.evaluate("performance.now()") / 1000
    after = time.monotonic()
    return (before + after) / 2 - page_now


def _ask_in_page(
    page: Any, box: Any, llm: LLMServer, text: str, count: int, question: str, delay: float = 0.0
) -> dict[str, Any]:
    """Type ``question``, press Enter, wait until bot message number ``count`` shows ``text`` in full."""
    box.fill(question)
    llm.clear()
    llm.enqueue(reply=text, delay=delay)
    offset = _page_clock_offset(page)
    box.press("Enter")
    page.wait_for_function(FIRST_TEXT_JS, arg=count, polling="raf", timeout=60_000)
    note = ""
    try:
        page.wait_for_function(FULL_TEXT_JS, arg=[text, count], polling="raf", timeout=120_000)
    except Exception as exc:  # a wrong text never matches: say below how it differs
        note = f"not shown in full: {type(exc).__name__}"
    got = page.evaluate(RESULT_JS)
    stream = llm.last_stream()
    got.update(note=note, offset=offset, llm_started=stream["started_at"], llm_ended=stream["ended_at"])
    return got


def browser_bench(
    app: App, llm: LLMServer, sizes: list[int], runs: int, chromium: str, delay: float = 0.0
) -> dict[int, list[Run]]:
    """Per run, a fresh page: a short warm-up question, then the measured one.

    Measured (page clock): Enter -> first answer text on the page -> the whole answer on the page,
    compared character for character with what the server sent. The server's own clock gives
    "shown after the server's last token" and when the request reached the LLM server.
    """
    from playwright.sync_api import sync_playwright

    speed = f", {delay * 1000:.0f} ms between tokens" if delay else ""
    log(f"browser (Chromium): {sizes} tokens x {runs} runs{speed}")
    results: dict[int, list[Run]] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        try:
            for n in sizes:
                expected = mixed_text(n)
                results[n] = []
                for i in range(runs + 1):
                    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-US")
                    try:
                        page.goto(app.url, wait_until="load", timeout=60_000)
                        locator = page.locator(TEXTBOX).first
                        locator.wait_for(timeout=60_000)
                        box = locator.element_handle()  # the placeholder is gone after the first answer
                        page.evaluate(INSTRUMENT_JS)
                        _ask_in_page(page, box, llm, mixed_text(20), 1, "A short warm-up question.")
                        page.wait_for_timeout(300)  # let the UI re-enable the textbox
                        question = f"Answer #{i} with {n} tokens, please."
                        got = _ask_in_page(page, box, llm, expected, 2, question, delay)
                    finally:
                        page.close()
                    key, offset = got["key"] / 1000, got["offset"]
                    full = got["full"] / 1000 if got["full"] is not None else got["now"] / 1000
                    note = got["note"]
                    ok = got["text"] == expected
                    if not ok:
                        note = (note + "; " if note else "") + first_difference(got["text"], expected)
                    run = Run(n, full - key, got["first"] / 1000 - key, ok, note)
                    run.after_last = full + offset - got["llm_ended"]
                    run.join = got["join"] / 1000 - key if got["join"] is not None else None
                    run.llm_request = got["llm_started"] - offset - key
                    if i:  # the first page of each size warms up the browser cache
                        results[n].append(run)
        finally:
            browser.close()
    return results


# ----- 4. many visitors at once ---------------------------------------------------------------------


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


# ----- profile ----------------------------------------------------------------------------------------


def _has(stack: str, *needles: str) -> bool:
    return any(needle in stack for needle in needles)


def categorize(stack: str) -> str:
    """Which part of the app a py-spy stack sample belongs to (most specific first)."""
    upstream = _has(stack, "stream_deltas (llmchat/client.py", "openai/_streaming.py", "AsyncStream")
    if _has(stack, "openai/_models.py", "_process_response_data"):
        return "openai: chunk dict -> typed objects (construct_type)"
    if upstream and _has(stack, "httpx2/", "httpcore2/", "h11/", "anyio/"):
        return "httpx2/httpcore2/h11: reading the LLM's HTTP stream"
    if _has(stack, "openai/_streaming.py"):
        return "openai: SSE line decoding + json.loads"
    if _has(stack, "stream_deltas (llmchat/client.py"):
        return "llmchat: stream_deltas (request, per-chunk fields)"
    if _has(stack, "llmchat/streaming.py"):
        return "llmchat: coalescer"
    if _has(stack, "llmchat/"):
        return "llmchat: chat fn (validation, ReplyView, ThinkSplitter)"
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
    "launch (llmchat/cli.py",  # the main thread sleeps while uvicorn serves
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


# ----- output -----------------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def ms(seconds: float | None) -> str:
    return "-" if seconds is None or seconds != seconds else f"{seconds * 1000:.1f} ms"


def sec(seconds: float | None) -> str:
    return "-" if seconds is None or seconds != seconds else f"{seconds:.3f} s"


def _med(runs: list[Run], attr: str) -> float:
    return median([getattr(r, attr) for r in runs if getattr(r, attr) is not None])


def _paired(a: list[Run], b: list[Run], how: str) -> float:
    """Median over runs of a/b total time ("ratio") or a-b TTFT ("ttft_diff"); runs were made in pairs."""
    if how == "ratio":
        values = [x.total / y.total for x, y in zip(a, b, strict=False) if y.total > 0]
    else:
        values = [
            x.ttft - y.ttft for x, y in zip(a, b, strict=False) if x.ttft is not None and y.ttft is not None
        ]
    return median(values)


def report(res: dict[str, Any]) -> tuple[str, bool]:
    direct, api, sse, browser = res["direct"], res["api"], res.get("sse", []), res.get("browser", {})
    out: list[str] = []

    rows = []
    for n in sorted(set(direct) | set(api) | set(browser)):
        d, a, b = direct.get(n, []), api.get(n, []), browser.get(n, [])
        cpu = [r.cpu / n * 1000 for r in a if r.cpu is not None]
        exact = all(r.ok for r in [*d, *a, *b])
        rows.append(
            [
                f"{n}",
                sec(_med(d, "total")),
                ms(_med(d, "ttft")),
                sec(_med(a, "total")),
                f"{_paired(a, d, 'ratio'):.2f}x" if d and a else "-",
                f"{median(cpu):.3f}" if cpu else "-",
                sec(_med(b, "total")) if b else "-",
                ms(_med(b, "ttft")) if b else "-",
                sec(_med(b, "after_last")) if b else "-",
                "yes" if exact else "NO",
            ]
        )
    out.append(
        f"A. Answer time by length: median of {res['runs']} runs ({res['browser_runs']} in the browser); "
        "the LLM test server streams with no delay"
    )
    out.append(
        table(
            rows,
            [
                "tokens",
                "direct openai",
                "direct TTFT",
                "app API",
                "API/direct (paired)",
                "app CPU ms/tok",
                "browser",
                "browser 1st text",
                "browser after last tok",
                "text exact",
            ],
        )
    )

    checks: list[tuple[str, str, str, bool | None]] = []  # figure, measured, target, ok
    d4, a4 = direct.get(4000, []), api.get(4000, [])
    dt, at, dttft = _med(d4, "total"), _med(a4, "total"), _med(d4, "ttft")  # medians; ratios are paired
    checks.append(("1. direct openai client: 4000 tokens", sec(dt), "baseline", None))
    checks.append(("1. direct openai client: TTFT", ms(dttft), "baseline", None))
    checks.append(
        (
            "2. app API (gradio_client): 4000 tokens",
            f"{sec(at)} = {_paired(a4, d4, 'ratio'):.2f}x direct",
            f"<= {TARGET_API_RATIO}x direct",
            _paired(a4, d4, "ratio") <= TARGET_API_RATIO,
        )
    )
    cpu_tokens = sum(r.tokens for r in a4 if r.cpu is not None)
    cpu_ms = sum(r.cpu for r in a4 if r.cpu is not None) / cpu_tokens * 1000 if cpu_tokens else float("nan")
    checks.append(
        (
            "2. app CPU per token (4000-token answers)",
            f"{cpu_ms:.3f} ms",
            f"<= {TARGET_CPU_MS_PER_TOKEN} ms",
            cpu_ms <= TARGET_CPU_MS_PER_TOKEN,
        )
    )
    if sse:
        sttft, extra = _med(sse, "ttft"), _paired(sse, d4, "ttft_diff")
        checks.append(
            (
                "2. app TTFT (timed at the SSE bytes)",
                f"{ms(sttft)} = direct + {ms(extra)}",
                f"<= direct + {TARGET_TTFT_EXTRA_MS:.0f} ms",
                extra * 1000 <= TARGET_TTFT_EXTRA_MS,
            )
        )
        checks.append(
            (
                "   app 4000 tokens timed at the SSE bytes",
                f"{sec(_med(sse, 'total'))} = {_paired(sse, d4, 'ratio'):.2f}x direct",
                "-",
                None,
            )
        )
        checks.append(
            (
                "   SSE texts exact (final and rebuilt from diffs)",
                f"{sum(r.ok for r in sse)}/{len(sse)}",
                "all",
                all(r.ok for r in sse),
            )
        )
    if res.get("idle_cpu_ms_per_s") is not None:
        checks.append(("   app CPU while idle", f"{res['idle_cpu_ms_per_s']:.0f} ms/s", "-", None))
    if 4000 in browser:
        b4 = browser[4000]
        after = _med(b4, "after_last")
        checks.append(
            (
                "3. browser: 4000 tokens fully shown after server's last token",
                sec(after),
                f"<= {TARGET_BROWSER_AFTER_LAST_S} s",
                after <= TARGET_BROWSER_AFTER_LAST_S,
            )
        )
        checks.append(("   browser: Enter -> 4000 tokens fully shown", sec(_med(b4, "total")), "-", None))
        steps = " / ".join(f"{_med(b4, attr) * 1000:.0f}" for attr in ("join", "llm_request", "ttft"))
        checks.append(
            ("   browser: Enter -> queue/join sent / at LLM server / 1st text", f"{steps} ms", "-", None)
        )
        if 8000 in browser:
            t4, t8 = _med(b4, "total"), _med(browser[8000], "total")
            checks.append(
                (
                    "3. browser: 8000-token time / 4000-token time",
                    f"{t8:.2f} s / {t4:.2f} s = {t8 / t4:.2f}",
                    f"<= {TARGET_BROWSER_8K_RATIO}",
                    t8 / t4 <= TARGET_BROWSER_8K_RATIO,
                )
            )
        live = res.get("browser_live") or []
        if live:
            rate = f"{live[0].tokens} tokens at {1 / res['crowd_delay']:.0f} tokens/s"
            steps = " / ".join(f"{_med(live, attr) * 1000:.0f}" for attr in ("join", "llm_request", "ttft"))
            checks.append(
                (f"   browser, {rate}: Enter -> join / at LLM / 1st text", f"{steps} ms", "-", None)
            )
            checks.append(
                (
                    f"   browser, {rate}: shown after server's last token",
                    sec(_med(live, "after_last")),
                    "-",
                    None,
                )
            )
        exact = [r for runs in [*browser.values(), live] for r in runs]
        checks.append(
            (
                "3. browser text == server text (incl. Japanese)",
                f"{sum(r.ok for r in exact)}/{len(exact)} runs",
                "all",
                all(r.ok for r in exact),
            )
        )
        for r in exact:
            if not r.ok:
                checks.append((f"   browser {r.tokens} tokens: {r.note}"[:110], "", "", None))
    out.append("")
    out.append("B. Figures vs targets")
    out.append(
        table(
            [[f, m, t, "" if ok is None else verdict(ok)] for f, m, t, ok in checks],
            ["figure", "measured", "target", ""],
        )
    )
    passed = all(ok for *_, ok in checks if ok is not None)

    crowds: list[Crowd] = res.get("crowd", [])
    if crowds:
        out.append("")
        out.append(
            f"C. Visitors sending at the same moment: {res['crowd_tokens']} tokens each, "
            f"{res['crowd_delay'] * 1000:.0f} ms between tokens ({1 / res['crowd_delay']:.0f} tokens/s "
            "per answer); TTFT = POST queue/join -> first text on the SSE stream; "
            f"median over {len(crowds[0].rounds)} rounds"
        )
        rows = []
        for c in crowds:
            target = TARGET_CROWD_P95_S.get(c.visitors)
            ok = None if target is None else c.med("p95") <= target and c.bad_texts == 0 and c.waited == 0
            if ok is not None:
                passed = passed and ok
            rows.append(
                [
                    f"{c.visitors}",
                    f"{c.concurrency}",
                    ms(c.med("p50")),
                    ms(c.med("p95")),
                    ms(max(r["max"] for r in c.rounds)),
                    f"<= {target} s" if target else "-",
                    "" if ok is None else verdict(ok),
                    f"{c.bad_texts}",
                    f"{c.waited}",
                    f"{max(r['max_at_once'] for r in c.rounds)}",
                    f"{min(r['server_finished'] for r in c.rounds)}/{c.visitors}",
                    f"{c.med('app_cpu_s') / (c.visitors * res['crowd_tokens']) * 1000:.2f}",
                ]
            )
        out.append(
            table(
                rows,
                [
                    "visitors",
                    "--concurrency",
                    "TTFT p50",
                    "TTFT p95",
                    "TTFT max",
                    "target p95",
                    "",
                    "wrong texts",
                    "waited behind another",
                    "most answers at once",
                    "streams finished",
                    "app CPU ms/tok",
                ],
            )
        )
        errors = sorted({e for c in crowds for r in c.rounds for e in r["errors"]})
        if errors:
            out.append("errors: " + "; ".join(errors)[:500])
    for prof in (res.get("profile") or {}).values():
        out.append("")
        if "categories" not in prof:
            out.append(f"D. Profile ({prof.get('title')}): {prof.get('error')}")
            continue
        out.append(
            f"D. Where the app's CPU goes: {prof['title']} (py-spy, {prof['samples']} busy samples). "
            f"{prof['tokens']} tokens, {prof['updates']} UI updates, {prof['wall_s']:.2f} s wall, "
            f"app CPU {prof['cpu_s']:.2f} s ({prof['user_s']:.2f} user + {prof['sys_s']:.2f} sys) "
            f"= {prof['ms_per_token']:.3f} ms/token"
        )
        out.append(
            table(
                [
                    [c["category"], f"{c['share'] * 100:.1f} %", f"{c['us_per_token']:.1f} us"]
                    for c in prof["categories"]
                ],
                ["category (share of busy samples)", "share", "per token"],
            )
        )
    if res.get("embedded"):
        from benchmarks.embedded_rate import TARGET_RATIO, summarize

        e = summarize(res["embedded"])
        out.append("")
        out.append(
            f"E. Local model (SmolLM2 on llama_cpp.server, {res['embedded']['n_threads']} thread(s), "
            f"~{e['tokens'] or 0:.0f}-token answers, median of {len(res['embedded']['runs'])} runs): "
            "tokens/s"
        )
        ok = e["ratio"] is not None and e["ratio"] >= TARGET_RATIO
        passed = passed and ok
        direct = e["direct"] or 0

        def vs_direct(rate: float | None) -> str:
            return f"{(rate or 0) / direct:.3f}x" if direct else "-"

        rows = [
            ["llama.cpp's own decode rate (its log: eval time)", f"{e['server'] or 0:.1f}", "1.000x",
             vs_direct(e["server"]), "", ""],
            ["direct openai client", f"{direct:.1f}", f"{e['direct_ratio'] or 0:.3f}x", "1.000x", "", ""],
            ["visitor, through the app", f"{e['visitor'] or 0:.1f}", f"{e['ratio'] or 0:.3f}x",
             vs_direct(e["visitor"]), f">= {TARGET_RATIO}x llama.cpp's", verdict(ok)],
        ]  # fmt: skip
        out.append(
            table(rows, ["seen by", "tokens/s", "vs llama.cpp's rate", "vs direct client", "target", ""])
        )
    return "\n".join(out), passed


def plot(res: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5.2))
    series = [
        ("direct openai client", res["direct"], "total", "o-"),
        ("through the app API (gradio_client)", res["api"], "total", "s-"),
        ("browser: Enter -> answer fully shown", res.get("browser", {}), "total", "^-"),
        ("browser: fully shown after server's last token", res.get("browser", {}), "after_last", "v--"),
    ]
    for label, data, attr, style in series:
        if data:
            xs = sorted(data)
            left.plot(xs, [_med(data[x], attr) for x in xs], style, label=label)
    left.plot(
        [4000],
        [TARGET_BROWSER_AFTER_LAST_S],
        "r_",
        ms=20,
        mew=2,
        label="target: shown <= 1.5 s after last token",
    )
    left.set_xlabel("answer length (tokens)")
    left.set_ylabel("seconds (median)")
    left.set_title("Time to the complete answer (LLM server at unlimited rate)")
    left.set_ylim(bottom=0)
    left.grid(alpha=0.3)
    left.legend(fontsize=8)

    crowds: list[Crowd] = res.get("crowd", [])
    for conc in sorted({c.concurrency for c in crowds}):
        cs = sorted((c for c in crowds if c.concurrency == conc), key=lambda c: c.visitors)
        xs = [c.visitors for c in cs]
        right.plot(xs, [c.med("p50") * 1000 for c in cs], "o-", label=f"p50, --concurrency {conc}")
        right.plot(xs, [c.med("p95") * 1000 for c in cs], "s--", label=f"p95, --concurrency {conc}")
    if res["direct"].get(4000):
        right.axhline(_med(res["direct"][4000], "ttft") * 1000, color="k", lw=0.8, label="direct client TTFT")
    for visitors, target in TARGET_CROWD_P95_S.items():
        right.plot([visitors], [target * 1000], "r_", ms=20, mew=2)
    right.plot([], [], "r_", ms=10, mew=2, label="p95 target")
    right.set_xlabel("visitors sending at the same moment")
    right.set_ylabel("time to first token through the app (ms, log)")
    right.set_yscale("log")
    per_token = res.get("crowd_delay", 0) * 1000
    right.set_title(
        f"TTFT vs concurrent visitors ({res.get('crowd_tokens')} tokens at {per_token:.0f} ms/token)"
    )
    right.grid(alpha=0.3, which="both")
    right.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ----- main -------------------------------------------------------------------------------------------


@contextlib.contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Abort the whole benchmark (children are stopped in ``finally``) after ``seconds``."""

    def expire(*_: Any) -> None:
        raise TimeoutError(f"benchmark took longer than {seconds} s (--max-seconds)")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def idle_cpu(app: App, seconds: float = 2.0) -> float:
    """The app's CPU use with nothing to do, in ms per second."""
    time.sleep(0.5)
    cpu0 = app.cpu_seconds()
    time.sleep(seconds)
    return (app.cpu_seconds() - cpu0) / seconds * 1000


def _cpu_busy_seconds() -> float | None:
    """CPU seconds all CPUs together have been busy since boot (from /proc/stat)."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return None
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _own_tree_cpu() -> float:
    """CPU seconds of this process and of its children that have ended (all of them, at the end)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class OthersMeter:
    """How much CPU other processes took while the benchmark ran: all busy time minus ours."""

    def __init__(self) -> None:
        self.busy0, self.own0, self.wall0 = _cpu_busy_seconds(), _own_tree_cpu(), time.monotonic()

    def share(self) -> float | None:
        """Share of all CPUs used by other processes; call after every child has been stopped."""
        busy1 = _cpu_busy_seconds()
        if busy1 is None or self.busy0 is None:
            return None
        wall = time.monotonic() - self.wall0
        others = (busy1 - self.busy0) - (_own_tree_cpu() - self.own0)
        return max(0.0, others / (wall * (os.cpu_count() or 1)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.stream_bench", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="1000 and 4000 tokens, 20 and 100 visitors, no profile, no local model",
    )
    parser.add_argument(
        "--runs", type=int, default=3, help="browser runs and crowd rounds per figure (default 3)"
    )
    parser.add_argument("--api-runs", type=int, default=5, help="direct/API/SSE runs per figure (default 5)")
    parser.add_argument("--skip", default="", help="comma list of: browser, crowd, low, profile, embedded")
    parser.add_argument("--crowd-tokens", type=int, default=200)
    parser.add_argument(
        "--crowd-delay", type=float, default=0.02, help="seconds between tokens in crowd runs"
    )
    parser.add_argument(
        "--app-dir", type=Path, default=ROOT, help="checkout whose gradio_app.py to run (A/B tests)"
    )
    parser.add_argument("--chromium", default=CHROMIUM)
    parser.add_argument("--png", type=Path, default=DEFAULT_PNG, help=f"plot path (default {DEFAULT_PNG})")
    parser.add_argument("--json", type=Path, help="also write all measurements as JSON here")
    parser.add_argument("--max-seconds", type=int, default=900, help="hard limit for the whole run")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.api_runs < 1:
        parser.error("--runs and --api-runs must be at least 1")
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    if args.quick:
        sizes, crowd_levels, low_levels = [1000, 4000], [20, 100], []
        skip.update({"profile", "embedded"})
    else:
        sizes, crowd_levels, low_levels = [1000, 2000, 4000, 8000], [1, 20, 50, 100], [50, 100]
    if "browser" not in skip and not Path(args.chromium).exists():
        log(f"no Chromium at {args.chromium}: skipping the browser figures")
        skip.add("browser")
    py_spy = find_py_spy()
    if "profile" not in skip and py_spy is None:
        log("py-spy not found (pip install py-spy): skipping the profile")
        skip.add("profile")

    began = time.monotonic()
    res: dict[str, Any] = {
        "runs": args.api_runs,
        "browser_runs": args.runs,
        "crowd_tokens": args.crowd_tokens,
        "crowd_delay": args.crowd_delay,
        "app_dir": str(args.app_dir),
    }
    others = OthersMeter()
    work = Path(tempfile.mkdtemp(prefix="llmchat-bench-"))
    log(f"logs and scratch files in {work}")
    llm: LLMServer | None = None
    apps: list[App] = []
    try:
        with deadline(args.max_seconds):
            llm = LLMServer(work / "llm-server.log")
            app = App(llm, DEFAULT_CONCURRENCY, work, args.app_dir)
            apps.append(app)
            res["direct"], res["api"], res["sse"] = paired_bench(app, llm, sizes, args.api_runs)
            res["idle_cpu_ms_per_s"] = idle_cpu(app)
            if "browser" not in skip:
                res["browser"] = browser_bench(app, llm, sizes, args.runs, args.chromium)
                live = browser_bench(
                    app, llm, [args.crowd_tokens], args.runs, args.chromium, args.crowd_delay
                )
                res["browser_live"] = live[args.crowd_tokens]
            if "crowd" not in skip:
                res["crowd"] = crowd_bench(
                    app, llm, crowd_levels, args.runs, args.crowd_tokens, args.crowd_delay
                )
            if "profile" not in skip and py_spy:
                res["profile"] = profile_bench(app, py_spy, work)
            app.stop()
            if "embedded" not in skip:
                from benchmarks.embedded_rate import embedded_bench

                log(f"local model (SmolLM2): {args.runs} runs")
                res["embedded"] = embedded_bench(work, args.runs)
            if "crowd" not in skip and "low" not in skip and low_levels:
                # A limit below the crowd: what visitors see when --concurrency is too low.
                low = App(llm, LOW_CONCURRENCY, work, args.app_dir)
                apps.append(low)
                res["crowd"] += crowd_bench(
                    low, llm, low_levels, args.runs, args.crowd_tokens, args.crowd_delay
                )
                low.stop()
    finally:
        for app in apps:
            app.stop()
        if llm is not None:
            llm.stop()
    res["others_cpu_share"] = others.share()

    text, passed = report(res)
    print(text)
    share = res["others_cpu_share"]
    used = "?" if share is None else f"{share * 100:.0f} %"
    print(
        f"\n(app: {args.app_dir}; total benchmark time {time.monotonic() - began:.0f} s; "
        f"{os.cpu_count()} CPUs, of which other processes used {used}; logs in {work})"
    )
    if share is not None and share > 0.15:
        print(
            "WARNING: other processes kept this machine busy: wall-clock figures are inflated and noisy; "
            "CPU-time figures (app CPU per token, the profile) are much less affected."
        )
    try:
        plot(res, args.png)
        print(f"plot: {args.png}")
    except ImportError:
        print("plot: skipped, matplotlib is not installed (pip install matplotlib)")
    if args.json:
        args.json.write_text(json.dumps(res, default=_jsonable, indent=1, ensure_ascii=False))
        print(f"json: {args.json}")
    return 0 if passed else 1


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, (Run, Crowd)):
        return asdict(obj)
    raise TypeError(type(obj))


if __name__ == "__main__":
    sys.exit(main())
