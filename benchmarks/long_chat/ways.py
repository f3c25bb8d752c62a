"""The two ways to hold the conversation: llmchat (the real app) and the seed's Simple Chat."""

from __future__ import annotations

import contextlib
import json
import re
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common.local_model import start_embedded
from benchmarks.long_chat.conversation import PRESET, SAMPLING, SYSTEM_PROMPT, WARMUP
from benchmarks.long_chat.server_log import server_log, tokens_of
from benchmarks.long_chat.turn import Turn
from llmchat.testing.app_process import AppProcess

STATS_TTFT = re.compile(r"⏱ ([\d.]+) s to first token")
STATS_PROMPT = re.compile(r"~?(\d+) prompt \+")
LEFT_OUT = re.compile(r"(\d+) earlier messages were (?:not sent|summarized)")
APP_MESSAGES = re.compile(r"preset=\S+ mode=\S+ model=\S+ messages=(\d+)")
HARMLESS_NOTES = (
    "earlier messages were not sent",
    "earlier messages were summarized",
    "Reached the Max tokens limit",
)


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
    overflow = "drop"  # the preset's `overflow:`

    def __init__(self, n_ctx: int, max_tokens: int, threads: int | None = None) -> None:
        self.n_ctx, self.max_tokens, self.threads = n_ctx, max_tokens, threads
        self.turns: list[Turn] = []

    def start(self, stack: contextlib.ExitStack) -> None:
        from gradio_client import Client

        print("llmchat: gradio_client -> the app (gradio_app.py) -> its own llama_cpp.server", flush=True)
        self.server = start_embedded(stack, f"{self.name}-bench", self.n_ctx, self.threads)
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
            "overflow": self.overflow,
            "show_stats": False,  # the preset's starting value; each turn asks for stats (show_stats=True)
        }
        (config_dir / f"{PRESET}.yaml").write_text(json.dumps(settings, indent=1))  # JSON is YAML
        self.app_log = tmp / "app.log"
        # The harness leaves out this shell's LLMCHAT_*/GRADIO_*/OPENAI_* variables: none changes the app.
        self.app = AppProcess(
            "--config-dir", str(config_dir), "--preset", PRESET, log_path=self.app_log, ready_timeout=120
        )
        stack.callback(self.app.stop)
        self.app.start()
        url = self.app.url
        print(f"  app pid {self.app.proc.pid} at {url}", flush=True)
        Client(url, verbose=False).predict(WARMUP, max_tokens=8, api_name="/chat")  # another session
        self.client = Client(url, verbose=False)  # the benchmark's one conversation
        self.log = server_log(self.server)
        self.app_offset = self.app_log.stat().st_size

    @property
    def pids(self) -> dict[str, int]:
        return {"server": self.server.pid, "app": self.app.proc.pid}

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


class SummarizeWay(LlmchatWay):
    """llmchat with ``overflow: summarize``: a summary of the turns left out, made at each cut."""

    name = "summarize"
    works_between_turns = True  # after an answer the next cut's summary is written, its prompt warmed
    overflow = "summarize"


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
