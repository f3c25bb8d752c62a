"""Do long conversations stay fast and inside the context window? llmchat vs. the seed's Simple Chat.

Run ``.venv/bin/python -m benchmarks.long_chat`` (30 turns: about 11 minutes on 2 idle cores, far
longer when other processes compete for them) or ``--quick`` (14 turns; like any partial run, no
plot unless ``--png`` is given). ``--replot run.json`` prints the tables and draws the plot again
from an earlier run's ``--json`` file.

The same user messages go, one conversation each way, to SmolLM2-135M served by
``llama_cpp.server`` with ``n_ctx=2048`` (``llmchat.embedded.EmbeddedServer``; each way gets its
own fresh server, so prompt caches never mix):

1. **llmchat**: the real app as a child process (``gradio_app.py --config-dir TMP --preset
   long-chat``). Its preset points at that server with ``context_window: 2048``, so the app's
   context budget leaves out the oldest turns in quarter-window chunks. Each turn is sent with
   ``gradio_client`` in one session (one ``Client``) and timed from submit to the final answer.
2. **seed**: what the seed tutorial's Simple Chat does: the whole history, every turn, through the
   plain ``openai`` client (``stream=True``, the same sampling values) and nothing else. Once the
   prompt alone exceeds ``n_ctx``, llama-cpp-python answers 200 with an empty stream; such a turn
   counts as failed (empty answer or exception) and the conversation goes on as the seed's would:
   its history only grows, so every later turn fails too.

After each llmchat answer the benchmark waits ``--pause`` seconds (15 by default) before the next
question, as a person reads the answer and types: that is when llmchat's cache warm-up runs
(``llmchat/warmup.py``: when the next turn will leave out older turns, the server evaluates the
shortened conversation right after the answer). Nothing else runs meanwhile; the seed's turns do not
depend on it (it does nothing between turns). ``--pause 0`` sends the next question at once.

The two conversations run interleaved, turn by turn (odd turns llmchat first, even turns the seed
first), so that both meet the same load from other processes on the machine; ``--order
sequential`` runs one whole conversation after the other. Before turn 1 each way sends one short
request on another conversation (loading the model's pages, opening the app's connections), so
turn 1 is a steady-state turn, not a cold start.

Per turn: seconds from submit to final answer, time to first token (TTFT: submit -> first answer
text at the client), completion tokens, decode milliseconds per token, and the prompt tokens the
server saw and had to evaluate (not found in its prompt cache). Those last figures come from the
server's own log (llama-cpp-python is verbose by default: "N prefix-match hit, remaining M prompt
tokens to eval", "eval time = X ms / R runs"). Also how many CPU cores other processes used during
the turn: on 2 cores, llama.cpp's threads slow down many times over when anything else runs.

Which figure to compare: most answers hit max_tokens (a few stop early, so seconds per completion
token is printed too), and on a shared machine a turn's time depends mostly on what else runs. The
summary therefore also gives medians over *calm* turns only (other processes below 0.3 cores),
split into turns where llmchat left out older turns and turns where it did not: a turn without a
cut costs the new message's prompt tokens plus max_tokens decode steps; a cut turn re-evaluates the
whole prompt that is kept. The raw turn-30 / turn-1 ratio and the medians of turns 1-3 vs 28-30
are printed as well.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from llmchat.ports import free_port

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DEFAULT_PNG = ROOT / "docs" / "bench_long_chat.png"
PRESET = "long-chat"
N_CTX = 2048
MAX_TOKENS = 128
SYSTEM_PROMPT = "You are a helpful assistant."
# Sent identically both ways. What the issue does not fix is the seed's value (configs/local-chat.yaml).
SAMPLING = {
    "temperature": 0.0,
    "top_p": 0.0,
    "frequency_penalty": 0.0,
    "presence_penalty": 0.0,
    "seed": 1,
}
TARGET_RATIO = 1.5  # turn 30 no slower than 1.5 x turn 1
READING_PAUSE = 15.0  # seconds: reading a ~100-word answer and typing the next question take longer
CALM = 0.3  # a turn is "calm" when other processes used less than this many cores during it
WARMUP = "Hello! Who are you?"
QUICK_TURNS = 14  # enough to pass the window once: the seed fails from turn 13, llmchat cuts at 12

# One evening's conversation: 20-40 words each, several topics, some referring back.
MESSAGES = [
    "I'm planning a two-week trip to Japan next spring with my partner. We like food, hiking and "
    "old temples, but we hate crowds. Which cities and regions would you suggest we visit?",
    "We will land in Tokyo and fly home from Osaka. How should we split the fourteen days between "
    "places, and is the Japan Rail Pass still worth buying for that route?",
    "My partner is vegetarian and does not eat fish either. How hard is that in Japan, and which "
    "dishes or kinds of restaurants should we look for or avoid?",
    "Can you suggest a few day hikes near Kyoto or in the Japanese Alps that take four to six "
    "hours and do not need special equipment or a guide?",
    "Switching topics for a moment: I need to write a short speech for my sister's wedding. Give me "
    "an outline with a funny opening, a warm middle and a toast at the end.",
    "She met her husband at a climbing gym and they both love terrible puns. Could you suggest "
    "three gentle jokes about climbing that would not embarrass anyone's grandparents?",
    "Back to work questions. I manage a team of six software developers and our code reviews take "
    "days. What practical changes could make reviews faster without lowering quality?",
    "Some people on the team write huge pull requests with thousands of lines. How do I convince "
    "them to split work into smaller changes without sounding like I am micromanaging?",
    "Explain the difference between a process and a thread in simple terms, with an everyday "
    "analogy I could use when teaching junior developers who have never written concurrent code.",
    "In Python specifically, why does the global interpreter lock matter, and when should I choose "
    "multiprocessing, threads or asyncio for a program that downloads and parses many web pages?",
    "Write a short Python function that takes a list of URLs, downloads them concurrently with at "
    "most five at a time, and returns a dictionary mapping each URL to its status code.",
    "How would I add retries with exponential backoff to that function, and which kinds of errors "
    "should be retried rather than reported to the caller immediately?",
    "Let's talk about health. I sit at a desk for nine hours a day and my lower back hurts by "
    "evening. What simple habits or stretches could help, and when should I see a doctor?",
    "Is a standing desk actually better for you, or is that mostly marketing? I would like a "
    "balanced answer that mentions what research says about standing all day.",
    "I want to start running again after five years without any exercise. Could you give me a "
    "gentle eight-week plan with three runs a week that helps me avoid injury?",
    "What should I eat before and after a morning run if I usually have no appetite early and need "
    "to be at my desk by nine o'clock?",
    "My daughter is ten and asks why the sky is blue but sunsets are red. How can I explain light "
    "scattering to her without using any math or difficult words?",
    "She also wants to know why we have seasons. Many adults think it is because the Earth is "
    "closer to the Sun in summer. How do I explain the real reason simply?",
    "Can you suggest a simple science experiment we could do together at home this weekend with "
    "kitchen materials, that takes less than an hour and is safe for a child?",
    "I am thinking about buying an electric car. My commute is forty kilometres each way and I can "
    "charge at home. What should I compare between models besides the price?",
    "How much does cold winter weather really reduce an electric car's range, and are there habits "
    "that help, like preheating the cabin while it is still plugged in?",
    "Our family keeps arguing about whether to rent or buy a house. What questions should we ask "
    "ourselves before deciding, and which numbers matter most in the comparison?",
    "Can you explain how a fixed-rate mortgage differs from a variable-rate one, and what kind of "
    "household each usually suits, in plain language without financial jargon?",
    "I would like to learn three or four reliable weeknight dinners that take thirty minutes. "
    "Suggest some vegetarian ideas, since my partner eats neither meat nor fish.",
    "For the first dinner idea, write the full recipe for two people, with quantities, the order of "
    "the steps, and what can be prepared the night before to save time.",
    "I keep forgetting what I read in books. Which techniques do people use to remember the key "
    "ideas of non-fiction books months later, and how much time do they take?",
    "Recommend a few classic novels for someone who loved reading as a teenager but has only read "
    "work emails for years. Short ones would be best to get started again.",
    "Going back to our trip to Japan: what are some polite customs, or etiquette mistakes that "
    "foreign visitors often make, in temples, on trains and in restaurants?",
    "Could you write a short packing list for two weeks in Japan in April, assuming we travel with "
    "carry-on bags only and will do laundry once or twice?",
    "Finally, please summarise the main plans we discussed today, the trip, the wedding speech, "
    "running and the dinners, as a short to-do list I can print and put on the fridge.",
]
assert len(MESSAGES) == 30 and all(20 <= len(m.split()) <= 40 for m in MESSAGES)


# ----- records ---------------------------------------------------------------------------------------


@dataclass
class Turn:
    turn: int
    seconds: float | None = None  # submit -> final answer at the client
    ttft: float | None = None  # submit -> first answer text at the client
    app_ttft: float | None = None  # llmchat: the app's own stats (its request -> first token)
    completion_tokens: int | None = None  # the server's log (eval runs + 1), else counted
    finish_reason: str | None = None  # seed only (llmchat says "Reached the Max tokens limit")
    prompt_tokens: int | None = None  # what the server saw (cached + evaluated)
    prompt_evaluated: int | None = None  # the part not found in the server's prompt cache
    decode_ms_per_token: float | None = None  # the server's "eval time" / runs
    app_prompt_count: int | None = None  # llmchat: what its context budget counted
    messages_sent: int | None = None  # llmchat: from the app's log; seed: what it sent
    left_out: int = 0  # llmchat: "N earlier messages were not sent"
    notes: list[str] = field(default_factory=list)  # titles of llmchat's notes, stats excepted
    failed: bool = False
    error: str | None = None
    load1: float | None = None  # 1-minute load average when the turn started
    others_cores: float | None = None  # CPU cores other processes used during the turn
    server_cpu_s: float | None = None  # this way's llama_cpp.server
    app_cpu_s: float | None = None  # llmchat: the app process
    client_cpu_s: float | None = None  # this script (gradio_client or openai)
    warmups: int = 0  # llmchat: cache warm-ups the server ran for this turn (after the previous answer)
    warmup_evaluated: int | None = None  # ... the prompt tokens they evaluated
    warmup_seconds: float | None = None  # ... and how long they took on the server
    answer: str = ""


# ----- small helpers ---------------------------------------------------------------------------------


def load1() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


TICK = os.sysconf("SC_CLK_TCK")


def machine_busy() -> float:
    """CPU seconds all cores of the machine have been busy so far."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(fields) - fields[3] - fields[4]) / TICK  # minus idle and iowait


def process_cpu(pid: int | None) -> float:
    """CPU seconds a process has used (user + system, all its threads); 0 if it is gone."""
    if not pid:
        return 0.0
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


class CpuSnapshot:
    def __init__(self, pids: list[int]) -> None:
        self.at = time.monotonic()
        self.busy = machine_busy()
        self.cpu = {pid: process_cpu(pid) for pid in pids}

    def since(self, before: CpuSnapshot) -> tuple[float, float, dict[int, float]]:
        """(wall seconds, machine busy CPU seconds, CPU seconds of each of our processes)."""
        return (
            self.at - before.at,
            self.busy - before.busy,
            {p: c - before.cpu[p] for p, c in self.cpu.items()},
        )


class ServerLog:
    """What llama_cpp.server wrote since the last read (its log file is the child's stdout)."""

    PREFIX = re.compile(r"Llama\.generate: (\d+) prefix-match hit, remaining (\d+) prompt tokens to eval")
    PROMPT_EVAL = re.compile(r"prompt eval time =\s*[\d.]+ ms /\s*(\d+) tokens")
    EVAL = re.compile(r"^llama_perf_context_print:\s+eval time =\s*([\d.]+) ms /\s*(\d+) runs", re.M)
    OVERFLOW = re.compile(r"Requested tokens \((\d+)\) exceed context window")

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = path.stat().st_size

    TOTAL = re.compile(r"^llama_perf_context_print:\s+total time =\s*([\d.]+) ms.*$", re.M)

    def fill(self, turn: Turn) -> None:
        """Read the requests the server finished since the last call; the turn's is the longest.

        A request's log ends with its "total time" line; text after the last such line belongs to
        a request still running (llmchat's cache warm-up starts right after an answer) and is kept
        for the next call. Requests that decoded at most one token are warm-ups: they prepared
        this turn, so their prompt work is recorded on it.
        """
        time.sleep(0.2)  # the server writes its timings just after the last chunk
        with self.path.open("rb") as file:
            file.seek(self.offset)
            data = file.read()
        text = data.decode("utf-8", "replace")
        ends = list(self.TOTAL.finditer(text))
        blocks, begin = [], 0
        for end in ends:
            blocks.append((text[begin : end.end()], float(end.group(1))))
            begin = end.end()
        if match := self.OVERFLOW.search(text, begin):  # a request that failed: it logs no timings
            turn.prompt_tokens = int(match.group(1))
            begin = len(text)
        self.offset += len(text[:begin].encode("utf-8"))
        for block, total_ms in blocks:
            eval_match = self.EVAL.search(block)
            runs = int(eval_match.group(2)) if eval_match else 0
            prompt = self._prompt(block)
            if runs <= 1 and prompt is not None:
                turn.warmups += 1
                turn.warmup_evaluated = (turn.warmup_evaluated or 0) + prompt[1]
                turn.warmup_seconds = (turn.warmup_seconds or 0) + total_ms / 1000
                continue
            if prompt is not None:
                turn.prompt_tokens, turn.prompt_evaluated = prompt
            if eval_match:
                turn.completion_tokens = runs + 1  # the first token comes out of the prompt's evaluation
                turn.decode_ms_per_token = float(eval_match.group(1)) / runs if runs else None

    def _prompt(self, block: str) -> tuple[int, int] | None:
        """(prompt tokens, of which evaluated) of one request's log block."""
        if found := self.PREFIX.findall(block):
            cached, rest = int(found[-1][0]), int(found[-1][1])
            return cached + rest, rest
        if match := self.PROMPT_EVAL.search(block):  # nothing was cached
            return int(match.group(1)), int(match.group(1))
        return None


def start_embedded(stack: contextlib.ExitStack, name: str, n_ctx: int, threads: int | None) -> Any:
    """A fresh llama_cpp.server with SmolLM2, stopped when ``stack`` closes."""
    from llmchat.embedded import EmbeddedServer, EmbeddedSettings

    settings = EmbeddedSettings(model="smollm2", n_ctx=n_ctx, n_threads=threads)  # None: every core
    server = EmbeddedServer(settings, name=name)
    began = time.monotonic()
    stack.callback(server.stop)
    server.start()
    print(
        f"  {name}: llama_cpp.server pid {server.pid}, ready in {time.monotonic() - began:.1f} s", flush=True
    )
    return server


def server_log(server: Any) -> ServerLog:
    return ServerLog(Path(server._logfile))  # where EmbeddedServer keeps the child's output (log_tail)


def tokens_of(base_url: str, text: str) -> int | None:
    """Token count with the server's tokenizer, when its log said nothing."""
    if not text:
        return 0
    try:
        response = httpx.post(
            base_url.removesuffix("/v1") + "/extras/tokenize",
            json={"input": text},
            timeout=10,
            trust_env=False,
        )
        return len(response.json()["tokens"])
    except (httpx.HTTPError, ValueError, KeyError):
        return None


# ----- way 1: llmchat --------------------------------------------------------------------------------

STATS_TTFT = re.compile(r"⏱ ([\d.]+) s to first token")
STATS_PROMPT = re.compile(r"~?(\d+) prompt \+")
LEFT_OUT = re.compile(r"(\d+) earlier messages were not sent")
APP_MESSAGES = re.compile(r"preset=\S+ mode=\S+ model=\S+ messages=(\d+)")
HARMLESS_NOTES = ("earlier messages were not sent", "Reached the Max tokens limit")


def answer_and_titles(output: Any) -> tuple[str, list[str]]:
    """The answer text of a chat output, and the titles of llmchat's notes in it."""
    if isinstance(output, str):
        return output, []
    answer, titles = [], []
    for item in output if isinstance(output, list | tuple) else []:
        if not isinstance(item, dict):
            continue
        title = (item.get("metadata") or {}).get("title")
        if title:
            titles.append(str(title))
        elif isinstance(item.get("content"), str):
            answer.append(item["content"])
    return "".join(answer), titles


class LlmchatWay:
    name = "llmchat"
    works_between_turns = True  # the cache warm-up after an answer (llmchat/warmup.py)

    def __init__(self, n_ctx: int, max_tokens: int, threads: int | None = None) -> None:
        self.n_ctx, self.max_tokens, self.threads = n_ctx, max_tokens, threads
        self.turns: list[Turn] = []

    def start(self, stack: contextlib.ExitStack) -> None:
        from gradio_client import Client

        print("llmchat: gradio_client -> the app (gradio_app.py) -> its own llama_cpp.server", flush=True)
        self.server = start_embedded(stack, "llmchat-bench", self.n_ctx, self.threads)
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="long-chat-")))
        config_dir = tmp / "configs"
        config_dir.mkdir()
        settings = {
            "name": "Long chat benchmark",
            "mode": "chat",
            "base_url": self.server.base_url,
            "api_key": "Dummy",
            "model": "smollm2",
            "system_prompt": SYSTEM_PROMPT,
            **SAMPLING,
            "max_tokens": self.max_tokens,
            "context_window": self.n_ctx,
            "show_stats": False,  # the preset's starting value; each turn asks for stats (show_stats=True)
        }
        (config_dir / f"{PRESET}.yaml").write_text(json.dumps(settings, indent=1))  # JSON is YAML
        self.app_log = tmp / "app.log"
        port = free_port()
        # Nothing from this shell may change the app: no LLMCHAT_*/GRADIO_*/OPENAI_* variables.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LLMCHAT_", "GRADIO_", "OPENAI_"))}
        with self.app_log.open("wb") as out:
            argv = ["gradio_app.py", "--config-dir", str(config_dir), "--preset", PRESET, "--port", str(port)]
            self.app = subprocess.Popen(  # noqa: S603 - our own interpreter and entry point
                [PYTHON, *argv],
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )
        stack.callback(self._stop_app)
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 120
        while True:
            if self.app.poll() is not None:
                raise RuntimeError(
                    f"the app exited ({self.app.returncode}):\n{self.app_log.read_text()[-3000:]}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=2, trust_env=False).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("the app did not answer within 120 s")
            time.sleep(0.3)
        print(f"  app pid {self.app.pid} at {url}", flush=True)
        Client(url, verbose=False).predict(WARMUP, max_tokens=8, api_name="/chat")  # another session
        self.client = Client(url, verbose=False)  # the benchmark's one conversation
        self.log = server_log(self.server)
        self.app_offset = self.app_log.stat().st_size

    def _stop_app(self) -> None:
        if self.app.poll() is None:
            self.app.send_signal(signal.SIGTERM)
            try:
                self.app.wait(20)
            except subprocess.TimeoutExpired:
                self.app.kill()
                self.app.wait(5)

    @property
    def pids(self) -> dict[str, int]:
        return {"server": self.server.pid, "app": self.app.pid}

    def run_turn(self, number: int, message: str) -> Turn:
        turn = Turn(number)
        start = time.perf_counter()
        job = self.client.submit(message, show_stats=True, api_name="/chat")
        while not job.done():
            if turn.ttft is None:
                outputs = job.outputs()
                if outputs and answer_and_titles(outputs[-1])[0]:
                    turn.ttft = time.perf_counter() - start
            time.sleep(0.005)
        try:
            final = job.result()
        except Exception as exc:  # the app failing is a finding, not the benchmark's crash
            final, turn.error = None, f"{type(exc).__name__}: {exc}"[:300]
        turn.seconds = time.perf_counter() - start
        answer, titles = answer_and_titles(final)
        turn.answer = answer
        if turn.ttft is None and answer:
            turn.ttft = turn.seconds  # the whole answer came in the final update
        for title in titles:
            if title.startswith("⏱"):
                if match := STATS_TTFT.search(title):
                    turn.app_ttft = float(match.group(1))
                if match := STATS_PROMPT.search(title):
                    turn.app_prompt_count = int(match.group(1))
                continue
            if match := LEFT_OUT.search(title):
                turn.left_out = int(match.group(1))
            turn.notes.append(title)
        # A context error (or any error) is a note other than "left out" and "Max tokens", or no answer.
        harmful = [t for t in turn.notes if not any(h in t for h in HARMLESS_NOTES)]
        turn.failed = bool(harmful) or not answer.strip() or turn.error is not None
        if harmful and not turn.error:
            turn.error = "; ".join(harmful)
        self.log.fill(turn)
        with self.app_log.open("rb") as file:
            file.seek(self.app_offset)
            data = file.read()
        self.app_offset += len(data)
        if found := APP_MESSAGES.findall(data.decode("utf-8", "replace")):
            turn.messages_sent = int(found[-1])
        if turn.completion_tokens is None:
            turn.completion_tokens = tokens_of(self.server.base_url, answer)
        return turn


# ----- way 2: the seed's Simple Chat -----------------------------------------------------------------


class SeedWay:
    name = "seed"
    works_between_turns = False

    def __init__(self, n_ctx: int, max_tokens: int, threads: int | None = None) -> None:
        self.n_ctx, self.max_tokens, self.threads = n_ctx, max_tokens, threads
        self.turns: list[Turn] = []

    def start(self, stack: contextlib.ExitStack) -> None:
        import openai

        print(
            "seed: the whole history every turn, plain openai client -> its own llama_cpp.server", flush=True
        )
        self.server = start_embedded(stack, "seed-bench", self.n_ctx, self.threads)
        self.client = openai.OpenAI(base_url=self.server.base_url, api_key="Dummy")  # defaults, as the seed
        self.params = {"model": "smollm2", "stream": True, "max_tokens": self.max_tokens, **SAMPLING}
        system = {"role": "system", "content": SYSTEM_PROMPT}
        warmup = [system, {"role": "user", "content": WARMUP}]
        for _ in self.client.chat.completions.create(messages=warmup, **{**self.params, "max_tokens": 8}):
            pass
        self.history: list[dict[str, str]] = [system]
        self.log = server_log(self.server)

    @property
    def pids(self) -> dict[str, int]:
        return {"server": self.server.pid}

    def run_turn(self, number: int, message: str) -> Turn:
        turn = Turn(number)
        self.history.append({"role": "user", "content": message})
        turn.messages_sent = len(self.history)
        answer, chunks = "", 0
        start = time.perf_counter()
        try:
            for chunk in self.client.chat.completions.create(messages=self.history, **self.params):
                if not chunk.choices:
                    continue
                choice = chunk.choices[0]
                if choice.delta and choice.delta.content:
                    if turn.ttft is None:
                        turn.ttft = time.perf_counter() - start
                    answer += choice.delta.content
                    chunks += 1
                if choice.finish_reason:
                    turn.finish_reason = choice.finish_reason
        except Exception as exc:  # what the seed shows as a traceback
            turn.error = f"{type(exc).__name__}: {exc}"[:300]
        turn.seconds = time.perf_counter() - start
        if turn.error is None:
            self.history.append({"role": "assistant", "content": answer})  # the seed keeps even ""
        turn.answer = answer
        turn.failed = turn.error is not None or not answer.strip()
        if turn.failed and turn.error is None:
            turn.error = "200 OK, empty stream"
        self.log.fill(turn)
        if turn.completion_tokens is None:
            turn.completion_tokens = chunks
        return turn


# ----- running ---------------------------------------------------------------------------------------


def run(ways: list[Any], messages: list[str], order: str, pause: float = 0.0) -> None:
    """Send the messages each way: turn by turn alternately, or one conversation after the other.

    ``pause``: the visitor's reading time after each answer of a way that works between turns (so
    nothing else runs on the machine meanwhile); the other way's turns do not depend on it.
    """
    with contextlib.ExitStack() as stack:
        for way in ways:
            way.start(stack)
        me = os.getpid()
        everyone = [me, *(pid for way in ways for pid in way.pids.values())]
        if order == "interleaved":
            schedule = [
                (n, way) for n in range(1, len(messages) + 1) for way in (ways if n % 2 else ways[::-1])
            ]
        else:
            schedule = [(n, way) for way in ways for n in range(1, len(messages) + 1)]
        print(f"{len(messages)} turns, {order}", flush=True)
        for number, way in schedule:
            load = load1()
            before = CpuSnapshot(everyone)
            turn = way.run_turn(number, messages[number - 1])
            wall, busy, ours = CpuSnapshot(everyone).since(before)
            turn.load1 = load
            turn.others_cores = max(0.0, busy - sum(ours.values())) / wall if wall > 0 else None
            turn.client_cpu_s = ours[me]
            turn.server_cpu_s = ours[way.pids["server"]]
            if "app" in way.pids:
                turn.app_cpu_s = ours[way.pids["app"]]
            way.turns.append(turn)
            print_turn(way.name, turn)
            if pause and way.works_between_turns:
                time.sleep(pause)


# ----- reporting -------------------------------------------------------------------------------------


def fmt(value: float | int | None, spec: str = ".2f") -> str:
    return "–" if value is None else format(value, spec)


def print_turn(way: str, t: Turn) -> None:
    notes = f"  left out {t.left_out} messages" if t.left_out else ""
    if t.warmups:
        notes += f"  (warm-up before it: {t.warmup_evaluated} tokens in {fmt(t.warmup_seconds)} s)"
    if t.failed:
        notes += f"  FAILED: {t.error}"
    print(
        f"  {way:7} turn {t.turn:2}: {fmt(t.seconds)} s, TTFT {fmt(t.ttft)} s, "
        f"{fmt(t.completion_tokens, 'd')} tokens, decode {fmt(t.decode_ms_per_token, '.1f')} ms/token, "
        f"prompt {fmt(t.prompt_tokens, 'd')} "
        f"({fmt(t.prompt_evaluated, 'd')} evaluated), {fmt(t.messages_sent, 'd')} messages sent, "
        f"others used {fmt(t.others_cores)} cores{notes}",
        flush=True,
    )


def seconds_per_token(t: Turn) -> float | None:
    return t.seconds / t.completion_tokens if t.seconds is not None and t.completion_tokens else None


def summary(turns: list[Turn]) -> dict[str, Any]:
    ok = [t for t in turns if not t.failed]
    head, tail = turns[:3], turns[-3:]
    walls = sum(t.seconds or 0 for t in turns)
    out: dict[str, Any] = {
        "turns": len(turns),
        "failed": sum(t.failed for t in turns),
        "first_failed_turn": next((t.turn for t in turns if t.failed), None),
        "cut_turns": [
            t.turn for i, t in enumerate(turns) if t.left_out != (turns[i - 1].left_out if i else 0)
        ],
        "first_s": turns[0].seconds if turns else None,
        "last_s": turns[-1].seconds if turns else None,
        "largest_prompt": max((t.prompt_tokens or 0 for t in ok), default=None),
        "others_cores": sum((t.others_cores or 0) * (t.seconds or 0) for t in turns) / walls
        if walls
        else None,
    }
    for key, get in (
        ("s", lambda t: t.seconds),
        ("ttft", lambda t: t.ttft),
        ("s_per_token", seconds_per_token),
        ("decode_ms", lambda t: t.decode_ms_per_token),
    ):
        out[f"head_{key}"] = median([get(t) for t in head if not t.failed])
        out[f"tail_{key}"] = median([get(t) for t in tail if not t.failed])
        out[f"ratio_{key}"] = ratio(out[f"tail_{key}"], out[f"head_{key}"])
    out["ratio_last_first"] = ratio(out["last_s"], out["first_s"])
    out["slowest_s"] = max((t.seconds for t in ok if t.seconds is not None), default=None)
    out["ratio_slowest_first"] = ratio(out["slowest_s"], out["first_s"])
    cut = [t for t in ok if t.turn in out["cut_turns"]]
    out["cut_s"] = median([t.seconds for t in cut])
    out["cut_evaluated"] = median([t.prompt_evaluated for t in cut])
    out["warmups"] = sum(t.warmups for t in turns)
    out["warmup_evaluated"] = median([t.warmup_evaluated for t in turns if t.warmups])
    out["warmup_s"] = median([t.warmup_seconds for t in turns if t.warmups])
    # On a shared machine: only the turns during which other processes left the CPU (nearly) alone.
    calm = [t for t in ok if t.others_cores is not None and t.others_cores < CALM]
    plain = [t for t in calm if t.turn not in out["cut_turns"]]
    half = (len(turns) + 1) // 2
    for key, group in (
        ("calm_plain", plain),
        ("calm_plain_early", [t for t in plain if t.turn <= half]),
        ("calm_plain_late", [t for t in plain if t.turn > half]),
        ("calm_cut", [t for t in calm if t.turn in out["cut_turns"]]),
    ):
        out[f"{key}_turns"] = [t.turn for t in group]
        out[f"{key}_s"] = median([t.seconds for t in group])
        out[f"{key}_ttft"] = median([t.ttft for t in group])
    return out


def markdown(app: LlmchatWay | None, seed: SeedWay | None, n_ctx: int, max_tokens: int) -> str:
    n = max(len(w.turns) for w in (app, seed) if w)
    lines = [
        "| turn | other load | llmchat s | TTFT s | tokens | prompt (evaluated) | sent "
        "| seed s | TTFT s | tokens | prompt (evaluated) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | :--- | ---: | ---: | ---: | ---: |",
    ]
    for i in range(n):
        a = app.turns[i] if app and i < len(app.turns) else None
        s = seed.turns[i] if seed and i < len(seed.turns) else None
        cells = [str(i + 1), " / ".join(fmt(t.others_cores, ".1f") for t in (a, s) if t)]
        if a:
            sent = f"{a.messages_sent} msgs" if a.messages_sent else ""
            if a.left_out:
                sent += f" ({a.left_out} left out)"
            if a.failed:
                sent += f" **{a.error}**"
            prompt = f"{fmt(a.prompt_tokens, 'd')} ({fmt(a.prompt_evaluated, 'd')})"
            cells += [fmt(a.seconds), fmt(a.ttft), fmt(a.completion_tokens, "d"), prompt, sent]
        else:
            cells += ["–"] * 5
        if s and s.failed:
            over = f"{s.prompt_tokens} > {n_ctx}: " if s.prompt_tokens else ""
            cells += [fmt(s.seconds), "–", "**failed**", f"{over}{s.error}"]
        elif s:
            tokens = fmt(s.completion_tokens, "d")
            if s.finish_reason == "length" and (s.completion_tokens or 0) < max_tokens:
                tokens += " (window full)"
            prompt = f"{fmt(s.prompt_tokens, 'd')} ({fmt(s.prompt_evaluated, 'd')})"
            cells += [fmt(s.seconds), fmt(s.ttft), tokens, prompt]
        else:
            cells += ["–"] * 4
        lines.append("| " + " | ".join(cells) + " |")

    sa = summary(app.turns) if app else {}
    ss = summary(seed.turns) if seed else {}
    span = f"turns 1–3 → {n - 2}–{n}"

    def trend(d: dict[str, Any], key: str, scale: float = 1, spec: str = ".2f") -> str:
        head, tail = d.get(f"head_{key}"), d.get(f"tail_{key}")
        if head is None:
            return "–"
        text = f"{fmt(head * scale, spec)} → {fmt(tail * scale if tail is not None else None, spec)}"
        return text + (f" ({d[f'ratio_{key}']:.2f}×)" if d.get(f"ratio_{key}") is not None else "")

    lines += [
        "",
        "| | llmchat | seed |",
        "| --- | ---: | ---: |",
        f"| turn 1 → turn {n}, s | {fmt(sa.get('first_s'))} → {fmt(sa.get('last_s'))} "
        f"({fmt(sa.get('ratio_last_first'))}×) | {fmt(ss.get('first_s'))} → "
        + ("failed" if seed and seed.turns[-1].failed else fmt(ss.get("last_s")))
        + " |",
        f"| median s per turn, {span} | {trend(sa, 's')} | {trend(ss, 's')} |",
        f"| median TTFT s, {span} | {trend(sa, 'ttft')} | {trend(ss, 'ttft')} |",
        f"| median ms per completion token (turn s ÷ tokens), {span} "
        f"| {trend(sa, 's_per_token', 1000, '.1f')} | {trend(ss, 's_per_token', 1000, '.1f')} |",
        f"| median decode ms/token (server log), {span} | {trend(sa, 'decode_ms', 1, '.1f')} "
        f"| {trend(ss, 'decode_ms', 1, '.1f')} |",
        f"| failed turns | {sa.get('failed', '–')} | {ss.get('failed', '–')}"
        + (f" (turns {ss['first_failed_turn']}–{n})" if ss.get("first_failed_turn") else "")
        + " |",
        f"| largest prompt answered, tokens | {fmt(sa.get('largest_prompt'), 'd')} "
        f"| {fmt(ss.get('largest_prompt'), 'd')} |",
        f"| turns where older turns were cut | {', '.join(map(str, sa.get('cut_turns') or [])) or '–'} | – |",
        f"| slowest turn, s (÷ turn 1) | {fmt(sa.get('slowest_s'))} ({fmt(sa.get('ratio_slowest_first'))}×) "
        f"| {fmt(ss.get('slowest_s'))} ({fmt(ss.get('ratio_slowest_first'))}×) |",
        f"| turns with a cut: median s, prompt tokens evaluated | {fmt(sa.get('cut_s'))} s, "
        f"{fmt(sa.get('cut_evaluated'), '.0f')} | – |",
        f"| cache warm-ups while reading: count, median tokens, median s | {sa.get('warmups', 0)}"
        + (
            f", {fmt(sa.get('warmup_evaluated'), '.0f')}, {fmt(sa.get('warmup_s'))} s"
            if sa.get("warmups")
            else ""
        )
        + " | – |",
        f"| other processes' CPU during the turns, cores of {os.cpu_count()} | {fmt(sa.get('others_cores'))} "
        f"| {fmt(ss.get('others_cores'))} |",
    ]

    def calm(d: dict[str, Any], key: str) -> str:
        turns = d.get(f"{key}_turns") or []
        if not turns:
            return "–"
        count = f"{len(turns)} turn{'s' if len(turns) > 1 else ''}"
        return f"{fmt(d[f'{key}_s'])} s, TTFT {fmt(d[f'{key}_ttft'])} s ({count})"

    half = (n + 1) // 2
    lines += [
        f"| *calm turns only (others < {CALM} cores):* | | |",
        f"| median, turns without a cut, 1–{half} | {calm(sa, 'calm_plain_early')} "
        f"| {calm(ss, 'calm_plain_early')} |",
        f"| median, turns without a cut, {half + 1}–{n} | {calm(sa, 'calm_plain_late')} "
        f"| {calm(ss, 'calm_plain_late')} |",
        f"| median, turns with a cut | {calm(sa, 'calm_cut')} | – |",
    ]
    return "\n".join(lines)


def load_json(path: Path) -> tuple[LlmchatWay | None, SeedWay | None, dict[str, Any]]:
    """The ways of an earlier run, from its --json file."""
    data = json.loads(path.read_text())
    ways: dict[str, Any] = {}
    for cls in (LlmchatWay, SeedWay):
        if cls.name in data["ways"]:
            way = cls(data["n_ctx"], data["max_tokens"])
            way.turns = [Turn(**t) for t in data["ways"][cls.name]["turns"]]
            ways[cls.name] = way
    return ways.get("llmchat"), ways.get("seed"), data


def _line(ax: Any, style: tuple[list[int], list[str], str, str], values: list[Any], label: str) -> None:
    """A line, with filled markers for calm turns and hollow ones for the others."""
    x, faces, color, marker = style
    ax.plot(x, values, color=color, lw=1.2, label=label)
    ax.scatter(x, values, s=22, marker=marker, facecolors=faces, edgecolors=color, zorder=3)


def plot(
    app: LlmchatWay | None, seed: SeedWay | None, path: Path, n_ctx: int, pause: float | None = None
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, axes = plt.subplots(2, 2, figsize=(13, 8.5), sharex=True)
    (ax_s, ax_ttft), (ax_tok, ax_prompt) = axes
    styles = {"llmchat": ("tab:blue", "o", "llmchat"), "seed": ("tab:red", "s", "seed (whole history)")}
    ways = [w for w in (app, seed) if w]
    last = max(len(w.turns) for w in ways)
    first_fail = summary(seed.turns)["first_failed_turn"] if seed else None
    cuts = summary(app.turns)["cut_turns"] if app else []

    for way in ways:
        color, marker, label = styles[way.name]
        ok = [t for t in way.turns if not t.failed]
        bad = [t for t in way.turns if t.failed]
        x = [t.turn for t in ok]
        # Filled markers: calm turns; hollow: other processes used >= CALM cores during the turn.
        faces = [color if t.others_cores is not None and t.others_cores < CALM else "white" for t in ok]

        style = (x, faces, color, marker)
        _line(ax_s, style, [t.seconds for t in ok], label)
        _line(ax_ttft, style, [t.ttft for t in ok], label)
        _line(
            ax_tok,
            style,
            [1000 * s if (s := seconds_per_token(t)) else None for t in ok],
            f"{label}: turn s ÷ tokens",
        )
        decode = [t.decode_ms_per_token for t in ok]
        ax_tok.plot(x, decode, ls=":", color=color, label=f"{label}: decode only (server log)")
        ax_prompt.plot(
            x, [t.prompt_tokens for t in ok], marker=marker, ms=4, color=color, label=f"{label}: prompt"
        )
        evaluated = [t.prompt_evaluated for t in ok]
        ax_prompt.plot(
            x, evaluated, ls=":", color=color, label=f"{label}: evaluated (not in the prompt cache)"
        )
        if bad:
            xb = [t.turn for t in bad]
            ax_s.plot(  # along the bottom edge: each took only a few hundredths of a second
                xb,
                [0.04] * len(xb),
                "x",
                ms=8,
                color=color,
                transform=ax_s.get_xaxis_transform(),
                label=f"{label}: failed at once (empty answer)",
            )
            ax_prompt.plot(
                xb, [t.prompt_tokens for t in bad], "x", ms=8, color=color, label=f"{label}: rejected"
            )
    others = [(t.turn, t.others_cores or 0) for t in (app or seed).turns]
    twin = ax_s.twinx()
    twin.fill_between(
        [x for x, _ in others], [y for _, y in others], step="mid", color="gray", alpha=0.15, lw=0
    )
    twin.set_ylim(0, (os.cpu_count() or 2) * 2)
    twin.set_ylabel("other processes' CPU (cores), grey", color="gray", fontsize=8)
    for ax in axes.flat:
        if first_fail:
            ax.axvspan(first_fail - 0.5, last + 0.5, color="tab:red", alpha=0.06, lw=0)
        for i, turn in enumerate(cuts):
            label = "llmchat cut old turns" if i == 0 else None
            ax.axvline(turn, color="tab:blue", ls="--", lw=0.8, alpha=0.6, label=label)
        ax.grid(alpha=0.3)
        ax.set_xlim(0.5, last + 0.5)
    plain = matplotlib.ticker.FuncFormatter(lambda value, _: f"{value:g}")
    for ax in (ax_s, ax_ttft, ax_tok):  # a log scale: load spikes reach 20-100x a calm turn
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        low, high = ax.get_ylim()
        ax.set_ylim(low, high * 5)  # room for the legend above the data
    ax_prompt.axhline(n_ctx, color="black", lw=1)
    ax_prompt.annotate(
        f"n_ctx = {n_ctx}",
        (last + 0.4, n_ctx),
        xytext=(0, 3),
        textcoords="offset points",
        ha="right",
        fontsize=8,
    )
    highest = max((t.prompt_tokens or 0 for w in ways for t in w.turns), default=0)
    ax_prompt.set_ylim(0, max(highest, n_ctx) * 1.08)
    hollow = {"marker": "o", "facecolors": "white", "edgecolors": "gray"}
    ax_s.scatter([], [], s=22, label=f"other processes used ≥ {CALM} cores", **hollow)
    for ax in axes.flat:
        ax.legend(fontsize=7, loc="upper left", ncol=1 if ax is ax_prompt else 2)
    if first_fail:
        wide = last - first_fail >= 6
        ax_ttft.annotate(
            "seed: every turn fails from here\n(prompt > n_ctx: 200 OK, empty stream)",
            (first_fail - 0.3 if wide else first_fail - 0.7, 0.8),
            xycoords=("data", "axes fraction"),
            va="top",
            ha="left" if wide else "right",
            fontsize=8,
            color="tab:red",
        )
    ax_s.set_ylabel("seconds per turn (submit → final answer)")
    ax_ttft.set_ylabel("time to first token, s")
    ax_tok.set_ylabel("ms per completion token")
    ax_prompt.set_ylabel("prompt tokens")
    ax_tok.set_xlabel("turn")
    ax_prompt.set_xlabel("turn")
    fig.suptitle(
        f"{last}-turn chat with SmolLM2-135M on llama_cpp.server (n_ctx {n_ctx}, max_tokens "
        f"{(app or seed).max_tokens}, {os.cpu_count()} cores): "
        "llmchat's context budget vs. the seed's Simple Chat"
        + (
            f"\n{pause:g} s reading time after each llmchat answer (its cache warm-up runs then)"
            if pause
            else ""
        ),
        fontsize=10,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


# ----- main ------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.long_chat", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--turns", type=int, default=30, help="turns per conversation, at most 30 (default 30)"
    )
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_TURNS} turns; no plot unless --png is given"
    )
    parser.add_argument(
        "--max-tokens", type=int, default=MAX_TOKENS, help=f"answer length cap (default {MAX_TOKENS})"
    )
    parser.add_argument("--ways", choices=["both", "llmchat", "seed"], default="both")
    parser.add_argument(
        "--pause",
        type=float,
        default=READING_PAUSE,
        help=f"seconds the visitor reads each llmchat answer before the next message (default "
        f"{READING_PAUSE:g}; 0 = the next message the instant the answer ends)",
    )
    parser.add_argument("--order", choices=["interleaved", "sequential"], default="interleaved")
    parser.add_argument(
        "--threads",
        type=int,
        help="llama.cpp threads per server (default: llmchat's, every core; 1 is far steadier when "
        "other processes compete for a 2-core machine)",
    )
    parser.add_argument(
        "--png",
        type=Path,
        help=f"the plot (default: {DEFAULT_PNG.relative_to(ROOT)} for a full 30-turn run of both ways)",
    )
    parser.add_argument("--json", type=Path, help="also write every figure and answer here")
    parser.add_argument(
        "--replot", type=Path, metavar="JSON", help="only print the tables and plot an earlier --json run"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.turns <= len(MESSAGES):
        parser.error(f"--turns must be 1 to {len(MESSAGES)}")

    if args.replot:
        app, seed, data = load_json(args.replot)
        turns, max_tokens, order, png = len(data["messages"]), data["max_tokens"], data["order"], args.png
        threads = data.get("threads")
        pause = data.get("pause")
        print(f"load average before: {data.get('load_before', '?')}; after: {data.get('load_after', '?')}")
    else:
        turns = QUICK_TURNS if args.quick and args.turns == 30 else args.turns
        max_tokens, order, threads, pause = args.max_tokens, args.order, args.threads, args.pause
        full = turns == len(MESSAGES) and args.ways == "both"  # only a full run replaces the docs' plot
        png = args.png or (DEFAULT_PNG if full else None)
        app = LlmchatWay(N_CTX, max_tokens, args.threads) if args.ways in ("both", "llmchat") else None
        seed = SeedWay(N_CTX, max_tokens, args.threads) if args.ways in ("both", "seed") else None
        load_before = Path("/proc/loadavg").read_text().strip()
        print(f"load average before: {load_before} ({os.cpu_count()} cores)", flush=True)
        began = time.monotonic()
        run([w for w in (app, seed) if w], MESSAGES[:turns], order, args.pause)
        load_after = Path("/proc/loadavg").read_text().strip()
        print(f"load average after: {load_after}; {time.monotonic() - began:.0f} s")

    print(
        f"\nSmolLM2-135M on llama_cpp.server (n_ctx {N_CTX}), max_tokens {max_tokens}, temperature 0, "
        f"{turns} turns, {order}, llama.cpp threads: {threads or 'every core'}. s = submit → final answer; "
        "TTFT = submit → first answer text at the "
        "client; prompt = tokens the server saw (evaluated = not in its prompt cache); other load = cores "
        "used by other processes during the turn (llmchat / seed).\n"
    )
    print(markdown(app, seed, N_CTX, max_tokens))
    print()
    status = 0
    if app:
        s = summary(app.turns)
        print(
            f"llmchat: turn {turns} / turn 1 = {fmt(s['ratio_last_first'])}× (target ≤ {TARGET_RATIO}×); "
            f"median of turns {turns - 2}–{turns} / median of turns 1–3: {fmt(s['ratio_s'])}× seconds per "
            f"turn, {fmt(s['ratio_ttft'])}× TTFT, {fmt(s['ratio_s_per_token'])}× seconds per completion "
            f"token; failed turns: {s['failed']}"
        )
        if s["failed"]:
            status = 1
    if png:
        plot(app, seed, png, N_CTX, pause)
        print(f"plot: {png}")
    if args.json and not args.replot:
        data = {
            "n_ctx": N_CTX,
            "max_tokens": max_tokens,
            "order": order,
            "threads": args.threads,
            "pause": args.pause,
            "load_before": load_before,
            "load_after": load_after,
            "messages": MESSAGES[:turns],
            "ways": {
                w.name: {"summary": summary(w.turns), "turns": [asdict(t) for t in w.turns]}
                for w in (app, seed)
                if w
            },
        }
        args.json.write_text(json.dumps(data, indent=1, ensure_ascii=False))
        print(f"data: {args.json}")
    return status


if __name__ == "__main__":
    sys.exit(main())
