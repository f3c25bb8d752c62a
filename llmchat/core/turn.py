"""What one assistant turn looks like in the chat: notes, thinking, answer, stats.

The chat function yields ``ReplyView.render()`` after every update. A plain answer renders as a
plain string (the simplest thing for API clients); anything more renders as a list of messages, in
which llmchat's own parts carry a ``metadata`` title. Gradio shows those as small titled boxes,
and :func:`llmchat.core.messages.history_to_messages` never sends them back to the model.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from llmchat.core.server_data import Timings, Usage
from llmchat.engine.errors import Notice
from llmchat.engine.stream import StreamOutcome

THINKING_TITLE = "💭 Thinking"


@dataclass
class ReplyView:
    before: list[Notice] = field(default_factory=list)
    thinking: str = ""
    thinking_started: float | None = None
    thinking_seconds: float | None = None
    answer: str = ""
    after: list[Notice] = field(default_factory=list)
    stats: str | None = None
    finish_reason: str | None = None  # how the server said the answer ended; None: it did not say

    def add_thinking(self, text: str) -> None:
        if text:
            if self.thinking_started is None:
                self.thinking_started = time.monotonic()
            self.thinking += text

    def add_answer(self, text: str) -> None:
        if text:
            self.end_thinking()
            self.answer += text

    def end_thinking(self) -> None:
        if self.thinking_started is not None and self.thinking_seconds is None:
            self.thinking_seconds = time.monotonic() - self.thinking_started

    def render(self) -> str | list[dict[str, Any]]:
        if not (self.before or self.thinking or self.after or self.stats):
            return self.answer
        messages: list[dict[str, Any]] = [note.as_message() for note in self.before]
        if self.thinking:
            metadata: dict[str, Any] = {"title": THINKING_TITLE}
            if self.thinking_seconds is None:
                metadata["status"] = "pending"
            else:
                metadata.update(status="done", duration=round(self.thinking_seconds, 1))
            messages.append({"role": "assistant", "content": self.thinking, "metadata": metadata})
        if self.answer:
            messages.append({"role": "assistant", "content": self.answer})
        messages.extend(note.as_message() for note in self.after)
        if self.stats:
            messages.append(
                {"role": "assistant", "content": "", "metadata": {"title": self.stats, "status": "done"}}
            )
        return messages


def format_stats(outcome: StreamOutcome, prompt_estimate: int | None) -> str | None:
    """One compact line: time to first token, tokens/s, prompt + completion tokens.

    Figures the server reported (``usage``, llama.cpp's ``timings``) are used as they are, once
    :mod:`llmchat.core.server_data` has checked them (a wrong one is simply not there); what llmchat
    had to count or estimate itself is marked with "~".
    """
    if outcome.first_token_at is None:
        return None
    ttft = outcome.first_token_at - outcome.started
    usage = outcome.usage or Usage()
    timings = outcome.timings or Timings()
    completion = usage.completion_tokens or timings.predicted_n
    completion_mark = ""
    if not completion:
        completion, completion_mark = outcome.chunks, "~"  # one chunk is about one token
    prompt = usage.prompt_tokens or timings.prompt_n
    prompt_mark = ""
    if not prompt and prompt_estimate:
        prompt, prompt_mark = prompt_estimate, "~"
    rate = timings.predicted_per_second
    rate_mark = ""
    if not rate:
        span = (outcome.last_token_at or outcome.first_token_at) - outcome.first_token_at
        rate = (completion - 1) / span if span > 0 and completion > 1 else None
        rate_mark = "~" if completion_mark else ""
    parts = [f"⏱ {ttft:.2f} s to first token"]
    if rate:
        parts.append(f"{rate_mark}{rate:.1f} tokens/s")
    tokens = f"{completion_mark}{completion} completion tokens"
    if prompt:
        tokens = f"{prompt_mark}{prompt} prompt + {tokens}"
    parts.append(tokens)
    return " · ".join(parts)
