"""Summaries instead of silent loss: ask the server once per cut, reuse, extend (``overflow: summarize``).

When the context budget leaves out older turns, the same server is asked (low temperature,
bounded tokens, worded in the conversation's language, see :mod:`llmchat.core.summary`) for a
summary of what is left out, and the summary is sent in its place, in the system message.

Computed once per cut: a summary is remembered by the conversation it covers (a fingerprint of
those messages, per server and model), and the front end gets it in the turn
(:attr:`llmchat.core.turn.TurnView.summary`) and may send it back, edited or not
(:attr:`llmchat.engine.service.TurnRequest.summary`). While the cut stays where it is, every turn
sends the very same summary, so the prompt's beginning stays byte-identical for the server's
cache; when the cut moves on, the summary is extended with just the messages newly left out.
The cut points are those of the budget's replay (:func:`llmchat.core.budget.history_cuts`), so a
summary is made of parts that each fitted the window, and the same conversation always gets
the same steps. A summary that cannot be made (the server fails or answers nothing) falls back
to leaving those turns out, with the usual notice and one saying why.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import openai

from llmchat.core.budget import PER_MESSAGE_OVERHEAD, ContextOverflow, Plan, countable, plan
from llmchat.core.notices import Notice, left_out
from llmchat.core.presets import LoadedPreset
from llmchat.core.summary import (
    SUMMARY_RESERVE,
    SUMMARY_TEMPERATURE,
    Summary,
    clean_summary,
    fingerprint,
    shorten,
    summary_request,
    summary_reserve,
    with_summary,
)
from llmchat.core.turn import TurnView
from llmchat.engine import errors
from llmchat.engine.http import SingleFlight
from llmchat.engine.upstream import Upstream

log = logging.getLogger(__name__)

MAX_STEPS = 4  # summary requests one turn may make (a long conversation loaded at once)


class SummaryStore:
    """Summaries by (server, model, fingerprint of what they cover), the most recent kept."""

    def __init__(self, size: int = 2000) -> None:
        self._texts: OrderedDict[tuple[str, str, str], str] = OrderedDict()
        self._size = size
        self._flights = SingleFlight()

    async def make(self, preset: LoadedPreset, covered: str, work: Callable[[], Awaitable[str]]) -> str:
        """The summary covering ``covered``: remembered, or being written (the turn and the work
        ahead after an answer share one request), or written now by ``work``."""
        known = self.get(preset, covered)
        if known is not None:
            return known

        async def write() -> str:
            text = await work()
            self.put(preset, covered, text)
            return text

        return await self._flights.run((preset.base_url, preset.model, covered), write)

    def get(self, preset: LoadedPreset, covered: str) -> str | None:
        key = (preset.base_url, preset.model, covered)
        text = self._texts.get(key)
        if text is not None:
            self._texts.move_to_end(key)
        return text

    def put(self, preset: LoadedPreset, covered: str, text: str) -> None:
        self._texts[(preset.base_url, preset.model, covered)] = text
        self._texts.move_to_end((preset.base_url, preset.model, covered))
        while len(self._texts) > self._size:
            self._texts.popitem(last=False)


class SummaryFailed(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass
class SummaryPlan:
    """Where this turn cuts and what it takes to have the summary for it."""

    messages: list[dict[str, Any]]  # [system?] + history + [current], as the turn has them
    plan: Plan
    window: int
    reserve: int
    base: int = 0  # history messages the reused summary covers
    text: str = ""  # that summary ("" none)
    steps: list[tuple[int, int]] = field(default_factory=list)  # the parts still to summarize
    skipped: int = 0  # messages left out without a summary (more parts than MAX_STEPS)
    # "" for summaries llmchat wrote; for one a visitor sent (edited, or from elsewhere) a hash of
    # its text, added to the keys of it and of its extensions: the store is shared by every
    # visitor, and one visitor's words must never become another's summary.
    lineage: str = ""

    def key(self, covered: str) -> str:
        return f"{covered}:{self.lineage}" if self.lineage else covered

    @property
    def needs_requests(self) -> bool:
        return bool(self.steps)


async def plan_summary(
    upstream: Upstream,
    store: SummaryStore,
    preset: LoadedPreset,
    messages: list[dict[str, Any]],
    max_tokens: int,
    window: int,
    given: Summary | None,
) -> SummaryPlan | None:
    """The cut with room kept for a summary, and which summary to reuse; None when nothing is
    left out (or the message fits only without that room: then the turn is planned as for drop).
    Raises :class:`ContextOverflow` like the budget."""
    parts = [countable(m["content"]) for m in messages]
    counts, exact = await upstream.count(preset, [text for text, _ in parts])
    roles = [m["role"] for m in messages]
    reserve = summary_reserve(window)
    try:
        planned = plan(counts, [n for _, n in parts], roles, max_tokens, window, exact, reserve=reserve)
    except ContextOverflow:
        return None
    if not planned.first_kept:
        return None
    head = 1 if roles[0] == "system" else 0
    history = messages[head:-1]
    target = planned.first_kept
    found = SummaryPlan(messages, planned, window, reserve)
    if (
        given is not None
        and given.covers <= target
        and fingerprint(history[: given.covers]) == given.fingerprint
    ):
        found.base, found.text = given.covers, await _fit_text(upstream, preset, given.text, reserve)
        if store.get(preset, given.fingerprint) != given.text:  # not the one llmchat wrote
            found.lineage = hashlib.sha256(given.text.encode()).hexdigest()[:32]
        store.put(preset, found.key(given.fingerprint), found.text)  # the summary to extend
    else:
        for cut in reversed(planned.cuts):
            text = store.get(preset, fingerprint(history[:cut])) if cut else None
            if text is not None:
                found.base, found.text = cut, text
                break
    steps = list(itertools.pairwise([found.base, *(c for c in planned.cuts if c > found.base)]))
    if len(steps) > MAX_STEPS:
        found.skipped = steps[-MAX_STEPS][0] - found.base
        steps = steps[-MAX_STEPS:]
    found.steps = steps
    return found


async def finish_summary(
    upstream: Upstream,
    store: SummaryStore,
    preset: LoadedPreset,
    found: SummaryPlan,
    view: TurnView,
    semaphore: asyncio.Semaphore | None = None,
) -> tuple[list[dict[str, Any]], Plan]:
    """Make the summary's missing steps (under the preset's concurrency limit), then the messages
    to send with it, noted in ``view``. A summary that cannot be made: those turns are left out."""
    messages, planned = found.messages, found.plan
    head = 1 if messages[0]["role"] == "system" else 0
    history, cut = messages[head:-1], planned.first_kept
    try:
        text = await _run_steps(upstream, store, preset, history, found, semaphore)
    except SummaryFailed as failed:
        kept = history[cut:]
        view.before.append(left_out(cut, found.window, len(kept)))
        view.before.append(Notice("summary_failed", detail=failed.detail))
        return [*messages[:head], *kept, messages[-1]], planned
    system = with_summary(messages[0]["content"] if head else None, text)
    (system_tokens, *_), _ = await upstream.count(preset, [system])
    sent = [{"role": "system", "content": system}, *history[cut:], messages[-1]]
    view.summary = Summary(text=text, covers=cut, fingerprint=fingerprint(history[:cut]))
    view.before.append(left_out(cut, found.window, len(history) - cut, summarized=True))
    if found.skipped:
        view.before.append(Notice("summary_partial", count=found.skipped))
    old_system = (
        (await upstream.count(preset, [messages[0]["content"]]))[0][0] if head else -PER_MESSAGE_OVERHEAD
    )
    tokens = planned.prompt_tokens - old_system + system_tokens
    return sent, Plan(cut, tokens, planned.exact, planned.cuts)


async def _run_steps(
    upstream: Upstream,
    store: SummaryStore,
    preset: LoadedPreset,
    history: list[dict[str, Any]],
    found: SummaryPlan,
    semaphore: asyncio.Semaphore | None,
) -> str:
    """The summary after ``found``'s missing steps (each remembered). Raises SummaryFailed."""
    text = found.text
    for start, end in found.steps:

        async def work(previous: str = text, part: list[dict[str, Any]] = history[start:end]) -> str:
            async with semaphore or contextlib.nullcontext():
                return await _summarize(upstream, preset, previous, part, found.reserve)

        text = await store.make(preset, found.key(fingerprint(history[:end])), work)
    return text


def applies(given: Summary, history: list[dict[str, Any]]) -> bool:
    """Whether ``given`` is a summary of the start of ``history`` (the conversation's start has
    not changed since it was made: no retry, edit or other branch before its cut)."""
    return given.covers <= len(history) and fingerprint(history[: given.covers]) == given.fingerprint


def with_given(messages: list[dict[str, Any]], given: Summary, view: TurnView) -> list[dict[str, Any]]:
    """The messages to send with a visitor's summary where no window is known: the summary in
    place of the messages it covers, the rest as they are (noted in ``view``)."""
    head = 1 if messages[0]["role"] == "system" else 0
    history = messages[head:-1]
    system = with_summary(messages[0]["content"] if head else None, given.text)
    view.summary = given
    view.before.append(Notice("summary_used", count=given.covers, kept=len(history) - given.covers))
    return [{"role": "system", "content": system}, *history[given.covers :], messages[-1]]


async def summarize_now(
    upstream: Upstream,
    store: SummaryStore,
    preset: LoadedPreset,
    messages: list[dict[str, Any]],
    max_tokens: int,
    window: int | None,
    given: Summary | None,
    semaphore: asyncio.Semaphore | None = None,
) -> Summary | Notice:
    """The summary of what the next send would leave out, made now (the page's "Summarize older
    turns"), whatever the preset's ``overflow``; or the notice saying why there is none.

    With a window: the messages the budget would leave out (as a turn with ``overflow:
    summarize`` cuts). Without one (the server says none, and a request was refused as too long):
    every message but the last question and answer, so the next send is much shorter."""
    head = 1 if messages[0]["role"] == "system" else 0
    history = messages[head:-1]
    if window:
        found = await plan_summary(upstream, store, preset, messages, max_tokens, window, given)
        if found is None:
            return Notice("summary_nothing")
        cover = found.plan.first_kept
    else:
        cover = len(history) - 2 if len(history) >= 4 else len(history)
        if cover < 1:
            return Notice("summary_nothing")
        found = SummaryPlan(messages, Plan(cover, 0, False), 0, SUMMARY_RESERVE)
        if given is not None and applies(given, history) and given.covers <= cover:
            found.base, found.text = given.covers, given.text
            if store.get(preset, given.fingerprint) != given.text:
                found.lineage = hashlib.sha256(given.text.encode()).hexdigest()[:32]
        found.steps = [(found.base, cover)] if found.base < cover else []
    try:
        text = await _run_steps(upstream, store, preset, history, found, semaphore)
    except SummaryFailed as failed:
        return Notice("summary_not_made", detail=failed.detail)
    return Summary(text=text, covers=cover, fingerprint=fingerprint(history[:cover]))


async def _fit_text(upstream: Upstream, preset: LoadedPreset, text: str, reserve: int) -> str:
    """The summary cut to the room kept for it (the same text is always cut the same way)."""
    (tokens, *_), _ = await upstream.count(preset, [with_summary(None, text)])
    return shorten(text, tokens, reserve - PER_MESSAGE_OVERHEAD)


async def _summarize(
    upstream: Upstream, preset: LoadedPreset, previous: str, part: list[dict[str, Any]], reserve: int
) -> str:
    """``previous`` extended with ``part`` (or a first summary of it), by the preset's server."""
    max_tokens = max(16, (reserve - PER_MESSAGE_OVERHEAD) * 3 // 4)  # server tokens are ~¾ of the estimate's
    request, lang = summary_request(previous, part, max_tokens)
    body: dict[str, Any] = {
        "model": preset.model,
        "messages": request,
        "temperature": SUMMARY_TEMPERATURE,
        "max_tokens": max_tokens,
    }
    if preset.settings.extra_body:
        body["extra_body"] = dict(preset.settings.extra_body)
    try:
        reply = await upstream.complete(preset, body)
    except Exception as exc:  # any failure means "no summary": the turn goes on without it
        detail = f"HTTP {exc.status_code}" if isinstance(exc, openai.APIStatusError) else type(exc).__name__
        log.warning("summary at %s failed: %s", preset.server, errors.redact(repr(exc), preset.secrets)[:300])
        raise SummaryFailed(detail) from None
    text = clean_summary(reply or "")
    if not text:
        raise SummaryFailed("empty")
    log.info("summarized %d messages at %s (%s): %d characters", len(part), preset.server, lang, len(text))
    return await _fit_text(upstream, preset, text, reserve)
