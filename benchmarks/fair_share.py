"""One client floods the app with 140 chats at once; how long does another visitor wait? (issue 11)

Run ``.venv/bin/python -m benchmarks.fair_share`` (about 2–3 minutes; ``--json PATH`` keeps every
figure, as in ``docs/bench_fair_share.json``). It starts, all on 127.0.0.1
and all stopped again at the end:

- the project's fake LLM server (``benchmarks.llm_server``) in a child process;
- the app (``gradio_app.py``, default ``--concurrency`` 128) in a child process, twice: with the
  shipped per-visitor limits, then with them off (``--max-answers-per-visitor 0
  --max-answers-per-address 0``, what the app did before);
- the flooder in a child process of its own (``--flood``): ``--count`` (140) chats at once through
  the raw HTTP API, each a new session, each with an ``X-Forwarded-For`` header whose left entry
  rotates and whose last entry is the flooder's one public address, as a proxy on loopback
  (Gradio's share tunnel, nginx) sends them. Each flood answer would stream ``--flood-seconds``
  (40 s); the flooder leaves (closes its connections) once the measurement is done.

The second visitor (this process; another address) asks one short question at a time: 5 times
before the flood (the calm baseline), then once at each of ``--probes`` seconds after the flood
began (default 0.5, 5, 15 and 25: while the app is still taking the 140 requests in, then with
the flood settled; a probe that has to wait delays the later ones). Each figure is the time from
its request to the first answer text, through the raw HTTP API (``/gradio_api/call/chat``).

It also prints what the flooder saw (answers streaming, "waiting" notices, refusals), how many of
its chats reached the LLM server, and the app's CPU seconds during the flood.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from benchmarks.common.bench_app import App
from benchmarks.common.llm_process import LLMServer
from benchmarks.common.log import log
from benchmarks.common.paths import PYTHON, ROOT
from llmchat.settings import DEFAULT_CONCURRENCY

FLOODER_ADDRESS = "8.8.8.8"  # public, so the address limit applies (documentation ranges are "private")
VISITOR_ADDRESS = "9.9.9.9"
WAITING, REFUSED = "⏳", "⚠️ Too many"


def limited_app(llm: LLMServer, work: Path, limits: bool) -> App:
    """The benchmark's app at the default ``--concurrency``, with or without the per-visitor limits."""
    off = ("--max-answers-per-visitor", "0", "--max-answers-per-address", "0")
    name = "limits-" if limits else "nolimits-"
    return App(llm, DEFAULT_CONCURRENCY, work, name=name, extra_args=() if limits else off)


def chat_data(url: str, message: str) -> list[Any]:
    params = httpx.get(url + "gradio_api/info", timeout=10).json()["named_endpoints"]["/chat"]["parameters"]
    return [message, *[p["parameter_default"] for p in params[1:]]]


async def first_output(
    http: httpx.AsyncClient, url: str, data: list[Any], headers: dict[str, str], seen: dict[str, Any]
) -> None:
    """Run one chat turn to its end; ``seen`` gets ``kind`` (what it showed first: "text" or a
    notice's title) and ``text_at`` (seconds to the first answer text)."""
    start = time.monotonic()
    posted = await http.post(url + "gradio_api/call/chat", json={"data": data}, headers=headers)
    event = ""
    async with http.stream("GET", f"{url}gradio_api/call/chat/{posted.json()['event_id']}") as stream:
        async for line in stream.aiter_lines():
            if line.startswith("event: "):
                event = line[len("event: ") :]
            elif line.startswith("data: ") and event in ("generating", "complete"):
                reply = json.loads(line[len("data: ") :])[0]
                if "kind" not in seen:
                    seen["kind"] = "text" if isinstance(reply, str) else str(reply[0]["metadata"]["title"])
                    seen["shown"] = time.monotonic()
                if isinstance(reply, str) and reply and "text_at" not in seen:
                    seen["text_at"] = time.monotonic() - start
                if event == "complete":
                    return
            elif event == "error":
                seen.setdefault("kind", "error")
                return


# ----- the flooder (a child process) -------------------------------------------------------------


def flood_main(url: str, count: int, seconds: float) -> None:
    """Send ``count`` chats at once; on stdin's EOF print what each showed first, and leave."""
    data = chat_data(url, "")
    tokens = int(seconds / 0.05)

    async def main() -> None:
        limits = httpx.Limits(max_connections=count + 10, max_keepalive_connections=count + 10)
        async with httpx.AsyncClient(timeout=120, limits=limits) as http:
            tasks = []
            seen: list[dict[str, Any]] = [{} for _ in range(count)]
            began = time.monotonic()
            for i in range(count):
                message = [f"[[test tokens={tokens} delay=0.05]] flood {i}", *data[1:]]
                headers = {"X-Forwarded-For": f"10.{i % 250}.{i // 250}.1, {FLOODER_ADDRESS}"}
                tasks.append(asyncio.create_task(first_output(http, url, message, headers, seen[i])))
            print("started", flush=True)
            await asyncio.to_thread(sys.stdin.read)  # until the benchmark says stop
            kinds = Counter(_kind(s.get("kind", "nothing yet")) for s in seen)
            shown = sorted(s["shown"] - began for s in seen if "shown" in s)
            print(json.dumps({"kinds": kinds, "all_in_after": shown[-1] if len(shown) == count else None}))
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(main())


def _kind(title: str) -> str:
    return "waiting" if title.startswith(WAITING) else "refused" if title.startswith(REFUSED) else title


# ----- the benchmark ------------------------------------------------------------------------------


async def second_visitor(url: str, label: str) -> float:
    async with httpx.AsyncClient(timeout=120) as http:
        data = chat_data(url, f"[[test tokens=3]] {label}")
        seen: dict[str, Any] = {}
        await first_output(http, url, data, {"X-Forwarded-For": VISITOR_ADDRESS}, seen)
        if "text_at" not in seen:
            raise RuntimeError(f"the second visitor got no answer ({seen})")
        return float(seen["text_at"])


def run(app: App, llm: LLMServer, count: int, seconds: float, probes: list[float]) -> dict[str, Any]:
    for i in range(2):
        asyncio.run(second_visitor(app.url, f"warm-up {i}"))
    calm = [asyncio.run(second_visitor(app.url, f"calm {i}")) for i in range(5)]
    llm.clear()
    cpu_before = app.cpu_seconds()
    cmd = [PYTHON, "-m", "benchmarks.fair_share", "--flood", app.url, "--count", str(count)]
    flooder = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [*cmd, "--flood-seconds", str(seconds)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert flooder.stdout is not None and flooder.stdin is not None
        if flooder.stdout.readline().strip() != "started":
            raise RuntimeError("the flooder did not start")
        began = time.monotonic()
        flooded = []
        for at in probes:
            time.sleep(max(0.0, began + at - time.monotonic()))
            asked = time.monotonic() - began
            flooded.append((asked, asyncio.run(second_visitor(app.url, f"flooded {at}"))))
        flooder.stdin.close()
        seen = json.loads(flooder.stdout.readline())
        reached = len(llm.streams()) - len(probes)  # the second visitor's are not the flood's
        cpu = app.cpu_seconds() - cpu_before
    finally:
        with contextlib.suppress(Exception):
            flooder.wait(20)
        if flooder.poll() is None:
            flooder.kill()
            flooder.wait(5)
    return {
        "calm": calm,
        "flooded": flooded,
        "flooder_saw": seen["kinds"],
        "all_in_after": seen["all_in_after"],
        "upstream": reached,
        "cpu": cpu,
    }


def report(results: dict[str, dict[str, Any]], count: int) -> str:
    probes = len(next(iter(results.values()))["flooded"])
    lines = [
        f"Second visitor's time to first token while one client has {count} chats open at once",
        "(each probe: the time, and when it asked, in seconds after the flood began)",
        "",
        "| app | calm (median of 5) | "
        + " | ".join(f"probe {i + 1}" for i in range(probes))
        + " | flooder saw | all flood turns in after | flood chats sent upstream | app CPU during flood |",
        "| --- | ---: | " + " | ".join("---:" for _ in range(probes)) + " | --- | ---: | ---: | ---: |",
    ]
    for name, res in results.items():
        seen = ", ".join(f"{n} {k}" for k, n in res["flooder_saw"].items() if n)
        times = " | ".join(f"{t:.2f} s (+{at:.1f})" for at, t in res["flooded"])
        taken = f"{res['all_in_after']:.1f} s" if res["all_in_after"] is not None else "-"
        lines.append(
            f"| {name} | {statistics.median(res['calm']):.3f} s | {times} | {seen} | {taken} | "
            f"{res['upstream']} | {res['cpu']:.1f} s |"
        )
    return "\n".join(lines)


def load_average() -> str:
    with contextlib.suppress(OSError):
        return Path("/proc/loadavg").read_text().split()[0]
    return "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=140, help="chats the flooder sends at once")
    parser.add_argument(
        "--flood-seconds", type=float, default=20.0, help="how long each flood answer streams"
    )
    parser.add_argument("--probes", default="0.5,5,15,25", help="seconds after the flood began to ask")
    parser.add_argument("--json", type=Path, help="write every figure here")
    parser.add_argument("--flood", metavar="URL", help=argparse.SUPPRESS)  # the flooder child process
    args = parser.parse_args(argv)
    if args.flood:
        flood_main(args.flood, args.count, args.flood_seconds)
        return 0
    probes = [float(p) for p in args.probes.split(",")]
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="fair-share-") as tmp:
        work = Path(tmp)
        llm = LLMServer(work / "llm.log")
        try:
            for name, limits in (("limits on", True), ("limits off", False)):
                log(f"{name}: starting the app (load average {load_average()})")
                app = limited_app(llm, work, limits)
                try:
                    results[name] = run(app, llm, args.count, args.flood_seconds, probes)
                finally:
                    app.stop()
                log(f"{name}: {results[name]}")
        finally:
            llm.stop()
    text = report(results, args.count)
    print(text)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
