"""The figures of the context gauge (:class:`llmchat.core.gauge.ContextGauge`), one visitor at a time.

The gauge is asked while the visitor types, so its work is bounded per visitor: one count at a
time (later ones wait), and a request that is overtaken while it waits by a newer one from the
same visitor is answered ``None`` at once (the front end keeps the newer figures). Counting uses
the server's tokenizer where it has one, llmchat's estimate otherwise, exactly as the turn will
(:mod:`llmchat.engine.budget`); a local model that is not started yet is never started for it.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Any

from llmchat.core.budget import SAFETY_MARGIN, ContextOverflow, countable, estimate_tokens, plan
from llmchat.core.gauge import ContextGauge
from llmchat.core.notices import Notice
from llmchat.core.presets import LoadedPreset
from llmchat.core.summary import summary_reserve
from llmchat.engine.upstream import Upstream

MAX_VISITORS = 10_000  # visitors with a gauge lock at once (idle ones are forgotten)


class GaugeDesk:
    """Per-visitor serialization of gauge requests, and the count itself."""

    def __init__(self) -> None:
        self._locks: dict[tuple[int, str], asyncio.Lock] = {}
        self._latest: dict[tuple[int, str], int] = {}
        self._ticket = 0

    async def one_at_a_time(self, who: str, work: Callable[[], Any]) -> ContextGauge | None:
        """Run ``work`` when this visitor's earlier gauge requests are done; None when a newer
        request of the same visitor came meanwhile."""
        key = (id(asyncio.get_running_loop()), who)
        self._ticket += 1
        ticket = self._latest[key] = self._ticket
        lock = self._locks.get(key)
        if lock is None:
            if len(self._locks) >= MAX_VISITORS:
                for idle in [k for k, v in self._locks.items() if not v.locked()]:
                    del self._locks[idle]
                    self._latest.pop(idle, None)
            lock = self._locks[key] = asyncio.Lock()
        async with lock:
            if self._latest.get(key, ticket) != ticket:
                return None
            return await work()


async def measure(
    upstream: Upstream,
    preset: LoadedPreset,
    messages: list[dict[str, Any]],
    max_tokens: int,
    overflow: str,
    started: bool,
) -> ContextGauge:
    """The gauge for sending ``messages`` ([system?] + history + [message]) with ``preset``.

    ``started``: the preset's server is up (False for a local model not started yet: its window
    is the preset's, its counts an estimate, and no request is made)."""
    if started:
        window = await upstream.window(preset)
    else:
        embedded = preset.settings.embedded
        window = preset.settings.context_window or (embedded.n_ctx if embedded else None)
    if window is None:
        return ContextGauge(used=None, window=None, estimated=True, reason=Notice("gauge_no_window"))
    parts = [countable(m["content"]) for m in messages]
    texts = [text for text, _ in parts]
    if started:
        counts, exact = await upstream.count(preset, texts)
    else:
        counts, exact = [estimate_tokens(t) for t in texts], False
    roles = [m["role"] for m in messages]
    images = [n for _, n in parts]
    summarize = overflow == "summarize" and len(messages) > 1 + (roles[0] == "system")
    reserve = summary_reserve(window) if summarize else 0
    try:
        planned = plan(counts, images, roles, max_tokens, window, exact, reserve=reserve)
    except ContextOverflow:
        reserve = 0  # room for a summary is a preference: the turn goes without it if it must
        try:
            planned = plan(counts, images, roles, max_tokens, window, exact)
        except ContextOverflow as exc:
            return ContextGauge(
                used=exc.needed - max_tokens - SAFETY_MARGIN,
                window=window,
                estimated=not exact,
                left_out=len(messages) - 1 - (roles[0] == "system"),
                max_tokens=max_tokens,
                fits=False,
                reason=exc.notice,
            )
    summarized = summarize and planned.first_kept > 0 and reserve > 0
    used = planned.prompt_tokens + (reserve if summarized else 0)
    return ContextGauge(
        used=math.ceil(used),
        window=window,
        estimated=not exact or summarized,
        left_out=planned.first_kept,
        summarized=summarized,
        max_tokens=max_tokens,
    )
