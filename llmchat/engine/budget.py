"""Count a prompt's tokens and learn a server's context window, for :mod:`llmchat.core.budget`.

The server's own tokenizer is used when it has one (llama-cpp-python's ``/extras/tokenize``,
llama.cpp's ``/tokenize``), else an estimate; the window comes from the preset, else from what
the server says (:mod:`llmchat.engine.windows`), and a window stated in a server's refusal of a
too-long request (:meth:`ContextBudget.learn`) wins when smaller. Counts are cached: a
conversation's earlier messages are counted once.

Every request goes through the process's one pooled client (:data:`llmchat.engine.http.PROBES`),
and while a server's window, tokenizer or a text's count is being asked for, other turns that
need it wait for that answer instead of asking again (100 visitors arriving together used to
probe the same server 100 times, each with a client and SSL context of its own).
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict

import httpx

from llmchat.core import server_data
from llmchat.core.budget import estimate_tokens
from llmchat.core.redaction import display_url
from llmchat.engine.http import PROBES, HttpPool, SingleFlight
from llmchat.engine.windows import probe_window, root_of

log = logging.getLogger(__name__)

PROBE_TIMEOUT = 3.0
PROBE_TTL = 60.0  # a server may be restarted with another model or n_ctx: ask again after this
LEARNED_TTL = 3600.0  # a window stated in a refusal: believed this long (a later refusal renews it)


class ContextBudget:
    """Per-server knowledge: context window and tokenizer endpoint, and a cache of counts."""

    def __init__(self, cache_size: int = 20_000, http: HttpPool = PROBES) -> None:
        self._windows: dict[tuple[str, str], tuple[float, int | None]] = {}
        self._learned: dict[tuple[str, str], tuple[float, int]] = {}
        self._tokenizers: dict[str, tuple[float, str | None]] = {}
        self._counts: OrderedDict[tuple[str, str], int] = OrderedDict()
        self._cache_size = cache_size
        self._http = http
        self._flights = SingleFlight()

    async def window(
        self, base_url: str, headers: dict[str, str], configured: int | None, model: str = ""
    ) -> int | None:
        """The context window: the preset's value, else what the server says (see
        :mod:`llmchat.engine.windows`); a window the server stated when it refused a request
        (:meth:`learn`) wins when it is smaller."""
        learned = self._learned.get((base_url, model))
        if learned is not None and learned[0] < time.monotonic():
            learned = None
        if configured:
            known_window: int | None = configured
        else:
            known = self._windows.get((base_url, model))
            if known is None or known[0] < time.monotonic():
                known = await self._flights.run(
                    ("window", base_url, model), lambda: self._learn_window(base_url, headers, model)
                )
            known_window = known[1]
        if learned is None:
            return known_window
        return min(known_window, learned[1]) if known_window else learned[1]

    def learn(self, base_url: str, model: str, window: int) -> None:
        """Remember the window a server stated when it refused a request as too long."""
        self._learned[(base_url, model)] = (time.monotonic() + LEARNED_TTL, window)
        log.info("%s refused a request as longer than its %d-token window", display_url(base_url), window)

    async def _learn_window(
        self, base_url: str, headers: dict[str, str], model: str
    ) -> tuple[float, int | None]:
        known = (time.monotonic() + PROBE_TTL, await probe_window(self._http, base_url, headers, model))
        self._windows[(base_url, model)] = known
        return known

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
        root = root_of(base_url)
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
