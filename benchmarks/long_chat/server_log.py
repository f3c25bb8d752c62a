"""What llama_cpp.server's own log says about each request: prompt reuse, decode speed, warm-ups."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks.long_chat.turn import Turn


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
        this turn, so their prompt work is recorded on it. Other requests before the turn's own
        (the last) are summaries of left-out turns (``overflow: summarize``), recorded apart.
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
        answers = [
            i for i, (block, _) in enumerate(blocks) if (m := self.EVAL.search(block)) and int(m.group(2)) > 1
        ]
        for i, (block, total_ms) in enumerate(blocks):
            eval_match = self.EVAL.search(block)
            runs = int(eval_match.group(2)) if eval_match else 0
            prompt = self._prompt(block)
            if runs <= 1 and prompt is not None:
                turn.warmups += 1
                turn.warmup_evaluated = (turn.warmup_evaluated or 0) + prompt[1]
                turn.warmup_seconds = (turn.warmup_seconds or 0) + total_ms / 1000
                continue
            if answers and i != answers[-1] and prompt is not None:
                turn.summaries += 1
                turn.summary_evaluated = (turn.summary_evaluated or 0) + prompt[1]
                turn.summary_tokens = (turn.summary_tokens or 0) + runs + 1
                turn.summary_seconds = (turn.summary_seconds or 0) + total_ms / 1000
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
