"""Streaming from an OpenAI-compatible server with the ``openai`` client.

One :class:`openai.AsyncOpenAI` per server and event loop is kept, so connections are pooled
across turns and visitors. Streaming is async on purpose: when Gradio cancels a generation (Stop,
or the page closes) the cancellation reaches the ``await`` on the HTTP stream at once, and
leaving the ``async with`` closes the connection, so the server stops generating.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx2
import openai

from llmchat.presets import LoadedPreset

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 10.0
MODELS_TIMEOUT = 5.0
DRAIN_TIMEOUT = 0.1


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
            # The openai client appends paths after a query string ("/v1?token=x" became
            # "/v1/?token=xchat/completions"): a base_url's query is sent as query parameters.
            url, _, query = preset.base_url.partition("?")
            client = openai.AsyncOpenAI(
                base_url=url,
                default_query=dict(parse_qsl(query, keep_blank_values=True)) or None,
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
            log.info("could not list models at %s: %s", preset.server, type(exc).__name__)
            return None
        return [model.id for model in page.data]


async def stream_deltas(
    client: openai.AsyncOpenAI, body: dict[str, Any], outcome: StreamOutcome
) -> AsyncIterator[Delta]:
    """Yield the answer's pieces as they arrive; record timing, finish reason and usage.

    The request, its status errors and the connection pool are the ``openai`` client's; the
    event stream is read here with ``json.loads`` instead of the client's typed chunk objects,
    which cost about twice the rest of the app's per-token work (see benchmarks/README.md).
    Errors are raised as the ``openai`` client raises them (``APITimeoutError``,
    ``APIConnectionError``, ``APIError`` for an ``error`` event, ``ValueError`` for text that is
    not JSON), so callers see the same exceptions as with ``create(stream=True)``.

    Exceptions propagate: the caller decides how to tell the visitor. On any exit (end, error,
    cancellation, or the caller closing this generator) the HTTP response is closed.
    """
    outcome.started = time.monotonic()
    async with client.chat.completions.with_streaming_response.create(**body) as response:
        http = response.http_response
        if http.headers.get("content-type", "").startswith("application/json"):
            # Some proxies and servers ignore "stream": the whole answer comes as one object.
            for delta in _read_whole(await http.aread(), outcome, http.request):
                yield delta
            return
        lines = http.aiter_lines()
        try:
            async for data in _sse_data(lines):
                if data.startswith("[DONE]"):
                    await _drain(lines)
                    return
                for delta in _read_event(data, outcome, http.request):
                    yield delta
        except httpx2.TimeoutException as err:
            raise openai.APITimeoutError(request=http.request) from err
        except httpx2.RequestError as err:
            raise openai.APIConnectionError(request=http.request) from err


async def _sse_data(lines: AsyncIterator[str]) -> AsyncIterator[str]:
    """The ``data`` of each server-sent event (fields other than ``data`` are not used)."""
    parts: list[str] = []
    async for line in lines:
        if not line:
            if parts:
                yield "\n".join(parts)
                parts = []
        elif line.startswith("data:"):
            parts.append(line[6:] if line.startswith("data: ") else line[5:])
    # An event without its closing blank line is incomplete: dropped, as the SSE spec says.


async def _drain(lines: AsyncIterator[str]) -> None:
    """Read what follows ``[DONE]`` (briefly), so the kept-alive connection can be reused."""
    with contextlib.suppress(httpx2.HTTPError, TimeoutError):
        async with asyncio.timeout(DRAIN_TIMEOUT):
            async for _ in lines:
                pass


def _read_whole(body: bytes, outcome: StreamOutcome, request: httpx2.Request) -> list[Delta]:
    """A ``chat.completion`` object sent instead of a stream: its message as one delta."""
    completion = json.loads(body)  # ValueError: not an OpenAI answer
    if not isinstance(completion, dict):
        raise ValueError(f"expected a JSON object, got {type(completion).__name__}")
    choices = completion.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        message = choices[0].get("message")
        completion = {**completion, "choices": [{**choices[0], "delta": message}]}
    return _read_event(completion, outcome, request)


def _read_event(data: str | dict[str, Any], outcome: StreamOutcome, request: httpx2.Request) -> list[Delta]:
    event = json.loads(data) if isinstance(data, str) else data  # ValueError: not an OpenAI event stream
    if not isinstance(event, dict):
        raise ValueError(f"expected a JSON object in the event stream, got {type(event).__name__}")
    error = event.get("error")
    if error:
        message = error.get("message") if isinstance(error, dict) else None
        if not isinstance(message, str) or not message:
            message = "An error occurred during streaming"
        raise openai.APIError(message=message, request=request, body=error)
    if isinstance(event.get("usage"), dict):
        outcome.usage = event["usage"]
    if event.get("timings"):
        outcome.timings = event["timings"]
    choices = event.get("choices")
    if not choices or not isinstance(choices, list) or not isinstance(choices[0], dict):
        return []
    choice = choices[0]
    if choice.get("finish_reason"):
        outcome.finish_reason = str(choice["finish_reason"])
    delta = choice.get("delta")
    if not isinstance(delta, dict):
        return []
    found: list[Delta] = []
    reasoning = delta.get("reasoning_content") or delta.get("reasoning")
    for kind, piece in (("think", reasoning), ("text", delta.get("content"))):
        if piece and isinstance(piece, str):
            now = time.monotonic()
            if outcome.first_token_at is None:
                outcome.first_token_at = now
            outcome.last_token_at = now
            outcome.chunks += 1
            found.append(Delta(kind, piece))
    return found
