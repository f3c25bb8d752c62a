"""The command line: the test server, the app, the visitor threads and the watchdog."""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import signal
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from gradio_client import Client

from benchmarks import load_test
from benchmarks.common.log import log
from benchmarks.common.machine import busy_and_total_jiffies
from benchmarks.load_test.checks import upstream_delays
from benchmarks.load_test.report import report
from benchmarks.load_test.visitors import PRESET, SYSTEM_PROMPT, Shared, visitor
from llmchat.testing.app_process import AppProcess
from llmchat.testing.openai_server import OpenAITestServer

PRESET_YAML = """\
name: Load test
mode: chat
base_url: {base_url}
api_key: sk-load-test-not-a-secret
model: test-model
system_prompt: "{system_prompt}"
temperature: 0.0
max_tokens: 8000
max_tokens_limit: 8000
timeout: 60
show_stats: false
stream_usage: false
"""


def processes_in_group(pgid: int) -> list[int]:
    """Live processes whose process group is ``pgid`` (the app and anything it started)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                found.append(int(stat.parent.name))
    return found


def _die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.load_test", description=load_test.__doc__.split("\n\n")[0]
    )
    parser.add_argument("--visitors", type=int, default=20, help="visitors streaming at once (default 20)")
    parser.add_argument("--duration", type=float, default=120, help="seconds of load (default 120)")
    parser.add_argument(
        "--turns", default="3-6", help="turns per session, N or MIN-MAX (default 3-6); then a new session"
    )
    parser.add_argument("--delay", type=float, default=0.01, help="seconds between streamed tokens")
    parser.add_argument("--sample-every", type=float, default=3.0, help="seconds between RSS samples")
    parser.add_argument("--concurrency", type=int, help="the app's --concurrency (default: the app's)")
    parser.add_argument("--turn-timeout", type=float, default=60, help="longest wait for one answer")
    parser.add_argument("--grace", type=float, default=90, help="hard stop this long after --duration")
    parser.add_argument(
        "--max-kib-per-session",
        type=float,
        default=256,
        help="RSS growth allowed per new session in the 2nd half (Gradio keeps each session's state)",
    )
    parser.add_argument(
        "--rss-noise-mb", type=float, default=4.0, help="RSS growth allowed in the 2nd half on top of that"
    )
    args = parser.parse_args(argv)
    low, _, high = args.turns.partition("-")
    args.turns = (int(low), int(high or low))
    if not (1 <= args.visitors <= 200 and 1 <= args.duration <= 3600 and 1 <= args.turns[0] <= args.turns[1]):
        parser.error("expected 1-200 visitors, a duration of 1-3600 s and 1 <= MIN <= MAX turns")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop = threading.Event()
    started = time.monotonic()
    hard_deadline = started + args.duration + args.grace + 60

    def on_signal(signum: int, _frame: Any) -> None:
        stop.set()
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    app: AppProcess | None = None
    server = OpenAITestServer()
    samples: list[tuple[float, float]] = []  # (seconds since load start, RSS MB)
    with tempfile.TemporaryDirectory(prefix="llmchat-load-") as tmp:
        work = Path(tmp)
        try:
            server.start()
            config_dir = work / "configs"
            config_dir.mkdir()
            (config_dir / f"{PRESET}.yaml").write_text(
                PRESET_YAML.format(base_url=server.base_url, system_prompt=SYSTEM_PROMPT), encoding="utf-8"
            )
            concurrency = ("--concurrency", str(args.concurrency)) if args.concurrency else ()
            app = AppProcess(
                *("--config-dir", str(config_dir), "--preset", PRESET, *concurrency),
                log_path=work / "app.log",
                new_session=True,  # its own process group: it and anything it starts end together
                preexec_fn=_die_with_parent,  # it dies with us even if we are SIGKILLed
                ready_timeout=90,
            )
            app.start()
            log(f"test server {server.base_url}; app pid {app.proc.pid} at {app.url}")
            # One warm-up answer, so start-up costs are not in the figures.
            warm = Client(app.url, verbose=False, download_files=False, analytics_enabled=False)
            warm.predict("warm-up [[test tokens=5]]", show_stats=False, api_name="/chat")
            warm.close()
            server.clear()

            load_start = time.monotonic()
            shared = Shared(
                url=app.url,
                deadline=load_start + args.duration,
                turns_per_session=args.turns,
                turn_timeout=args.turn_timeout,
                delay=args.delay,
                stop=stop,
            )
            cpu_start = app.cpu_seconds() or 0.0
            own_cpu_start = time.process_time()
            machine_start = busy_and_total_jiffies()

            def sample() -> None:
                while not stop.is_set():
                    rss = app.rss_kib()
                    if rss is not None:
                        samples.append((time.monotonic() - load_start, rss / 1024))
                    stop.wait(args.sample_every)

            sampler = threading.Thread(target=sample, name="rss-sampler", daemon=True)
            sampler.start()
            threads = [
                threading.Thread(target=visitor, args=(i, shared), name=f"visitor-{i}", daemon=True)
                for i in range(args.visitors)
            ]
            log(f"{args.visitors} visitors for {args.duration:g} s ...")
            for thread in threads:
                thread.start()
            next_report = load_start + 15
            while any(t.is_alive() for t in threads):
                if time.monotonic() > hard_deadline - 30:
                    log("watchdog: visitors still busy long after the duration; stopping them")
                    stop.set()
                    break
                if time.monotonic() >= next_report:
                    with shared.lock:
                        done = sum(t.ok for t in shared.turns)
                        bad = sum(1 for t in shared.turns if t.error)
                    rss = f"{samples[-1][1]:.1f} MB" if samples else "?"
                    log(f"t={time.monotonic() - load_start:5.0f}s answers={done} errors={bad} app RSS={rss}")
                    next_report += 15
                time.sleep(0.2)
            for thread in threads:
                thread.join(max(0.0, min(args.turn_timeout, hard_deadline - time.monotonic())))
            load_seconds = time.monotonic() - load_start
            # A last sample after the load, then stop sampling.
            time.sleep(min(args.sample_every, 2.0))
            rss = app.rss_kib()
            if rss is not None:
                samples.append((time.monotonic() - load_start, rss / 1024))
            stop.set()
            sampler.join(5)
            app_cpu = (app.cpu_seconds() or 0.0) - cpu_start
            own_cpu = time.process_time() - own_cpu_start
            machine_end = busy_and_total_jiffies()
            busy = (machine_end[0] - machine_start[0]) / max(machine_end[1] - machine_start[1], 1)
            machine = (
                f"{100 * busy:.0f}% of {os.cpu_count()} cores busy; load average {os.getloadavg()[0]:.1f}"
            )
            app_log = app.log_path.read_text(errors="replace")
            bodies = server.chat_bodies
            upstream = upstream_delays(server, shared)
            return report(
                args, shared, bodies, upstream, samples, load_seconds, app_cpu, own_cpu, machine, app_log
            )
        except KeyboardInterrupt:
            log("interrupted")
            return 130
        finally:
            stop.set()
            if app is not None:
                app.stop()
                left = processes_in_group(app.proc.pid)
                log(
                    f"app stopped (exit status {app.proc.returncode}); left in its process group: {left or 0}"
                )
            server.stop()
