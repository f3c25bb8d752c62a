"""The chat service's one seam to the outside: everything a turn asks of an LLM server.

:class:`Upstream` is what :class:`~llmchat.engine.service.ChatService` needs from a server: the
answer as a stream, its model list, its context window, token counts, and a cache warm-up.
:class:`HttpUpstream` does it over HTTP (the ``openai`` client for answers, llama.cpp's probes for
the window and tokens). Tests of the service's own rules give it an in-process fake instead
(``tests/test_service.py``), the way simonw/llm's tests swap in a mock model at the model seam.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any, Protocol

from llmchat.core import server_data
from llmchat.core.presets import LoadedPreset
from llmchat.engine.budget import ContextBudget
from llmchat.engine.stream import ClientPool, Delta, StreamOutcome, stream_deltas


class Upstream(Protocol):
    """What the chat service asks of an LLM server (see the module docstring)."""

    def stream(
        self, preset: LoadedPreset, body: dict[str, Any], outcome: StreamOutcome
    ) -> AsyncIterator[Delta]:
        """The answer's pieces as they arrive; timing, usage and finish reason go into ``outcome``.
        Raises as the ``openai`` client does (``APIStatusError``, ``APIConnectionError``...)."""
        ...

    async def list_models(self, preset: LoadedPreset) -> list[str] | None:
        """The model ids the server offers, or None when it does not say."""
        ...

    async def window(self, preset: LoadedPreset) -> int | None:
        """The context window in tokens: the preset's, else what the server says, else None."""
        ...

    def learn_window(self, preset: LoadedPreset, window: int) -> None:
        """Remember the window the server stated when it refused a request as too long."""
        ...

    async def count(self, preset: LoadedPreset, texts: list[str]) -> tuple[list[int], bool]:
        """Token counts of ``texts``, and whether they are exact (the server's own tokenizer)."""
        ...

    async def complete(self, preset: LoadedPreset, body: dict[str, Any]) -> str | None:
        """The whole answer to ``body`` (not streamed), or None when the reply has no text.
        Raises as the ``openai`` client does."""
        ...

    async def warm(self, preset: LoadedPreset, body: dict[str, Any]) -> None:
        """Have the server evaluate ``body``'s prompt (one token answered, the reply dropped)."""
        ...


class HttpUpstream:
    """:class:`Upstream` over HTTP: pooled ``openai`` clients, cached probes and counts."""

    def __init__(self, pool: ClientPool | None = None, budget: ContextBudget | None = None) -> None:
        self.pool = pool or ClientPool()
        self.budget = budget or ContextBudget()

    @staticmethod
    def _headers(preset: LoadedPreset) -> dict[str, str]:
        return {"Authorization": f"Bearer {preset.api_key.get_secret_value()}"}

    def stream(
        self, preset: LoadedPreset, body: dict[str, Any], outcome: StreamOutcome
    ) -> AsyncIterator[Delta]:
        return stream_deltas(self.pool.get(preset), body, outcome)

    async def list_models(self, preset: LoadedPreset) -> list[str] | None:
        return await self.pool.list_models(preset)

    async def window(self, preset: LoadedPreset) -> int | None:
        embedded = preset.settings.embedded
        configured = preset.settings.context_window or (embedded.n_ctx if embedded else None)
        return await self.budget.window(preset.base_url, self._headers(preset), configured, preset.model)

    def learn_window(self, preset: LoadedPreset, window: int) -> None:
        self.budget.learn(preset.base_url, preset.model, window)

    async def count(self, preset: LoadedPreset, texts: list[str]) -> tuple[list[int], bool]:
        return await self.budget.count(preset.base_url, self._headers(preset), texts)

    async def complete(self, preset: LoadedPreset, body: dict[str, Any]) -> str | None:
        # Read bounded and checked like every reply (the client's typed objects take any JSON).
        client = self.pool.get(preset)
        request = {**body, "stream": False}
        async with client.chat.completions.with_streaming_response.create(**request) as response:
            raw = await server_data.read_body(response.http_response, server_data.MAX_BODY_BYTES)
        return server_data.completion_text(raw)

    async def warm(self, preset: LoadedPreset, body: dict[str, Any]) -> None:
        # Only the work matters, not the reply: it is read (bounded) and dropped unparsed.
        client = self.pool.get(preset)
        request = {**body, "max_tokens": 1, "stream": False}
        request.pop("stream_options", None)
        async with client.chat.completions.with_streaming_response.create(**request) as response:
            with contextlib.suppress(server_data.ReplyTooLarge):
                await server_data.read_body(response.http_response, server_data.MAX_BODY_BYTES)
