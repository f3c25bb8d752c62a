"""The chat function behind ``gr.ChatInterface``: one visitor's turn, from message to streamed answer.

It yields the growing answer as a string while all is well. When something goes wrong it yields
a list of messages instead: the partial answer (if any) followed by a :class:`~llmchat.errors.Notice`
that says what happened. The visitor's message always stays in the conversation, so Retry works.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from pydantic import ValidationError

from llmchat import errors
from llmchat.client import ClientPool, StreamOutcome, stream_text
from llmchat.presets import LoadedPreset, Preset, PresetCatalog, PresetError, format_validation_error
from llmchat.request import Mode, SamplingParams, build_messages, build_request, content_text
from llmchat.streaming import coalesce

log = logging.getLogger(__name__)

Reply = str | list[dict[str, Any]]
MAX_MESSAGE_CHARS = 200_000


def _whole(value: Any) -> Any:
    """Sliders send 1024.0; the API wants 1024."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def validate_params(
    system_prompt: Any,
    temperature: Any,
    top_p: Any,
    max_tokens: Any,
    frequency_penalty: Any,
    presence_penalty: Any,
    seed: Any,
) -> SamplingParams:
    """Check the controls' values with the preset schema's own bounds (the API can send anything)."""
    values = {
        "system_prompt": system_prompt if system_prompt is not None else "",
        "temperature": temperature,
        "top_p": top_p,
        "max_tokens": _whole(max_tokens),
        "frequency_penalty": frequency_penalty,
        "presence_penalty": presence_penalty,
        "seed": _whole(seed) if seed not in ("", None) else None,
    }
    try:
        checked = Preset.model_validate(values)
    except ValidationError as exc:
        raise PresetError(format_validation_error("Parameters", exc, values)) from None
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
    catalog: PresetCatalog, pool: ClientPool | None = None
) -> Callable[..., AsyncIterator[Reply]]:
    """Build the ChatInterface function; its parameter names are the API's parameter names."""
    pool = pool or ClientPool()
    limits = ServerLimits()

    async def chat(
        message: str,
        history: list[dict[str, Any]],
        preset: str,
        mode: Mode,
        system_prompt: str,
        temperature: float,
        top_p: float,
        max_tokens: int,
        frequency_penalty: float,
        presence_penalty: float,
        seed: int | None,
    ) -> AsyncIterator[Reply]:
        text = content_text(message)
        try:
            chosen = catalog.get(preset)
            if mode not in ("chat", "qa"):
                raise PresetError(f"Parameters: mode '{mode}' is invalid; expected 'chat' or 'qa'")
            params = validate_params(
                system_prompt, temperature, top_p, max_tokens, frequency_penalty, presence_penalty, seed
            )
        except PresetError as exc:
            yield [errors.Notice("⚠️ Invalid settings", str(exc)).as_message()]
            return
        if not text.strip():
            yield [errors.Notice("⚠️ Empty message", "Type a question first.").as_message()]
            return
        if len(text) > MAX_MESSAGE_CHARS:
            notice = errors.Notice(
                "⚠️ Message too long",
                f"Your message has {len(text):,} characters; the limit is {MAX_MESSAGE_CHARS:,}.",
            )
            yield [notice.as_message()]
            return

        body = build_request(chosen, params, build_messages(mode, params.system_prompt, history, text))
        log.info(
            "preset=%s mode=%s model=%s messages=%d temperature=%s top_p=%s max_tokens=%s seed=%s",
            chosen.id,
            mode,
            chosen.model,
            len(body["messages"]),
            params.temperature,
            params.top_p,
            params.max_tokens,
            params.seed,
        )
        semaphore = limits.get(chosen)
        if semaphore is not None and semaphore.locked():
            waiting = errors.Notice(
                "⏳ Waiting for the server", "Another answer is being generated; yours is next."
            )
            yield [waiting.as_message()]
        async with semaphore or _no_limit():
            async for reply in _stream_reply(pool, chosen, body, params):
                yield reply

    return chat


class _no_limit:
    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc: object) -> None:
        return None


async def _stream_reply(
    pool: ClientPool, preset: LoadedPreset, body: dict[str, Any], params: SamplingParams
) -> AsyncIterator[Reply]:
    secrets = [preset.api_key.get_secret_value()]
    outcome = StreamOutcome()
    answer = ""
    try:
        async for answer in coalesce(stream_text(pool.get(preset), body, outcome)):
            yield answer
    except Exception as exc:
        log.warning("request to %s failed: %s", preset.base_url, errors.redact(repr(exc), secrets))
        if outcome.chunks:
            yield _with_answer(answer, errors.cut_off(exc, outcome.chunks, secrets))
            return
        status = getattr(exc, "status_code", None)
        offered = await pool.list_models(preset) if status == 404 else None
        notice = errors.explain(
            exc,
            base_url=preset.base_url,
            model=preset.model,
            timeout=float(preset.settings.timeout),
            secrets=secrets,
            models_offered=offered,
        )
        yield [notice.as_message()]
        return

    if outcome.finish_reason is None and not outcome.chunks:
        yield [errors.not_openai(preset.base_url).as_message()]
    elif outcome.finish_reason is None:
        yield _with_answer(answer, errors.cut_off(None, outcome.chunks, secrets))
    elif outcome.finish_reason == "length":
        limit = errors.Notice(
            "ℹ️ Reached the Max tokens limit",
            f"The answer stopped at {params.max_tokens} tokens. Raise **Max tokens** under "
            "Parameters and press Retry for a longer one.",
        )
        yield _with_answer(answer, limit)
    elif not answer:
        empty = errors.Notice("ℹ️ Empty answer", "The server finished without sending any text.")
        yield [empty.as_message()]


def _with_answer(text: str, notice: errors.Notice) -> list[dict[str, Any]]:
    """The partial answer (kept as a normal turn, so it is context later) followed by a notice."""
    kept = [{"role": "assistant", "content": text}] if text else []
    return [*kept, notice.as_message()]
