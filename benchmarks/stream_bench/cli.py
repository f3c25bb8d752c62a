"""The command line: which parts to run, starting and stopping everything, the output files."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from benchmarks import stream_bench
from benchmarks.common.bench_app import App
from benchmarks.common.llm_process import LLMServer
from benchmarks.common.log import log
from benchmarks.common.machine import OthersMeter
from benchmarks.common.paths import ROOT
from benchmarks.embedded_rate import embedded_bench
from benchmarks.stream_bench.browser import browser_bench
from benchmarks.stream_bench.crowd import Crowd, crowd_bench
from benchmarks.stream_bench.figures import Run
from benchmarks.stream_bench.paired import paired_bench
from benchmarks.stream_bench.plot import plot
from benchmarks.stream_bench.py_spy import find_py_spy, profile_bench
from benchmarks.stream_bench.report import report
from llmchat.settings import DEFAULT_CONCURRENCY
from llmchat.testing.chromium import CHROMIUM

DEFAULT_PNG = ROOT / "docs" / "bench_stream.png"
LOW_CONCURRENCY = 64  # llmchat's default before it was measured too low for 100 visitors


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.stream_bench", description=stream_bench.__doc__.splitlines()[0]
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
