"""The chat service: one turn, from a visitor's message to a streamed answer, for every front end.

``async for view in service.turn(TurnRequest(...))`` is the whole API. The web page, the terminal
client (``llmchat ask``) and tests all go through it, so every rule about a turn lives here once:
the checks of what a visitor sends (limits, controls, model, files), the fair share per visitor,
the context budget, the per-server limits, streaming, and the cache warm-up after an answer.

Each update is a :class:`~llmchat.core.turn.TurnView` — data, not words: front ends render it.
A turn that cannot be sent yields one view made of a notice and ends; nothing reaches the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from llmchat.core import controls
from llmchat.core.attachments import AttachmentError, RequestFiles, display_name, has_images
from llmchat.core.budget import ContextOverflow, Plan
from llmchat.core.gauge import ContextGauge
from llmchat.core.limits import DEFAULT_LIMITS, VisitorLimits
from llmchat.core.messages import build_messages, build_request, clean_text, compose_content, content_text
from llmchat.core.notices import Notice
from llmchat.core.presets import LoadedPreset, PresetCatalog, PresetError
from llmchat.core.summary import Summary
from llmchat.core.turn import TurnView
from llmchat.engine.answer import WindowStated, fit_context, stream_answer
from llmchat.engine.fairness import FairShare
from llmchat.engine.gauge import GaugeDesk, measure
from llmchat.engine.models import ModelDirectory, ModelNotOffered
from llmchat.engine.servers import LocalModelError, ServerResolver
from llmchat.engine.stream import ClientPool
from llmchat.engine.summary import (
    SummaryStore,
    applies,
    finish_summary,
    plan_summary,
    summarize_now,
    with_given,
)
from llmchat.engine.upstream import HttpUpstream, Upstream
from llmchat.engine.warmup import CacheWarmer, FinishedTurn

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TurnRequest:
    """Everything one turn needs. ``controls`` holds the visitor's values by control name (see
    :data:`llmchat.core.controls.VISITOR_CONTROLS`); a control left out takes the preset's value.
    ``session`` and ``address`` say who is asking, for the fair share per visitor."""

    message: str
    preset: str
    files: Sequence[str] = ()
    history: Sequence[Mapping[str, Any]] = ()
    controls: Mapping[str, Any] = field(default_factory=dict)
    model: str = ""  # empty: the preset's own
    session: str | None = None
    address: str | None = None
    # The summary a front end got with an earlier turn (TurnView.summary), as it was or edited
    # by the visitor; used when it still covers the start of ``history`` (overflow: summarize).
    summary: Summary | Mapping[str, Any] | None = None
    # The shortest pause between updates the front end asks for (seconds; capped by the coalescer):
    # the page asks for longer ones when it shows a long conversation.
    update_floor: float = 0.0


def _summary_of(given: Summary | Mapping[str, Any] | None) -> Summary | None:
    """A front end's summary, checked (raises ValidationError), its text cleaned like a message."""
    if given is None:
        return None
    summary = given if isinstance(given, Summary) else Summary.model_validate(dict(given))
    return summary.model_copy(update={"text": clean_text(summary.text)})


class ServerLimits:
    """Per-server limits on answers generated at once (a preset's ``concurrency_limit``).

    llama-cpp-python's server, for one, interrupts the running answer when a second request
    arrives; a limit of 1 makes later visitors wait their turn instead.
    """

    def __init__(self) -> None:
        self._semaphores: dict[tuple[int, str], asyncio.Semaphore] = {}

    def get(self, preset: LoadedPreset) -> asyncio.Semaphore | None:
        limit = preset.settings.concurrency_limit
        if limit is None:
            return None
        key = (id(asyncio.get_running_loop()), preset.base_url)
        return self._semaphores.setdefault(key, asyncio.Semaphore(limit))


class ChatService:
    """Turns for every visitor of one app: shares the connections, probes and limits."""

    def __init__(
        self,
        catalog: PresetCatalog,
        *,
        limits: VisitorLimits = DEFAULT_LIMITS,
        upload_root: Path | None = None,
        pool: ClientPool | None = None,
        resolver: ServerResolver | None = None,
        models: ModelDirectory | None = None,
        fair: FairShare | None = None,
        upstream: Upstream | None = None,
    ) -> None:
        """``upstream`` is how the service reaches LLM servers (default: over HTTP, with
        ``pool``); tests of the service's own rules pass an in-process fake."""
        self.catalog = catalog
        self.limits = limits
        self.upload_root = upload_root  # where attachments may be read from (None: nowhere)
        self.upstream: Upstream = upstream or HttpUpstream(pool)
        self.resolver = resolver or ServerResolver()
        self.models = models or ModelDirectory(self.upstream, self.resolver)  # type: ignore[arg-type]
        self.fair = fair or FairShare(0, 0)
        self.server_limits = ServerLimits()
        self.summaries = SummaryStore()
        self.warmer = CacheWarmer(self.upstream, self.summaries)
        self.gauges = GaugeDesk()

    def check_controls(self, preset: LoadedPreset, given: Mapping[str, Any]) -> BaseModel:
        """Every control's value for a turn: the visitor's where given, else the preset's; checked
        against the controls' ranges and the preset's own limits (raises ControlError)."""
        unknown = set(given) - {c.name for c in controls.VISITOR_CONTROLS}
        values = {**preset.control_values(), **{k: v for k, v in given.items() if k not in unknown}}
        if isinstance(values.get("system_prompt"), str):
            values["system_prompt"] = clean_text(values["system_prompt"])
        return controls.check(values, preset.limits, preset.id)

    async def turn(self, request: TurnRequest) -> AsyncIterator[TurnView]:
        """One turn; yields the growing :class:`TurnView`. Waits or is refused (with a notice)
        when the visitor already has their share of answers streaming."""
        limits = self.fair.limits(request.session, request.address)
        async for view in self.fair.take_turn(limits, lambda: self._turn(request)):
            yield view

    def _refusal(self, request: TurnRequest, text: str) -> Notice | None:
        """Why the message cannot be sent as it is, or None (checks that need no server)."""
        if not text.strip() and not request.files:
            return Notice("empty_message")
        if len(text) > self.limits.max_message_chars:
            return Notice("message_too_long", count=len(text), limit=self.limits.max_message_chars)
        history = request.history
        if len(history) > self.limits.max_history_messages:
            return Notice("conversation_too_long", count=len(history), limit=self.limits.max_history_messages)
        chars = sum(len(content_text(m.get("content"))) for m in history if isinstance(m, Mapping))
        if chars > self.limits.max_history_chars:
            return Notice("conversation_too_long_chars", count=chars, limit=self.limits.max_history_chars)
        return None

    async def _fit(
        self,
        chosen: LoadedPreset,
        values: Any,
        full: list[dict[str, Any]],
        view: TurnView,
        given: Summary | None,
        semaphore: asyncio.Semaphore | None,
        fitted: list[tuple[list[dict[str, Any]], Plan | None, int]],
    ) -> AsyncIterator[TurnView]:
        """Fit the turn to the window (into ``fitted``): older turns left out, or summarized.
        Yields a notice while a summary is being made. Raises ContextOverflow."""
        found = None
        head = 1 if full[0]["role"] == "system" else 0
        if given is not None and not applies(given, full[head:-1]) and values.overflow != "summarize":
            given = None  # made for another branch: a preset that drops does not extend it
        if values.mode == "chat" and (values.overflow == "summarize" or given is not None):
            # A summary the visitor has (made or edited on the page) is used whatever the preset's
            # ``overflow``: they asked for one for this conversation.
            window = await self.upstream.window(chosen)
            if window:
                found = await plan_summary(
                    self.upstream, self.summaries, chosen, full, values.max_tokens, window, given
                )
            elif given is not None and applies(given, full[head:-1]):
                fitted.append((with_given(full, given, view), None, 0))
                return
        if found is None:
            fitted.append(await fit_context(self.upstream, chosen, full, values.max_tokens, view))
            return
        if found.needs_requests:
            yield TurnView.of(Notice("summarizing", count=found.plan.first_kept))
        messages, plan = await finish_summary(self.upstream, self.summaries, chosen, found, view, semaphore)
        fitted.append((messages, plan, found.window))

    async def summarize(self, request: TurnRequest) -> Summary | Notice:
        """A summary of the older turns ``request`` would leave out, made now and sent with the
        later turns (the page's "Summarize older turns", whatever the preset's ``overflow``);
        or the notice saying why there is none. Shares the fair share of turns per visitor."""
        prepared = await self.prepare(request, gauge=True)
        if isinstance(prepared, Notice):
            return prepared
        chosen, values, full = prepared
        try:
            given = _summary_of(request.summary)
        except ValidationError as exc:
            return Notice("invalid_settings", detail=f"summary: {exc.errors()[0]['msg']}")
        if values.mode != "chat":
            return Notice("summary_nothing")
        try:
            chosen = await self.resolver.resolve(chosen)
        except LocalModelError as exc:
            return exc.notice
        window = await self.upstream.window(chosen)
        semaphore = self.server_limits.get(chosen)

        async def work() -> AsyncIterator[Summary | Notice]:
            try:
                yield await summarize_now(
                    self.upstream, self.summaries, chosen, full, values.max_tokens, window, given, semaphore
                )
            except ContextOverflow as exc:
                yield exc.notice

        limits = self.fair.limits(request.session, request.address)
        result: Summary | Notice = Notice("summary_nothing")
        async for item in self.fair.take_turn(limits, work):
            result = item.notices[0] if isinstance(item, TurnView) else item  # a wait, a refusal
        return result

    async def context(self, request: TurnRequest) -> ContextGauge | None:
        """How full the context would be if ``request`` were sent now, for a context gauge:
        tokens used (the server's count where it has a tokenizer), the window, how many older
        messages would be left out. One at a time per visitor (``session``, else ``address``);
        None when a newer request of the same visitor overtook this one while it waited."""
        who = request.session or request.address or ""
        return await self.gauges.one_at_a_time(who, lambda: self._measure(request))

    async def _measure(self, request: TurnRequest) -> ContextGauge:
        prepared = await self.prepare(request, gauge=True)
        if isinstance(prepared, Notice):
            return ContextGauge(used=None, window=None, estimated=True, reason=prepared)
        chosen, values, full = prepared
        started = not self.resolver.needs_start(chosen)  # a local model is never started for it
        if started:
            try:
                chosen = await self.resolver.resolve(chosen)
            except LocalModelError as exc:
                return ContextGauge(used=None, window=None, estimated=True, reason=exc.notice)
        # A conversation with a summary of its own is summarized whatever the preset's ``overflow``.
        overflow = "summarize" if request.summary is not None else values.overflow
        return await measure(self.upstream, chosen, full, values.max_tokens, overflow, started)

    async def prepare(
        self, request: TurnRequest, *, gauge: bool = False
    ) -> tuple[LoadedPreset, Any, list[dict[str, Any]]] | Notice:
        """The preset (with the model to use), the checked controls and the whole request's
        messages, or the notice saying why the turn cannot be sent (checks that need no answer).
        ``gauge``: for the context gauge, where an empty message is not a problem."""
        text = clean_text(request.message)
        try:
            chosen = self.catalog.get(request.preset)
            values = self.check_controls(chosen, request.controls)
        except (PresetError, controls.ControlError) as exc:
            return Notice("invalid_settings", detail=str(exc))
        refusal = self._refusal(request, text)
        if refusal is not None and not (gauge and refusal.kind == "empty_message"):
            return refusal
        # Every file this request refers to, in the message or the history, is read once and
        # counted: over a limit, nothing is sent.
        files = RequestFiles(self.upload_root, self.limits)
        try:
            attached = files.message(list(request.files))
            content = compose_content(text, attached)
            history = [dict(m) for m in request.history]
            full = build_messages(values.mode, values.system_prompt, history, content, files.history)
        except AttachmentError as exc:
            return exc.notice
        try:
            # The picker's value is re-checked here: only the preset's model or one its server lists.
            chosen = dataclasses.replace(chosen, model=await self.models.check(chosen, request.model))
        except ModelNotOffered as exc:
            return Notice("model_not_offered", model=exc.model)
        images = [
            path for path, part in zip(request.files, attached, strict=True) if part["type"] == "image_url"
        ]
        if images and not gauge and self.catalog.get(request.preset).reads_images(chosen.model) is False:
            # The page refuses such an image when it is attached; an API call or a preset switched
            # since is refused here, before a text-only model is sent an image it cannot read.
            return Notice("images_text_only", name=display_name(images[0]), model=chosen.model)
        return chosen, values, full

    async def _turn(self, request: TurnRequest) -> AsyncIterator[TurnView]:
        prepared = await self.prepare(request)
        if isinstance(prepared, Notice):
            yield TurnView.of(prepared)
            return
        chosen, values, full = prepared
        try:
            given = _summary_of(request.summary)
        except ValidationError as exc:
            yield TurnView.of(Notice("invalid_settings", detail=f"summary: {exc.errors()[0]['msg']}"))
            return
        if self.resolver.needs_start(chosen):
            yield TurnView.of(Notice("starting_local"))
        try:
            chosen = await self.resolver.resolve(chosen)
        except LocalModelError as exc:
            yield TurnView.of(exc.notice)
            return
        semaphore = self.server_limits.get(chosen)
        view = TurnView()
        fitted: list[tuple[list[dict[str, Any]], Plan | None, int]] = []
        try:
            async for progress in self._fit(chosen, values, full, view, given, semaphore, fitted):
                yield progress
        except ContextOverflow as exc:
            yield TurnView.of(exc.notice)
            return
        messages, plan, window = fitted[0]
        for attempt in (1, 2):
            body = build_request(chosen, values, messages)
            log.info(
                "preset=%s mode=%s model=%s messages=%d temperature=%s top_p=%s max_tokens=%s seed=%s",
                chosen.id, values.mode, chosen.model, len(messages), values.temperature, values.top_p,
                values.max_tokens, values.seed,
            )  # fmt: skip
            if semaphore is not None and semaphore.locked():
                yield TurnView.of(Notice("waiting"))
            estimate = plan.prompt_tokens if plan else None
            try:
                async with semaphore or contextlib.nullcontext():
                    with self.warmer.answering(chosen.base_url):
                        async for update in stream_answer(
                            self.upstream, self.resolver, chosen, body, values, view, estimate,
                            has_images(messages), learn_from=window if attempt == 1 else None,
                            update_floor=request.update_floor,
                        ):  # fmt: skip
                            yield update
            except WindowStated as stated:
                # The server said its window when it refused the request: fit the turn to it and
                # send it once more, so this turn and the later ones go through.
                self.upstream.learn_window(chosen, stated.window)
                view = TurnView(before=[Notice("window_learned", window=stated.window)])
                fitted.clear()
                try:
                    async for progress in self._fit(chosen, values, full, view, given, semaphore, fitted):
                        yield progress
                    messages, plan, window = fitted[0]
                except ContextOverflow as exc:
                    view.after.append(exc.notice)
                    yield view
                    return
                yield view
                continue
            break
        if (
            values.mode == "chat"
            and plan is not None
            and plan.exact
            and view.finish_reason in ("stop", "length")
        ):
            finished = FinishedTurn(
                chosen,
                body,
                full,
                view.answer,
                plan.first_kept,
                window,
                semaphore,
                values.overflow,
                view.summary,
            )
            self.warmer.after_answer(finished)
