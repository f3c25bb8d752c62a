"""Count a prompt's tokens and learn a server's context window, for :mod:`llmchat.core.budget`.

The server's own tokenizer is used when it has one (llama-cpp-python's ``/extras/tokenize``,
llama.cpp's ``/tokenize``), else an estimate; the window comes from the preset or llama.cpp's
``/props``. Counts are cached: a conversation's earlier messages are counted once.

Every request goes through the process's one pooled client (:data:`llmchat.engine.http.PROBES`),
and while a server's window, tokenizer or a text's count is being asked for, other turns that
need it wait for that answer instead of asking again (100 visitors arriving together used to
probe the same server 100 times, each with a client and SSL context of its own).
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from typing import Any

import httpx

from llmchat.core import server_data
from llmchat.core.budget import Plan, countable, estimate_tokens, plan
from llmchat.core.redaction import display_url
from llmchat.engine.http import PROBES, HttpPool, SingleFlight

log = logging.getLogger(__name__)

PROBE_TIMEOUT = 3.0
PROBE_TTL = 60.0  # a server may be restarted with another model or n_ctx: ask again after this


class ContextBudget:
    """Per-server knowledge: context window and tokenizer endpoint, and a cache of counts."""

    def __init__(self, cache_size: int = 20_000, http: HttpPool = PROBES) -> None:
        self._windows: dict[str, tuple[float, int | None]] = {}
        self._tokenizers: dict[str, tuple[float, str | None]] = {}
        self._counts: OrderedDict[tuple[str, str], int] = OrderedDict()
        self._cache_size = cache_size
        self._http = http
        self._flights = SingleFlight()

    @staticmethod
    def _root(base_url: str) -> str:
        return base_url.removesuffix("/").removesuffix("/v1")

    async def window(self, base_url: str, headers: dict[str, str], configured: int | None) -> int | None:
        """The context window: the preset's value, else what the server says (llama.cpp /props)."""
        if configured:
            return configured
        known = self._windows.get(base_url)
        if known is None or known[0] < time.monotonic():
            known = await self._flights.run(
                ("window", base_url), lambda: self._learn_window(base_url, headers)
            )
        return known[1]

    async def _learn_window(self, base_url: str, headers: dict[str, str]) -> tuple[float, int | None]:
        known = (time.monotonic() + PROBE_TTL, await self._probe_window(base_url, headers))
        self._windows[base_url] = known
        return known

    async def _probe_window(self, base_url: str, headers: dict[str, str]) -> int | None:
        url = self._root(base_url) + "/props"
        try:
            async with self._http.client().stream(
                "GET", url, headers=headers, timeout=PROBE_TIMEOUT
            ) as response:
                if response.status_code != 200:
                    return None
                body = await server_data.read_body(response, server_data.MAX_PROBE_BYTES)
        except (httpx.HTTPError, server_data.ReplyTooLarge):
            return None
        window = server_data.context_window(body)
        if window is None:
            log.info("%s/props states no usable context window: it stays unknown", self._root(base_url))
        return window

    async def count(self, base_url: str, headers: dict[str, str], texts: list[str]) -> tuple[list[int], bool]:
        """Token counts of ``texts`` (cached), and whether they are exact."""
        kind = await self._tokenizer(base_url, headers)
        counts = []
        for text in texts:
            key = (base_url if kind else "", text)
            cached = self._counts.get(key)
            if cached is not None:
                self._counts.move_to_end(key)
            elif kind is None or not text:
                cached = self._remember(key, estimate_tokens(text))
            else:
                cached = await self._flights.run(
                    ("count", *key), lambda key=key, kind=kind: self._learn_count(key, headers, kind)
                )
            counts.append(cached)
        return counts, kind is not None

    async def _learn_count(self, key: tuple[str, str], headers: dict[str, str], kind: str) -> int:
        base_url, text = key
        exact = await self._tokenize(base_url, headers, kind, text)
        return self._remember(key, estimate_tokens(text) if exact is None else exact)

    def _remember(self, key: tuple[str, str], count: int) -> int:
        self._counts[key] = count
        if len(self._counts) > self._cache_size:
            self._counts.popitem(last=False)
        return count

    async def _tokenizer(self, base_url: str, headers: dict[str, str]) -> str | None:
        known = self._tokenizers.get(base_url)
        if known is None or known[0] < time.monotonic():
            known = await self._flights.run(
                ("tokenizer", base_url), lambda: self._learn_tokenizer(base_url, headers)
            )
        return known[1]

    async def _learn_tokenizer(self, base_url: str, headers: dict[str, str]) -> tuple[float, str | None]:
        found = None
        for kind in ("llama-cpp-python", "llama.cpp"):
            if await self._tokenize(base_url, headers, kind, "probe") is not None:
                found = kind
                break
        how = found or "estimate (no tokenizer endpoint)"
        log.info("token counting for %s: %s", display_url(base_url), how)
        known = (time.monotonic() + PROBE_TTL, found)
        self._tokenizers[base_url] = known
        return known

    async def _tokenize(self, base_url: str, headers: dict[str, str], kind: str, text: str) -> int | None:
        """How many tokens the server counts in ``text``; None when it gives no believable answer."""
        root = self._root(base_url)
        if kind == "llama-cpp-python":
            url, body = root + "/extras/tokenize", {"input": text}
        else:
            url, body = root + "/tokenize", {"content": text}
        try:
            http = self._http.client()
            async with http.stream(
                "POST", url, json=body, headers=headers, timeout=PROBE_TIMEOUT
            ) as response:
                if not response.is_success:
                    return None
                reply = await server_data.read_body(response, server_data.tokenize_limit(text))
        except (httpx.HTTPError, server_data.ReplyTooLarge):
            return None
        return server_data.token_count(reply, text)

    async def fit(
        self,
        base_url: str,
        headers: dict[str, str],
        window: int,
        messages: list[dict[str, Any]],
        max_tokens: int,
    ) -> Plan:
        """Plan the request ``[system?] + history + [current]`` for ``window`` tokens."""
        parts = [countable(m["content"]) for m in messages]
        counts, exact = await self.count(base_url, headers, [text for text, _ in parts])
        roles = [m["role"] for m in messages]
        return plan(counts, [images for _, images in parts], roles, max_tokens, window, exact)
