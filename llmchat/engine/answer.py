"""The answer half of a turn: fit the request to the context window, stream it, say how it ended.

Split from :mod:`llmchat.engine.service` (which checks and prepares a turn) so each reads as
one job. Everything a visitor is told is a :class:`~llmchat.core.notices.Notice` in the view.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import openai
from pydantic import BaseModel

from llmchat.core import windows
from llmchat.core.budget import Plan, countable, plan
from llmchat.core.coalesce import coalesce
from llmchat.core.notices import Notice, left_out
from llmchat.core.presets import LoadedPreset
from llmchat.core.reasoning import ThinkSplitter
from llmchat.core.turn import Stats, TurnView
from llmchat.engine import errors
from llmchat.engine.servers import ServerResolver
from llmchat.engine.stream import StreamOutcome
from llmchat.engine.upstream import Upstream

log = logging.getLogger(__name__)


async def plan_request(
    upstream: Upstream, preset: LoadedPreset, window: int, messages: list[dict[str, Any]], max_tokens: int
) -> Plan:
    """Where to cut ``[system?] + history + [current]`` for ``window`` tokens (see core.budget)."""
    parts = [countable(m["content"]) for m in messages]
    counts, exact = await upstream.count(preset, [text for text, _ in parts])
    roles = [m["role"] for m in messages]
    return plan(counts, [images for _, images in parts], roles, max_tokens, window, exact)


async def fit_context(
    upstream: Upstream, preset: LoadedPreset, messages: list[dict[str, Any]], max_tokens: int, view: TurnView
) -> tuple[list[dict[str, Any]], Plan | None, int]:
    """Leave out the oldest turns when the request would not fit the model's context window.

    Returns the messages to send, the plan (None when the window is unknown) and the window;
    a cut is noted in ``view``. Raises ContextOverflow when even the message alone cannot fit.
    """
    window = await upstream.window(preset)
    if window is None:
        return messages, None, 0
    planned = await plan_request(upstream, preset, window, messages, max_tokens)
    if planned.first_kept:
        head = 1 if messages[0]["role"] == "system" else 0
        kept = messages[head + planned.first_kept : -1]
        messages = [*messages[:head], *kept, messages[-1]]
        view.before.append(left_out(planned.first_kept, window, len(kept)))
    return messages, planned, window


class WindowStated(Exception):
    """The server refused the request as too long and said its window (smaller than planned for)."""

    def __init__(self, window: int) -> None:
        super().__init__(window)
        self.window = window


def stated_window(exc: Exception, planned: int | None) -> int | None:
    """The window a refusal states, when it is news: llmchat planned for none, or a larger one."""
    if not isinstance(exc, openai.APIStatusError) or exc.status_code not in (400, 413):
        return None
    window = windows.stated_window(errors.server_message(exc), exc.body)
    return window if window is not None and (not planned or window < planned) else None


async def stream_answer(
    upstream: Upstream,
    resolver: ServerResolver,
    preset: LoadedPreset,
    body: dict[str, Any],
    values: BaseModel,
    view: TurnView,
    prompt_estimate: int | None,
    sent_images: bool,
    learn_from: int | None = None,
    update_floor: float = 0.0,
) -> AsyncIterator[TurnView]:
    """Stream the answer into ``view``, yielding it after every (coalesced) update, at most one
    every ``update_floor`` seconds (see :func:`llmchat.core.coalesce.page_floor`).

    ``learn_from``: when not None, a refusal before any answer that states a window smaller than
    this (0: the window was unknown) raises :class:`WindowStated` instead of becoming a notice,
    so the turn can be fitted to it and sent again.
    """
    secrets = preset.secrets
    if preset.settings.stream_usage:
        body = {**body, "stream_options": {"include_usage": True}}
    splitter = ThinkSplitter()
    for attempt in (1, 2):
        outcome = StreamOutcome()
        try:
            async for batch in coalesce(upstream.stream(preset, body, outcome), floor=update_floor):
                for delta in batch:
                    if delta.kind == "think":
                        view.add_thinking(delta.text)
                    else:
                        thought, answer = splitter.feed(delta.text)
                        view.add_thinking(thought)
                        view.add_answer(answer)
                yield view
        except Exception as exc:
            stale = isinstance(exc, openai.APIConnectionError) and not isinstance(exc, openai.APITimeoutError)
            if stale and attempt == 1 and not outcome.chunks and not resolver.died(preset):
                # A kept-alive connection the server had already dropped: one fresh try at once.
                log.info("retrying %s once on a fresh connection", preset.server)
                continue
            stated = stated_window(exc, learn_from) if learn_from is not None and not outcome.chunks else None
            if stated is not None:
                raise WindowStated(stated) from None
            log.warning("request to %s failed: %s", preset.server, errors.redact(repr(exc), secrets))
            notice = resolver.died(preset)
            if notice is None and outcome.chunks:
                notice = errors.cut_off(exc, outcome.chunks, secrets)
            view.after.append(notice or await _explain(upstream, preset, exc, secrets, sent_images))
            yield view
            return
        break

    thought, answer = splitter.flush()
    view.add_thinking(thought)
    view.add_answer(answer)
    view.end_thinking()
    view.finish_reason = outcome.finish_reason
    if outcome.finish_reason is None and not outcome.chunks and sent_images:
        # Nothing at all for a message with an image: a text-only model (llama-cpp-python without
        # a vision handler does this), not the context window that empty_stream suggests.
        view.after.append(Notice("images_unanswered"))
    elif outcome.finish_reason is None and not outcome.chunks:
        view.after.append(errors.empty_stream(preset.base_url))
    elif outcome.finish_reason is None:
        view.after.append(errors.cut_off(None, outcome.chunks, secrets))
    elif outcome.finish_reason == "length":
        view.after.append(Notice("max_tokens_reached", count=values.max_tokens))
    elif not view.answer and not view.thinking:
        view.after.append(Notice("empty_answer"))
    if values.show_stats and outcome.first_token_at is not None:
        view.stats = Stats.measure(
            first_token_seconds=outcome.first_token_at - outcome.started,
            generating_seconds=(outcome.last_token_at or outcome.first_token_at) - outcome.first_token_at,
            chunks=outcome.chunks,
            usage=outcome.usage,
            timings=outcome.timings,
            prompt_estimate=prompt_estimate,
        )
    yield view


async def _explain(
    upstream: Upstream, preset: LoadedPreset, exc: Exception, secrets: list[str], sent_images: bool
) -> Notice:
    offered = await upstream.list_models(preset) if getattr(exc, "status_code", None) == 404 else None
    return errors.explain(
        exc,
        base_url=preset.base_url,
        model=preset.model,
        timeout=float(preset.settings.timeout),
        secrets=secrets,
        models_offered=offered,
        sent_images=sent_images,
    )
