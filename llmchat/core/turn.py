"""One assistant turn as data: notices, thinking, answer, stats, how it ended.

The chat service yields a :class:`TurnView` after every update; each front end draws it in its
own way and language (the web page as Gradio messages with titled boxes, ``llmchat ask`` as text
on stdout and notices on stderr). Nothing here is worded: notices are
:class:`~llmchat.core.notices.Notice` values and the stats are figures.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from llmchat.core.notices import Notice
from llmchat.core.server_data import Timings, Usage
from llmchat.core.summary import Summary


@dataclass(frozen=True)
class Stats:
    """The figures of the stats line; ``*_estimated`` marks what llmchat counted itself."""

    first_token_seconds: float
    completion_tokens: int
    completion_estimated: bool = False
    prompt_tokens: int | None = None
    prompt_estimated: bool = False
    rate: float | None = None  # tokens per second
    rate_estimated: bool = False

    @classmethod
    def measure(
        cls,
        first_token_seconds: float,
        generating_seconds: float,
        chunks: int,
        usage: Usage | None,
        timings: Timings | None,
        prompt_estimate: int | None,
    ) -> Stats:
        """Figures the server reported (``usage``, llama.cpp's ``timings``, both checked by
        :mod:`llmchat.core.server_data`) are used as they are; the rest is counted or estimated."""
        usage = usage or Usage()
        timings = timings or Timings()
        completion = usage.completion_tokens or timings.predicted_n
        completion_estimated = not completion
        if not completion:
            completion = chunks  # one chunk is about one token
        prompt = usage.prompt_tokens or timings.prompt_n
        prompt_estimated = False
        if not prompt and prompt_estimate:
            prompt, prompt_estimated = prompt_estimate, True
        rate = timings.predicted_per_second
        rate_estimated = False
        if not rate and generating_seconds > 0 and completion > 1:
            rate = (completion - 1) / generating_seconds
            rate_estimated = completion_estimated
        return cls(
            first_token_seconds=first_token_seconds,
            completion_tokens=completion,
            completion_estimated=completion_estimated,
            prompt_tokens=prompt or None,
            prompt_estimated=prompt_estimated,
            rate=rate or None,
            rate_estimated=rate_estimated,
        )


@dataclass
class TurnView:
    """The turn as it stands: ``before`` notices, thinking, the answer, ``after`` notices, stats."""

    before: list[Notice] = field(default_factory=list)
    thinking: str = ""
    thinking_started: float | None = None
    thinking_seconds: float | None = None
    answer: str = ""
    after: list[Notice] = field(default_factory=list)
    stats: Stats | None = None
    finish_reason: str | None = None  # how the server said the answer ended; None: it did not say
    # The summary sent in place of the older turns left out (preset ``overflow: summarize``): a
    # front end shows it as an editable note and sends it back with the next turn.
    summary: Summary | None = None

    @classmethod
    def of(cls, *notices: Notice) -> TurnView:
        """A turn that is only notices (a refusal, a wait)."""
        return cls(before=list(notices))

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

    @property
    def notices(self) -> list[Notice]:
        return [*self.before, *self.after]

    @property
    def failed(self) -> bool:
        """True when the turn ended without an answer because of a problem (a notice says which)."""
        return not self.answer and not self.thinking and bool(self.notices)
