"""A bounded load test: many visitors streaming answers from the real app at once.

Run ``.venv/bin/python -m benchmarks.load_test --visitors 20 --duration 120``. It starts, all on
127.0.0.1 and all stopped again at the end (or on Ctrl-C / SIGTERM):

- the project's OpenAI-compatible test server (``llmchat.testing.openai_server.OpenAITestServer``) in
  this process, so every request body the app sends can be checked afterwards;
- the app as a child process (``gradio_app.py --config-dir TMP --preset load``) with a temporary
  preset pointing at that server;
- ``--visitors`` threads, each a visitor with its own ``gradio_client.Client`` session. A visitor
  has a conversation of a few turns (``--turns``), leaves (``Client.close()``) and comes back as a
  new session, until ``--duration`` is over. Every message carries a unique marker and a
  ``[[test ...]]`` directive telling the server exactly what to stream: ``tokens=N`` or a
  ``reply="..."`` mixing ASCII, the marker and Japanese text (cut into one-character chunks by the
  server), ``delay=0.01`` between tokens.

Checks:

- **errors**: every turn ends with a plain string answer (no exception, no titled note);
- **integrity**: each final answer equals, character for character, what the server was told to
  send (nothing lost, nothing duplicated); one that streams for a second or more arrived in at
  least 3 partial outputs;
- **isolation**: every chat request the server received (``chat_bodies``) is exactly the
  conversation of the session whose marker ends it - system prompt, that session's earlier
  questions and answers, the new question - and contains no other session's marker;
- **memory**: the app's RSS (``VmRSS`` of ``/proc/<pid>/status``) every ``--sample-every``
  seconds: first, last, max, and the least-squares slope (MB/min) over the whole run and over its
  second half (after warm-up). Flat means: no growth with answers. Two things grow by design and
  are accounted for: a conversation's history (in a long session, each turn is kept in several
  copies by Gradio), and Gradio's per-session state - every session gets a ``SessionState`` (a
  copy of the page's component config, ~60 KiB here) that stays in memory after the visitor
  leaves until ``state_session_capacity`` (10,000) newer sessions push it out. So the second-half
  growth must stay below ``--max-kib-per-session`` per session opened in that half plus
  ``--rss-noise-mb``; a per-answer leak of a few dozen KiB fails that.

The exit status is 0 when every check passed, 1 otherwise. The load is bounded: no visitor starts
a turn after ``--duration``, each turn has a ``--turn-timeout``, and a watchdog ends everything
``--duration`` + ``--grace`` seconds after the start whatever happens.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import random
import re
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python benchmarks/load_test.py` works too
    sys.path.insert(0, str(ROOT))

from gradio_client import Client  # noqa: E402

from llmchat.ports import free_port  # noqa: E402
from llmchat.testing.openai_server import OpenAITestServer  # noqa: E402
from llmchat.testing.scripting import split_tokens  # noqa: E402

PRESET = "load"
SYSTEM_PROMPT = "You are the load-test assistant. 負荷テストのアシスタントです。"
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
MARKER = re.compile(r"MK-v(\d+)-s(\d+)-t(\d+)")
JAPANESE = [
    "日本語の答えです。",
    "「ストリーミング」を確認、",
    "漢字とひらがなとカタカナ。",
    "東京は晴れ、大阪は雨。",
    "一文字ずつ届きます。",
]
STREAMED_SECONDS = 1.0  # answers streaming at least this long must arrive in >= 3 partial outputs


def machine_cpu() -> tuple[int, int]:
    """(busy, total) jiffies of all cores, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def processes_in_group(pgid: int) -> list[int]:
    """Live processes whose process group is ``pgid`` (the app and anything it started)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                found.append(int(stat.parent.name))
    return found


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks, q in [0, 100]."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def slope_per_minute(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value) points, in value per minute."""
    if len(points) < 2:
        return float("nan")
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    var = sum((x - mx) ** 2 for x in xs)
    if var == 0:
        return float("nan")
    return 60 * sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var


# ----- what each turn asks for ------------------------------------------------------------------


@dataclass
class Turn:
    visitor: int
    session: int
    index: int
    message: str
    expected: str  # exactly what the server streams
    tokens: int  # stream chunks the server sends
    ok: bool = False
    error: str | None = None
    submitted: float | None = None  # time.monotonic() of submit
    ttft: float | None = None  # submit -> first non-empty partial answer, seconds
    total: float | None = None  # submit -> final answer
    partials: int = 0
    answer: Any = None


def mixed_reply(marker: str, rng: random.Random) -> str:
    """An answer of ASCII words, the turn's marker and Japanese sentences, of random length."""
    words = rng.randint(8, 160)
    parts = [marker]
    for i in range(words):
        if rng.random() < 0.12:
            parts.append(rng.choice(JAPANESE))
        else:
            parts.append(f"w{i}")
    return " ".join(parts)


def make_turn(visitor: int, session: int, index: int, rng: random.Random, delay: float) -> Turn:
    marker = f"MK-v{visitor:02d}-s{session:03d}-t{index:02d}-{rng.randrange(16**4):04x}"
    if rng.random() < 0.5:
        n = rng.choice([20, 50, 100, 200, 200, 300])
        expected = " ".join(f"tok{i}" for i in range(n))
        directive = f"[[test tokens={n} delay={delay}]]"
    else:
        expected = mixed_reply(marker, rng)
        directive = f"[[test reply={shlex.quote(expected)} delay={delay}]]"
    question = f"{marker} 質問です, visitor {visitor} turn {index}: please answer. {directive}"
    return Turn(visitor, session, index, question, expected, len(split_tokens(expected)))


# ----- the app as a child process ---------------------------------------------------------------


def _die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class App:
    """``gradio_app.py`` in its own process group; it dies with us even if we are SIGKILLed."""

    def __init__(self, config_dir: Path, work: Path, concurrency: int | None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log_path = work / "app.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        cmd = [sys.executable, "gradio_app.py", "--config-dir", str(config_dir), "--preset", PRESET]
        cmd += ["--host", "127.0.0.1", "--port", str(self.port)]
        if concurrency:
            cmd += ["--concurrency", str(concurrency)]
        env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", PYTHONUNBUFFERED="1")
        for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "LLMCHAT_MODEL", "LLMCHAT_CONCURRENCY"):
            env.pop(name, None)
        self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and entry point
            cmd,
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,  # before any thread exists, so fork-safe
        )

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(self.url + "config", timeout=2) as response,  # noqa: S310
            ):
                if response.status == 200:
                    return
            time.sleep(0.2)
        tail = self.log_path.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"the app did not start (exit {self.proc.poll()}); its log ends:\n{tail}")

    def rss_kib(self) -> int | None:
        with contextlib.suppress(OSError, ValueError):
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return None

    def cpu_seconds(self) -> float | None:
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return None

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        # Anything the app started in its group (it should start nothing here) goes too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self._log.close()


# ----- visitors ---------------------------------------------------------------------------------


@dataclass
class Shared:
    url: str
    deadline: float  # monotonic: no turn starts after this
    turns_per_session: tuple[int, int]
    turn_timeout: float
    delay: float
    stop: threading.Event
    lock: threading.Lock = field(default_factory=threading.Lock)
    turns: list[Turn] = field(default_factory=list)
    # session key (visitor, session) -> the messages that session's next request must start with
    conversations: dict[tuple[int, int], list[dict[str, str]]] = field(default_factory=dict)
    expected_bodies: dict[str, list[dict[str, str]]] = field(default_factory=dict)  # marker -> messages
    sessions_opened: list[float] = field(default_factory=list)  # monotonic times
    visitor_errors: list[str] = field(default_factory=list)


def answer_text(output: Any) -> str | None:
    """The text of a plain answer; None for llmchat's list form (a note was added: an error)."""
    return output if isinstance(output, str) else None


def run_turn(client: Client, turn: Turn, shared: Shared) -> None:
    started = turn.submitted = time.monotonic()
    job = client.submit(turn.message, show_stats=False, api_name="/chat")
    seen = 0
    while not job.done():
        outputs = job.outputs()
        if len(outputs) > seen:
            seen = len(outputs)
            if turn.ttft is None and any(isinstance(o, str) and o for o in outputs):
                turn.ttft = time.monotonic() - started
        if time.monotonic() - started > shared.turn_timeout or shared.stop.is_set():
            job.cancel()
            raise TimeoutError(f"no final answer after {time.monotonic() - started:.1f} s")
        time.sleep(0.01)
    final = job.result(timeout=5)
    turn.total = time.monotonic() - started
    outputs = job.outputs()
    if turn.ttft is None and any(isinstance(o, str) and o for o in outputs):
        turn.ttft = turn.total
    turn.partials = len([o for o in outputs if isinstance(o, str) and o and o != final])
    turn.answer = final
    text = answer_text(final)
    if text is None:
        turn.error = f"answer with a note: {str(final)[:300]}"
    elif text != turn.expected:
        turn.error = f"text differs: {first_difference(text, turn.expected)}"
    elif turn.tokens * shared.delay >= STREAMED_SECONDS and turn.partials < 3:
        # A second of streaming is 20 of the app's 50 ms update windows: at least 3 must show,
        # even on a busy machine where the app gathers more tokens per update.
        turn.error = f"only {turn.partials} partial outputs for {turn.tokens} tokens (not streamed)"
    else:
        turn.ok = True


def first_difference(got: str, want: str) -> str:
    for i, (a, b) in enumerate(zip(got, want, strict=False)):
        if a != b:
            return f"at char {i}: got {got[i : i + 25]!r}, want {want[i : i + 25]!r}"
    return f"got {len(got)} chars, want {len(want)} (lost or duplicated text at the end)"


def visitor(number: int, shared: Shared) -> None:
    """Conversations of a few turns, each in a new session, until the deadline."""
    rng = random.Random(1000 + number)  # noqa: S311 - reproducible load, not secrets
    session = 0
    while time.monotonic() < shared.deadline and not shared.stop.is_set():
        key = (number, session)
        session += 1
        try:
            client = Client(shared.url, verbose=False, download_files=False, analytics_enabled=False)
        except Exception as exc:  # the app did not let a new visitor in: an error, then try again
            with shared.lock:
                shared.visitor_errors.append(f"visitor {number}: {type(exc).__name__}: {exc}"[:300])
            shared.stop.wait(1.0)
            continue
        with shared.lock:
            shared.sessions_opened.append(time.monotonic())
            history = shared.conversations[key] = [{"role": "system", "content": SYSTEM_PROMPT}]
        try:
            for index in range(rng.randint(*shared.turns_per_session)):
                if time.monotonic() >= shared.deadline or shared.stop.is_set():
                    break
                turn = make_turn(number, key[1], index, rng, shared.delay)
                with shared.lock:
                    shared.expected_bodies[turn.message] = [
                        *history,
                        {"role": "user", "content": turn.message},
                    ]
                    shared.turns.append(turn)
                try:
                    run_turn(client, turn, shared)
                except Exception as exc:
                    turn.error = f"{type(exc).__name__}: {exc}"[:300]
                if not turn.ok:
                    break  # the conversation is no longer what we expect: start a new one
                with shared.lock:
                    history.append({"role": "user", "content": turn.message})
                    history.append({"role": "assistant", "content": turn.expected})
        finally:
            with contextlib.suppress(Exception):
                client.close()


# ----- checks -----------------------------------------------------------------------------------


def content_of(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else repr(content)


def check_isolation(bodies: list[dict[str, Any]], shared: Shared) -> tuple[int, list[str]]:
    """Each request body must be exactly its session's conversation; no foreign marker anywhere."""
    problems: list[str] = []
    checked = 0
    for body in bodies:
        messages = [{"role": m.get("role"), "content": content_of(m)} for m in body.get("messages", [])]
        if not messages or messages[-1]["role"] != "user":
            problems.append(f"request without a final user message: {str(messages)[:200]}")
            continue
        expected = shared.expected_bodies.get(messages[-1]["content"])
        if expected is None:
            problems.append(f"request for an unknown question: {messages[-1]['content'][:120]!r}")
            continue
        checked += 1
        own = MARKER.search(messages[-1]["content"])
        owner = own.group(1, 2) if own else None
        foreign = {
            m.group(0)
            for message in messages
            for m in MARKER.finditer(message["content"])
            if m.group(1, 2) != owner
        }
        if foreign:
            problems.append(f"request of session {owner} contains other sessions' markers {sorted(foreign)}")
        elif messages != expected:
            got, want = len(messages), len(expected)
            first = next(
                (i for i, (a, b) in enumerate(zip(messages, expected, strict=False)) if a != b),
                min(got, want),
            )
            problems.append(
                f"request of session {owner}: {got} messages, expected {want}; first difference at "
                f"message {first}: {str(messages[first] if first < got else None)[:160]}"
            )
    return checked, problems


# ----- main -------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
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
    app: App | None = None
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
            app = App(config_dir, work, args.concurrency)
            log(f"test server {server.base_url}; app pid {app.proc.pid} at {app.url}")
            app.wait_ready(90)
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
            machine_start = machine_cpu()

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
            machine_end = machine_cpu()
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


def upstream_delays(server: OpenAITestServer, shared: Shared) -> list[float]:
    """Per answered turn: seconds from the visitor's submit to the request reaching the LLM server."""
    by_question = {t.message: t for t in shared.turns if t.ok and t.submitted is not None}
    delays = []
    for record in list(server.streams):
        body = server.requests[record.request_index].body or {}
        messages = body.get("messages") or [{}]
        turn = by_question.get(content_of(messages[-1]))
        if turn is not None and turn.submitted is not None:
            delays.append(record.started_at - turn.submitted)
    return delays


def report(
    args: argparse.Namespace,
    shared: Shared,
    bodies: list[dict[str, Any]],
    upstream: list[float],
    samples: list[tuple[float, float]],
    load_seconds: float,
    app_cpu: float,
    own_cpu: float,
    machine: str,
    app_log: str,
) -> int:
    turns = [t for t in shared.turns if t.ok or t.error]
    ok = [t for t in turns if t.ok]
    errors = [t for t in turns if not t.ok]
    ttfts = [t.ttft * 1000 for t in ok if t.ttft is not None]
    long_ok = [t for t in ok if t.tokens * args.delay >= STREAMED_SECONDS]
    ttft_first = [t.ttft * 1000 for t in ok if t.ttft is not None and t.index == 0]
    ttft_later = [t.ttft * 1000 for t in ok if t.ttft is not None and t.index > 0]
    totals = [t.total for t in ok if t.total is not None]
    tokens = sum(t.tokens for t in ok)
    chars = sum(len(t.expected) for t in ok)
    japanese = sum(1 for t in ok if any(ord(c) > 0x3000 for c in t.expected))
    checked, isolation = check_isolation(bodies, shared)
    per_question = Counter(content_of(b["messages"][-1]) for b in bodies if b.get("messages"))
    repeated = sum(1 for n in per_question.values() if n > 1)
    missing = sum(1 for t in ok if per_question[t.message] == 0)
    logged = app_log.count(f"preset={PRESET} mode=")
    half = load_seconds / 2
    rss = [mb for _, mb in samples]
    second_half = [(s, mb) for s, mb in samples if s >= half]
    growth_2nd = (second_half[-1][1] - second_half[0][1]) if len(second_half) >= 2 else float("nan")
    load_start = shared.deadline - args.duration
    sessions_2nd = sum(1 for t in shared.sessions_opened if t - load_start >= half)
    answers_2nd = sum(1 for t in ok if t.submitted is not None and t.submitted - load_start >= half)
    slope_all = slope_per_minute(samples)
    slope_2nd = slope_per_minute(second_half)
    tracebacks = app_log.count("Traceback (most recent call last)")

    rows = [
        ("visitors at once", f"{args.visitors}"),
        ("load duration", f"{load_seconds:.1f} s (turns per session {args.turns[0]}-{args.turns[1]})"),
        ("sessions opened", f"{len(shared.sessions_opened)}"),
        ("answers ok / turns", f"{len(ok)} / {len(turns)}  ({japanese} with Japanese text)"),
        ("answers per second", f"{len(ok) / load_seconds:.2f}"),
        ("tokens streamed", f"{tokens}  ({chars} characters)"),
        ("tokens/s total", f"{tokens / load_seconds:.0f}  ({chars / load_seconds:.0f} chars/s)"),
        ("TTFT p50 / p95 / max", f"{percentile(ttfts, 50):.0f} / {percentile(ttfts, 95):.0f} / "
         f"{max(ttfts, default=float('nan')):.0f} ms"),
        ("TTFT p50 1st / later turns",
         f"{percentile(ttft_first, 50):.0f} / {percentile(ttft_later, 50):.0f} ms"),
        ("submit -> LLM request p50/p95",
         f"{1000 * percentile(upstream, 50):.0f} / {1000 * percentile(upstream, 95):.0f} ms "
         "(app + queue side of TTFT)"),
        ("answer time p50 / p95", f"{percentile(totals, 50):.2f} / {percentile(totals, 95):.2f} s"),
        ("partial outputs/answer", f"p50 {percentile([t.partials for t in ok], 50):.0f}, "
         f"min {min((t.partials for t in ok), default=0)} (all), "
         f"min {min((t.partials for t in long_ok), default=0)} (streaming >= {STREAMED_SECONDS:g} s)"),
        ("errors", f"{len(errors)} turns, {len(shared.visitor_errors)} visitors, "
         f"{tracebacks} tracebacks in app log"),
        ("text mismatches", f"{sum(1 for t in errors if t.error and t.error.startswith('text differs'))}"),
        ("requests checked", f"{checked} of {len(bodies)} server requests ({logged} logged by the app); "
         f"{repeated} repeated, {missing} missing"),
        ("cross-talk/history", f"{len(isolation)} problems"),
        ("app RSS first/last/max", f"{rss[0]:.1f} / {rss[-1]:.1f} / {max(rss):.1f} MB ({len(rss)} samples)"
         if rss else "no samples"),
        ("app RSS slope", f"{slope_all:+.2f} MB/min overall, {slope_2nd:+.2f} MB/min in the 2nd half"),
        ("2nd-half growth", f"{growth_2nd:+.1f} MB for {sessions_2nd} new sessions and {answers_2nd} answers "
         f"({1024 * growth_2nd / max(sessions_2nd, 1):+.0f} KiB/session or "
         f"{1024 * growth_2nd / max(answers_2nd, 1):+.1f} KiB/answer)"),
        ("app CPU", f"{app_cpu:.1f} s = {100 * app_cpu / load_seconds:.0f}% of one core "
         f"({1000 * app_cpu / max(len(ok), 1):.1f} ms/answer, "
         f"{1000 * app_cpu / max(tokens, 1):.2f} ms/token)"),
        ("load generator CPU", f"{own_cpu:.1f} s = {100 * own_cpu / load_seconds:.0f}% of one core "
         "(visitors + test server, this process)"),
        ("machine", machine + " (anything else running skews the latencies)"),
    ]  # fmt: skip
    width = max(len(name) for name, _ in rows)
    print()
    print(f"{'figure':<{width}} | value")
    print(f"{'-' * width}-|-{'-' * 60}")
    for name, value in rows:
        print(f"{name:<{width}} | {value}")
    print()
    if samples:
        line = "  ".join(f"{s:.0f}s:{mb:.1f}" for s, mb in samples[:: max(1, len(samples) // 12)])
        print(f"RSS samples (MB): {line}")

    failures = []
    if errors or shared.visitor_errors:
        failures.append(f"{len(errors)} failed turns, {len(shared.visitor_errors)} visitor errors")
        for t in errors[:5]:
            print(f"  turn v{t.visitor} s{t.session} t{t.index}: {t.error}")
        for message in shared.visitor_errors[:5]:
            print(f"  {message}")
    if isolation:
        failures.append(f"{len(isolation)} isolation problems")
        for problem in isolation[:5]:
            print(f"  {problem}")
    if repeated:
        failures.append(f"{repeated} questions reached the server more than once")
    if missing:
        failures.append(f"{missing} answered questions never reached the server")
    if tracebacks:
        failures.append(f"{tracebacks} tracebacks in the app log")
    if not ok:
        failures.append("no answers at all")
    allowed_mb = sessions_2nd * args.max_kib_per_session / 1024 + args.rss_noise_mb
    if not (growth_2nd <= allowed_mb):
        failures.append(
            f"app RSS grew {growth_2nd:+.1f} MB in the 2nd half; allowed {allowed_mb:.1f} MB "
            f"({sessions_2nd} new sessions x {args.max_kib_per_session:g} KiB + {args.rss_noise_mb:g} MB)"
        )
    print()
    print("RESULT:", "PASS" if not failures else "FAIL: " + "; ".join(failures))
    return 0 if not failures else 1


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # gradio_client runs each job in a worker thread; one stuck on a stream that never ends (a
    # broken set-up) would keep the interpreter from exiting. Everything is reported: leave now.
    os._exit(code)
