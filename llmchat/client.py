"""Streaming from an OpenAI-compatible server with the ``openai`` client.

One :class:`openai.AsyncOpenAI` per server and event loop is kept, so connections are pooled
across turns and visitors. Streaming is async on purpose: when Gradio cancels a generation (Stop,
or the page closes) the cancellation reaches the ``await`` on the HTTP stream at once, and
leaving the ``async with`` closes the connection, so the server stops generating.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import openai

from llmchat.presets import LoadedPreset

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 10.0
MODELS_TIMEOUT = 5.0


@dataclass
class StreamOutcome:
    """What the stream told us besides the text, filled in while streaming."""

    chunks: int = 0
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    timings: dict[str, Any] | None = None  # llama.cpp's server adds these to its last chunk
    started: float = field(default_factory=time.monotonic)
    first_token_at: float | None = None
    last_token_at: float | None = None


@dataclass(frozen=True)
class Delta:
    """One piece of the answer (``kind="text"``) or of the model's reasoning (``kind="think"``)."""

    kind: str
    text: str


class ClientPool:
    """Reuses one client per (event loop, server, key, timeout): keeps HTTP connections warm."""

    def __init__(self) -> None:
        self._clients: dict[tuple[int, str, str, float], openai.AsyncOpenAI] = {}

    def get(self, preset: LoadedPreset) -> openai.AsyncOpenAI:
        timeout = float(preset.settings.timeout)
        key = preset.api_key.get_secret_value()
        cache_key = (id(asyncio.get_running_loop()), preset.base_url, key, timeout)
        client = self._clients.get(cache_key)
        if client is None:
            client = openai.AsyncOpenAI(
                base_url=preset.base_url,
                api_key=key,
                timeout=openai.Timeout(timeout, connect=min(CONNECT_TIMEOUT, timeout)),
                # A chat UI wants a fast, honest answer; the visitor has a Retry button.
                max_retries=0,
            )
            self._clients[cache_key] = client
        return client

    async def list_models(self, preset: LoadedPreset) -> list[str] | None:
        """The model ids the server offers, or None when ``/models`` does not answer."""
        client = self.get(preset).with_options(timeout=MODELS_TIMEOUT)
        try:
            page = await client.models.list()
        except Exception as exc:  # any failure just means "no list to show"
            log.info("could not list models at %s: %s", preset.base_url, type(exc).__name__)
            return None
        return [model.id for model in page.data]


async def stream_deltas(
    client: openai.AsyncOpenAI, body: dict[str, Any], outcome: StreamOutcome
) -> AsyncIterator[Delta]:
    """Yield the answer's pieces as they arrive; record timing, finish reason and usage.

    Exceptions propagate: the caller decides how to tell the visitor. On any exit (end, error,
    cancellation, or the caller closing this generator) the HTTP response is closed.
    """
    outcome.started = time.monotonic()
    stream = await client.chat.completions.create(**body)
    async with stream:
        async for chunk in stream:
            if chunk.usage is not None:
                outcome.usage = chunk.usage.model_dump()
            extra = chunk.model_extra or {}
            if extra.get("timings"):
                outcome.timings = extra["timings"]
            if not chunk.choices:
                continue
            choice = chunk.choices[0]
            if choice.finish_reason:
                outcome.finish_reason = choice.finish_reason
            delta = choice.delta
            if delta is None:
                continue
            fields = delta.model_extra or {}
            reasoning = fields.get("reasoning_content") or fields.get("reasoning")
            for kind, piece in (("think", reasoning), ("text", delta.content)):
                if piece and isinstance(piece, str):
                    now = time.monotonic()
                    if outcome.first_token_at is None:
                        outcome.first_token_at = now
                    outcome.last_token_at = now
                    outcome.chunks += 1
                    yield Delta(kind, piece)
