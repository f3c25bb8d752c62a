"""Pay for leaving out old turns while the visitor reads, not after they press Enter.

llama.cpp servers keep the computed state of the previous prompt and only evaluate what follows
the longest common prefix. Between cuts a turn therefore costs just its new tokens. But when the
context budget leaves out older turns, the prompt's beginning changes and the whole kept
history must be evaluated again: about 1,400 tokens, 8 s on 2 CPU cores with SmolLM2, every few
turns (measured, benchmarks/long_chat.py).

Where the next turn will cut is known as soon as an answer ends (the budget reserves room for the
next message, see :func:`llmchat.engine.budget.message_reserve`). So right after such an answer llmchat
sends the server the shortened conversation, with ``max_tokens: 1``, in the background. The
server evaluates it while the visitor reads the answer and types; the next turn then shares that
prefix and only its new message is evaluated. If the visitor is quicker, their request waits for
the rest of that work, which it would have had to do anyway.

With ``overflow: summarize`` the next turn's prompt starts with a summary of what it leaves out:
then the summary is written right after the answer (and remembered, so the next turn finds it
made), and that prompt is warmed.

Only for servers with a llama.cpp tokenizer endpoint (they are the ones with such a prompt cache;
a hosted API would bill the extra request), only when the next turn will cut, and not while the
server is answering another visitor (their next turn would replace the warmed prompt in a
one-slot server such as llama-cpp-python's before this visitor's comes); a preset turns it off
with ``warm_cache: false``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from llmchat.core.presets import LoadedPreset
from llmchat.core.summary import Summary
from llmchat.core.turn import TurnView
from llmchat.engine.answer import plan_request
from llmchat.engine.summary import SummaryStore, finish_summary, plan_summary
from llmchat.engine.upstream import Upstream

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FinishedTurn:
    """What a warm-up needs to know about the turn that just ended."""

    preset: LoadedPreset
    body: dict[str, Any]  # this turn's request
    full_messages: list[dict[str, Any]]  # before any cut: [system?] + history + the message answered
    answer: str
    first_kept: int  # the history index this turn's cut kept from
    window: int
    semaphore: asyncio.Semaphore | None = None  # the preset's concurrency_limit, if any
    overflow: str = "drop"  # the preset's `overflow:`
    summary: Summary | None = None  # the summary this turn was sent with (overflow: summarize)


class CacheWarmer:
    """Schedules background warm-up requests and keeps them referenced until they end."""

    def __init__(self, upstream: Upstream, summaries: SummaryStore | None = None) -> None:
        self.upstream = upstream
        self.summaries = summaries or SummaryStore()
        self._tasks: set[asyncio.Task[None]] = set()
        self._answering: Counter[str] = Counter()

    @contextlib.contextmanager
    def answering(self, base_url: str) -> Iterator[None]:
        """Mark an answer streaming from ``base_url`` for as long as the block runs."""
        self._answering[base_url] += 1
        try:
            yield
        finally:
            self._answering[base_url] -= 1

    def after_answer(self, turn: FinishedTurn) -> asyncio.Task[None] | None:
        """Warm the next turn's prompt if that turn will leave out more than this one did."""
        if not turn.preset.settings.warm_cache or not turn.answer:
            return None
        if self._answering[turn.preset.base_url] > 0:
            log.info("no cache warm-up: %s is answering another visitor", turn.preset.server)
            return None
        task = asyncio.create_task(self._warm(turn))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _warm(self, turn: FinishedTurn) -> None:
        if turn.overflow == "summarize":
            await self._summarize_ahead(turn)
            return
        preset, full = turn.preset, turn.full_messages
        head = 1 if full and full[0]["role"] == "system" else 0
        following = [*full, {"role": "assistant", "content": turn.answer}]
        try:
            # The next turn as the budget will plan it, with an empty message in the reserve.
            next_turn = [*following, {"role": "user", "content": ""}]
            max_tokens = int(turn.body.get("max_tokens") or 0)
            plan = await plan_request(self.upstream, preset, turn.window, next_turn, max_tokens)
        except Exception as exc:  # a failed plan only means no warm-up
            log.info("no cache warm-up: %s", type(exc).__name__)
            return
        if not plan.exact or plan.first_kept <= turn.first_kept:
            return  # not a llama.cpp server, or the next turn keeps this turn's prefix anyway
        kept = [*following[:head], *following[head + plan.first_kept :]]
        began = time.monotonic()
        try:
            async with turn.semaphore or contextlib.nullcontext():
                await self.upstream.warm(preset, {**turn.body, "messages": kept})
        except Exception as exc:  # the visitor never waits for this request: just note it
            log.info("cache warm-up at %s failed: %s", preset.server, type(exc).__name__)
            return
        log.info(
            "warmed the prompt cache for the next turn: %d messages, ~%d tokens, %.1f s",
            len(kept),
            plan.prompt_tokens,
            time.monotonic() - began,
        )

    async def _summarize_ahead(self, turn: FinishedTurn) -> None:
        """``overflow: summarize``: when the next turn will cut further, write the summary it will
        need now (it is remembered, so that turn finds it), then warm that turn's prompt."""
        preset = turn.preset
        next_turn = [
            *turn.full_messages,
            {"role": "assistant", "content": turn.answer},
            {"role": "user", "content": ""},
        ]
        max_tokens = int(turn.body.get("max_tokens") or 0)
        try:
            found = await plan_summary(
                self.upstream, self.summaries, preset, next_turn, max_tokens, turn.window, turn.summary
            )
        except Exception as exc:  # a failed plan only means no work ahead
            log.info("no summary ahead: %s", type(exc).__name__)
            return
        if found is None or not found.needs_requests or not found.plan.exact:
            return
        began = time.monotonic()
        try:
            scratch = TurnView()
            messages, _ = await finish_summary(
                self.upstream, self.summaries, preset, found, scratch, turn.semaphore
            )
            if scratch.summary is None:
                return  # the summary failed: the next turn will try again (or leave the turns out)
            async with turn.semaphore or contextlib.nullcontext():
                await self.upstream.warm(preset, {**turn.body, "messages": messages[:-1]})
        except Exception as exc:  # the visitor never waits for this: just note it
            log.info("summary ahead at %s failed: %s", preset.server, type(exc).__name__)
            return
        log.info("summarized ahead for the next turn and warmed its prompt: %.1f s", time.monotonic() - began)
