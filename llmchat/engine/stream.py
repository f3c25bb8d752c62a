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
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx2
import openai

from llmchat.core import server_data
from llmchat.core.presets import LoadedPreset
from llmchat.core.server_data import MAX_ANSWER_CHARS, MAX_EVENT_BYTES, Timings, Usage

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 10.0
MODELS_TIMEOUT = 5.0
DRAIN_TIMEOUT = 0.1


@dataclass
class StreamOutcome:
    """What the stream told us besides the text, filled in while streaming."""

    chunks: int = 0
    chars: int = 0  # of answer and thinking, at most MAX_ANSWER_CHARS
    finish_reason: str | None = None
    usage: Usage | None = None
    timings: Timings | None = None  # llama.cpp's server adds these to its last chunk
    started: float = field(default_factory=time.monotonic)
    first_token_at: float | None = None
    last_token_at: float | None = None


@dataclass(frozen=True)
class Delta:
    """One piece of the answer (``kind="text"``) or of the model's reasoning (``kind="think"``)."""

    kind: str
    text: str


class ClientPool:
    """Reuses one client per (event loop, server, key, timeout): keeps HTTP connections warm.

    Clients are held per loop object, not per ``id()``: a new loop that happens to get a dead
    loop's id must not be handed that loop's connections.
    """

    def __init__(self) -> None:
        self._clients: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[tuple[str, str, float], openai.AsyncOpenAI]
        ] = weakref.WeakKeyDictionary()

    def get(self, preset: LoadedPreset) -> openai.AsyncOpenAI:
        timeout = float(preset.settings.timeout)
        key = preset.api_key.get_secret_value()
        cache_key = (preset.base_url, key, timeout)
        clients = self._clients.setdefault(asyncio.get_running_loop(), {})
        client = clients.get(cache_key)
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
                http_client=openai.DefaultAsyncHttpxClient(event_hooks={"response": [bound_error_body]}),
            )
            clients[cache_key] = client
        return client

    async def aclose(self) -> None:
        """Close the running loop's clients and their connections."""
        for client in self._clients.pop(asyncio.get_running_loop(), {}).values():
            await client.close()

    async def list_models(self, preset: LoadedPreset) -> list[str] | None:
        """The model ids the server offers, or None when ``/models`` gives no valid list.

        The body is read here, bounded, and checked by :func:`llmchat.core.server_data.model_ids`:
        the client's typed ``Model`` objects take any JSON as it comes (an id may be a number).
        """
        client = self.get(preset).with_options(timeout=MODELS_TIMEOUT)
        try:
            async with client.models.with_streaming_response.list() as response:
                body = await server_data.read_body(response.http_response, server_data.MAX_BODY_BYTES)
        except Exception as exc:  # any failure just means "no list to show"
            log.info("could not list models at %s: %s", preset.server, type(exc).__name__)
            return None
        ids = server_data.model_ids(body)
        if ids is None:
            log.info("the model list at %s is not OpenAI's shape: not shown", preset.base_url)
        return ids


async def bound_error_body(response: httpx2.Response) -> None:
    """Response hook: the body of an HTTP error or redirect is read only up to ``MAX_ERROR_BYTES``.

    The ``openai`` client reads an error response whole to build its exception, and the HTTP
    client reads a redirect's body whole before following it; a server that answers 500 (or 302)
    with gigabytes would otherwise be held in memory. What is kept (the start of the body) is all
    a notice shows anyway. Hooks run before any of the body is read.
    """
    if response.status_code >= 300:
        response.stream = _Truncated(response.stream, server_data.MAX_ERROR_BYTES)


class _Truncated(httpx2.AsyncByteStream):
    """The first ``limit`` bytes of a response body; the connection is closed after them."""

    def __init__(self, inner: httpx2.AsyncByteStream, limit: int) -> None:
        self._inner, self._limit = inner, limit

    async def __aiter__(self) -> AsyncIterator[bytes]:
        room = self._limit
        async for chunk in self._inner:
            if len(chunk) >= room:
                if room:
                    yield chunk[:room]
                return
            room -= len(chunk)
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


async def stream_deltas(
    client: openai.AsyncOpenAI, body: dict[str, Any], outcome: StreamOutcome
) -> AsyncIterator[Delta]:
    """Yield the answer's pieces as they arrive; record timing, finish reason and usage.

    The request, its status errors and the connection pool are the ``openai`` client's; the
    event stream is read here with ``json.loads`` instead of the client's typed chunk objects,
    which cost about twice the rest of the app's per-token work (see benchmarks/README.md).
    Errors are raised as the ``openai`` client raises them (``APITimeoutError``,
    ``APIConnectionError``, ``APIError`` for an ``error`` event, ``ValueError`` for text that is
    not JSON), so callers see the same exceptions as with ``create(stream=True)``. What is read is
    bounded: one line or event over ``MAX_EVENT_BYTES``, or an answer reaching
    ``MAX_ANSWER_CHARS``, ends the stream with :class:`~llmchat.core.server_data.ReplyTooLarge` after
    the pieces before it (the last one cut at the limit).

    Exceptions propagate: the caller decides how to tell the visitor. On any exit (end, error,
    cancellation, or the caller closing this generator) the HTTP response is closed.
    """
    outcome.started = time.monotonic()
    async with client.chat.completions.with_streaming_response.create(**body) as response:
        http = response.http_response
        try:
            if http.headers.get("content-type", "").startswith("application/json"):
                # Some proxies and servers ignore "stream": the whole answer comes as one object.
                whole = await server_data.read_body(http, server_data.MAX_BODY_BYTES)
                for delta in _read_whole(whole, outcome, http.request):
                    yield delta
                if outcome.chars >= MAX_ANSWER_CHARS:
                    raise server_data.answer_too_long()
                return
            chunks = http.aiter_bytes()
            async for data in _sse_data(chunks):
                if data.startswith("[DONE]"):
                    await _drain(chunks)
                    return
                for delta in _read_event(data, outcome, http.request):
                    yield delta
                if outcome.chars >= MAX_ANSWER_CHARS:
                    raise server_data.answer_too_long()
        except httpx2.TimeoutException as err:
            raise openai.APITimeoutError(request=http.request) from err
        except httpx2.RequestError as err:
            raise openai.APIConnectionError(request=http.request) from err


async def _sse_data(chunks: AsyncIterator[bytes], limit: int = MAX_EVENT_BYTES) -> AsyncIterator[str]:
    """The ``data`` of each server-sent event in a byte stream (other fields are not used).

    Lines end at CR, LF or CRLF, as the SSE spec and the ``openai`` client's own decoder say (a
    CRLF split across two chunks is one line end; httpx's ``aiter_lines`` also split at U+2028
    and other Unicode line ends, which may appear inside JSON strings). Splitting bytes before
    decoding is safe: no UTF-8 sequence contains CR or LF. Never more than ``limit`` bytes of an
    unfinished line, or of one event's data, are held: past that,
    :class:`~llmchat.core.server_data.ReplyTooLarge` is raised while the line is still arriving.
    Lines and events are handled in this one generator because each layer of async generators
    costs every token (see benchmarks/sse_reader.py).
    """
    held: list[bytes] = []  # the start of a line that has not ended yet
    held_size = 0
    after_cr = False
    parts: list[bytes] = []  # the current event's data lines
    size = 0
    async for chunk in chunks:
        if after_cr and chunk[:1] == b"\n":
            chunk = chunk[1:]
        if not chunk:
            continue
        end = chunk[-1]
        after_cr = end == 13  # b"\r"
        lines = chunk.splitlines()
        tail = b""
        if end not in (10, 13):  # the chunk ends inside a line
            tail = lines.pop()
            if not lines:
                held.append(tail)
                held_size += len(tail)
                if held_size > limit:
                    raise server_data.line_too_long()
                continue
        if held:
            held.append(lines[0])
            lines[0] = b"".join(held)
            held = []
        for line in lines:
            if not line:
                if parts:
                    data = parts[0] if len(parts) == 1 else b"\n".join(parts)
                    parts = []
                    size = 0
                    yield data.decode("utf-8", "replace")
            elif line.startswith(b"data:"):
                data = line[6:] if line[5:6] == b" " else line[5:]
                size += len(data)
                if size > limit:
                    raise server_data.line_too_long()
                parts.append(data)
        held_size = len(tail)
        if tail:
            held.append(tail)
            if held_size > limit:
                raise server_data.line_too_long()
    # An event without its closing blank line is incomplete: dropped, as the SSE spec says.


async def _drain(chunks: AsyncIterator[bytes]) -> None:
    """Read what follows ``[DONE]`` (briefly), so the kept-alive connection can be reused."""
    with contextlib.suppress(httpx2.HTTPError, TimeoutError):
        async with asyncio.timeout(DRAIN_TIMEOUT):
            async for _ in chunks:
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
        message = server_data.error_message(error)
        raise openai.APIError(message=message, request=request, body=error)
    # usage and timings are checked (server_data): a wrong one is dropped, the answer goes on.
    usage = event.get("usage")
    if usage is not None:
        outcome.usage = server_data.read_usage(usage) or outcome.usage
    timings = event.get("timings")
    if timings:
        outcome.timings = server_data.read_timings(timings) or outcome.timings
    choices = event.get("choices")
    if not choices or not isinstance(choices, list) or not isinstance(choices[0], dict):
        return []
    choice = choices[0]
    if choice.get("finish_reason"):
        outcome.finish_reason = server_data.finish_reason(choice["finish_reason"]) or outcome.finish_reason
    delta = choice.get("delta")
    if not isinstance(delta, dict):
        return []
    found: list[Delta] = []
    reasoning = delta.get("reasoning_content") or delta.get("reasoning")
    for kind, piece in (("think", reasoning), ("text", delta.get("content"))):
        if piece and isinstance(piece, str):
            room = MAX_ANSWER_CHARS - outcome.chars
            if len(piece) > room:  # the caller stops reading once the answer is this long
                piece = piece[:room]
                if not piece:
                    break
            outcome.chars += len(piece)
            now = time.monotonic()
            if outcome.first_token_at is None:
                outcome.first_token_at = now
            outcome.last_token_at = now
            outcome.chunks += 1
            found.append(Delta(kind, piece))
    return found
