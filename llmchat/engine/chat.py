"""The chat function behind ``gr.ChatInterface``: one visitor's turn, from message to streamed answer.

It yields the growing turn (see :mod:`llmchat.core.turn`): a plain string while it is only an answer,
a list of messages once llmchat adds a note (an error, a "cut off" mark, left-out history, the
model's thinking, stats). The visitor's message always stays in the conversation, so Retry works.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import openai
from pydantic import ValidationError

from llmchat.core import attachments
from llmchat.core.coalesce import coalesce
from llmchat.core.limits import DEFAULT_LIMITS, VisitorLimits
from llmchat.core.messages import (
    Mode,
    SamplingParams,
    build_messages,
    build_request,
    clean_text,
    compose_content,
    content_text,
)
from llmchat.core.presets import LoadedPreset, Preset, PresetCatalog, PresetError, format_validation_error
from llmchat.core.reasoning import ThinkSplitter
from llmchat.core.turn import ReplyView, format_stats
from llmchat.engine import errors
from llmchat.engine.budget import ContextBudget, ContextOverflow, Plan
from llmchat.engine.models import ModelDirectory, ModelNotOffered
from llmchat.engine.servers import LocalModelError, ServerResolver
from llmchat.engine.stream import ClientPool, StreamOutcome, stream_deltas
from llmchat.engine.warmup import CacheWarmer, FinishedTurn
from llmchat.web.i18n import english_notice

log = logging.getLogger(__name__)

Reply = str | list[dict[str, Any]]
MAX_MESSAGE_CHARS = DEFAULT_LIMITS.max_message_chars  # default of --max-message-chars
MAX_HISTORY_MESSAGES = DEFAULT_LIMITS.max_history_messages  # a conversation is kept in server memory


def _whole(value: Any) -> Any:
    """Sliders send 1024.0; the API wants 1024."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _seed(value: Any) -> Any:
    """The Seed box holds text: empty means no seed; a whole number is the seed."""
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return None
        try:
            return int(value)
        except ValueError:
            return value  # the schema check names the key and the bad value
    return _whole(value)


def validate_params(
    preset: LoadedPreset,
    system_prompt: Any,
    temperature: Any,
    top_p: Any,
    max_tokens: Any,
    frequency_penalty: Any,
    presence_penalty: Any,
    seed: Any,
) -> SamplingParams:
    """Check the controls' values against the preset schema's bounds and this preset's own limits.

    The API (and a hand-made import) can send anything: nothing out of range reaches the server.
    """
    values = {
        "system_prompt": clean_text(system_prompt) if isinstance(system_prompt, str) else system_prompt,
        "temperature": temperature,
        "top_p": top_p,
        "max_tokens": _whole(max_tokens),
        "frequency_penalty": frequency_penalty,
        "presence_penalty": presence_penalty,
        "seed": _seed(seed),
    }
    try:
        checked = Preset.model_validate(values)
    except ValidationError as exc:
        raise PresetError(format_validation_error("Parameters", exc, values)) from None
    limit = preset.slider_max_tokens
    if checked.max_tokens > limit:
        raise PresetError(
            f"Parameters: key 'max_tokens' has value {checked.max_tokens}: above the limit of preset "
            f"'{preset.id}'; expected a whole number from 1 to {limit}"
        )
    return SamplingParams(
        system_prompt=checked.system_prompt,
        temperature=float(checked.temperature),
        top_p=float(checked.top_p),
        max_tokens=checked.max_tokens,
        frequency_penalty=float(checked.frequency_penalty),
        presence_penalty=float(checked.presence_penalty),
        seed=checked.seed,
    )


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


def make_chat_fn(
    catalog: PresetCatalog,
    pool: ClientPool | None = None,
    resolver: ServerResolver | None = None,
    limits: VisitorLimits = DEFAULT_LIMITS,
    models: ModelDirectory | None = None,
) -> Callable[..., AsyncIterator[Reply]]:
    """Build the ChatInterface function; its parameter names are the API's parameter names."""
    pool = pool or ClientPool()
    resolver = resolver or ServerResolver()
    models = models or ModelDirectory(pool, resolver)
    budget = ContextBudget()
    warmer = CacheWarmer(budget)
    server_limits = ServerLimits()

    async def chat(
        message: str | dict[str, Any],
        history: list[dict[str, Any]],
        preset: str,
        mode: Mode,
        system_prompt: str,
        temperature: float,
        top_p: float,
        max_tokens: int,
        frequency_penalty: float,
        presence_penalty: float,
        seed: str | int | None,
        show_stats: bool = True,
        model: str = "",
    ) -> AsyncIterator[Reply]:
        # A string (text-only API clients) or the multimodal box's {"text", "files"}.
        raw_text, files = attachments.split_message(message)
        text = clean_text(raw_text)
        try:
            chosen = catalog.get(preset)
            if mode not in ("chat", "qa"):
                raise PresetError(f"Parameters: mode '{mode}' is invalid; expected 'chat' or 'qa'")
            params = validate_params(
                chosen,
                system_prompt,
                temperature,
                top_p,
                max_tokens,
                frequency_penalty,
                presence_penalty,
                seed,
            )
        except PresetError as exc:
            yield [errors.Notice("⚠️ Invalid settings", str(exc)).as_message()]
            return
        if not text.strip() and not files:
            yield [errors.Notice("⚠️ Empty message", "Type a question first.").as_message()]
            return
        if len(text) > limits.max_message_chars:
            notice = errors.Notice(
                "⚠️ Message too long",
                f"Your message has {len(text):,} characters; this app accepts at most "
                f"{limits.max_message_chars:,} (its --max-message-chars).",
            )
            yield [notice.as_message()]
            return
        if len(history) > limits.max_history_messages:
            notice = errors.Notice(
                "⚠️ Conversation too long",
                f"This conversation has {len(history):,} messages; the limit is "
                f"{limits.max_history_messages:,}. Press Clear chat to start a new one.",
            )
            yield [notice.as_message()]
            return
        history_chars = sum(len(content_text(m.get("content"))) for m in history if isinstance(m, dict))
        if history_chars > limits.max_history_chars:
            notice = errors.Notice(
                "⚠️ Conversation too long",
                f"This conversation has {history_chars:,} characters; the limit is "
                f"{limits.max_history_chars:,}. Press Clear chat to start a new one.",
            )
            yield [notice.as_message()]
            return

        # Every file this request refers to, in the message or the history, is read once and
        # counted: over a limit, nothing is sent.
        files_of_request = attachments.RequestFiles(limits)
        try:
            content = compose_content(text, files_of_request.message(files))
            history_files = files_of_request.history
            full_messages = build_messages(mode, params.system_prompt, history, content, history_files)
        except attachments.AttachmentError as exc:
            yield [exc.notice.as_message()]
            return
        try:
            # The picker's value is re-checked here: only the preset's model or one its server lists.
            chosen = dataclasses.replace(chosen, model=await models.check(chosen, model))
        except ModelNotOffered as exc:
            yield [errors.Notice(*english_notice("model_not_offered", model=exc.model)).as_message()]
            return

        if resolver.needs_start(chosen):
            starting = errors.Notice("⏳ Starting the local model…", "The first answer takes a few seconds.")
            yield [starting.as_message()]
        try:
            chosen = await resolver.resolve(chosen)
        except LocalModelError as exc:
            yield [exc.notice.as_message()]
            return

        view = ReplyView()
        try:
            messages, plan, window = await _fit_context(budget, chosen, full_messages, params, view)
        except ContextOverflow as exc:
            yield [errors.Notice("⚠️ Message too long for the model", str(exc)).as_message()]
            return

        body = build_request(chosen, params, messages)
        log.info(
            "preset=%s mode=%s model=%s messages=%d temperature=%s top_p=%s max_tokens=%s seed=%s",
            chosen.id, mode, chosen.model, len(messages), params.temperature, params.top_p,
            params.max_tokens, params.seed,
        )  # fmt: skip
        semaphore = server_limits.get(chosen)
        if semaphore is not None and semaphore.locked():
            waiting = errors.Notice(
                "⏳ Waiting for the server", "Another answer is being generated; yours is next."
            )
            yield [waiting.as_message()]
        stats = bool(show_stats)  # the checkbox; a preset only sets its starting value
        async with semaphore or contextlib.nullcontext():
            with warmer.answering(chosen.base_url):
                async for reply in _stream_reply(
                    pool, resolver, chosen, body, params, view, stats, plan.prompt_tokens if plan else None
                ):
                    yield reply
        if mode == "chat" and plan is not None and plan.exact and view.finish_reason in ("stop", "length"):
            finished = FinishedTurn(
                pool.get(chosen), chosen, body, full_messages, view.answer, plan.first_kept, window, semaphore
            )
            warmer.after_answer(finished)

    return chat


async def _fit_context(
    budget: ContextBudget,
    preset: LoadedPreset,
    messages: list[dict[str, Any]],
    params: SamplingParams,
    view: ReplyView,
) -> tuple[list[dict[str, Any]], Plan | None, int]:
    """Leave out the oldest turns when the request would not fit the model's context window.

    Returns the messages to send, the plan (None when the window is unknown) and the window.
    """
    embedded = preset.settings.embedded
    configured = preset.settings.context_window or (embedded.n_ctx if embedded else None)
    headers = {"Authorization": f"Bearer {preset.api_key.get_secret_value()}"}
    window = await budget.window(preset.base_url, headers, configured)
    if window is None:
        return messages, None, 0
    plan = await budget.fit(preset.base_url, headers, window, messages, params.max_tokens)
    if plan.first_kept:
        head = 1 if messages[0]["role"] == "system" else 0
        kept = messages[head + plan.first_kept : -1]
        messages = [*messages[:head], *kept, messages[-1]]
        view.before.append(
            errors.Notice(
                f"ℹ️ {plan.first_kept} earlier messages were not sent",
                f"They no longer fit in the model's context window ({window:,} tokens) together with "
                f"your message and Max tokens. The model sees the last {len(kept)} messages.",
            )
        )
    return messages, plan, window


async def _stream_reply(
    pool: ClientPool,
    resolver: ServerResolver,
    preset: LoadedPreset,
    body: dict[str, Any],
    params: SamplingParams,
    view: ReplyView,
    show_stats: bool,
    prompt_estimate: int | None,
) -> AsyncIterator[Reply]:
    secrets = preset.secrets
    if preset.settings.stream_usage:
        body = {**body, "stream_options": {"include_usage": True}}
    splitter = ThinkSplitter()
    for attempt in (1, 2):
        outcome = StreamOutcome()
        try:
            async for batch in coalesce(stream_deltas(pool.get(preset), body, outcome)):
                for delta in batch:
                    if delta.kind == "think":
                        view.add_thinking(delta.text)
                    else:
                        thought, answer = splitter.feed(delta.text)
                        view.add_thinking(thought)
                        view.add_answer(answer)
                yield view.render()
        except Exception as exc:
            stale = isinstance(exc, openai.APIConnectionError) and not isinstance(exc, openai.APITimeoutError)
            if stale and attempt == 1 and not outcome.chunks and not resolver.died(preset):
                # A kept-alive connection the server had already dropped: one fresh try at once.
                log.info("retrying %s once on a fresh connection", preset.server)
                continue
            log.warning("request to %s failed: %s", preset.server, errors.redact(repr(exc), secrets))
            notice = _failure_notice(exc, outcome, resolver, preset, secrets)
            view.after.append(notice or await _explain(pool, preset, exc, secrets))
            yield view.render()
            return
        break

    thought, answer = splitter.flush()
    view.add_thinking(thought)
    view.add_answer(answer)
    view.end_thinking()
    view.finish_reason = outcome.finish_reason
    if outcome.finish_reason is None and not outcome.chunks:
        view.after.append(errors.empty_stream(preset.base_url))
    elif outcome.finish_reason is None:
        view.after.append(errors.cut_off(None, outcome.chunks, secrets))
    elif outcome.finish_reason == "length":
        view.after.append(
            errors.Notice(
                "ℹ️ Reached the Max tokens limit",
                f"The answer stopped at {params.max_tokens} tokens. Raise **Max tokens** under "
                "Parameters and press Retry for a longer one.",
            )
        )
    elif not view.answer and not view.thinking:
        view.after.append(errors.Notice("ℹ️ Empty answer", "The server finished without sending any text."))
    if show_stats:
        view.stats = format_stats(outcome, prompt_estimate)
    yield view.render()


def _failure_notice(
    exc: Exception, outcome: StreamOutcome, resolver: ServerResolver, preset: LoadedPreset, secrets: list[str]
) -> errors.Notice | None:
    """A notice for failures after the answer began, or when the local model died."""
    died = resolver.died(preset)
    if died is not None:
        return died
    if outcome.chunks:
        return errors.cut_off(exc, outcome.chunks, secrets)
    return None


async def _explain(
    pool: ClientPool, preset: LoadedPreset, exc: Exception, secrets: list[str]
) -> errors.Notice:
    offered = await pool.list_models(preset) if getattr(exc, "status_code", None) == 404 else None
    return errors.explain(
        exc,
        base_url=preset.base_url,
        model=preset.model,
        timeout=float(preset.settings.timeout),
        secrets=secrets,
        models_offered=offered,
    )
