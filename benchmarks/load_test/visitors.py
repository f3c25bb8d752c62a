"""The visitors: what each turn asks the server to stream, and the threads that chat.

Each visitor has conversations of a few turns, each in a new session, until the deadline; every
message carries a unique marker and a ``[[test ...]]`` directive telling the server exactly
what to stream, so each answer can be checked character for character.
"""

from __future__ import annotations

import contextlib
import random
import re
import shlex
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from gradio_client import Client

from llmchat.testing.scripting import split_tokens

PRESET = "load"  # the app's preset: a chat whose system prompt is SYSTEM_PROMPT
SYSTEM_PROMPT = "You are the load-test assistant. 負荷テストのアシスタントです。"
MARKER = re.compile(r"MK-v(\d+)-s(\d+)-t(\d+)")
JAPANESE = [
    "日本語の答えです。",
    "「ストリーミング」を確認、",
    "漢字とひらがなとカタカナ。",
    "東京は晴れ、大阪は雨。",
    "一文字ずつ届きます。",
]
STREAMED_SECONDS = 1.0  # answers streaming at least this long must arrive in >= 3 partial outputs


@dataclass
class Turn:
    """One question of one session, what the server was told to answer, and what came."""

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


@dataclass
class Shared:
    """What the visitor threads share: the settings and everything recorded, under ``lock``."""

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
