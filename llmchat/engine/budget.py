"""Keep every request inside the model's context window, in a way the server's prompt cache likes.

Before each request the prompt's tokens are counted (the server's own tokenizer when it has one,
else an estimate) and, when prompt + max_tokens would not fit, the oldest turns are left out. Never
the system prompt, never the current message.

Why "in whole chunks": llama.cpp reuses the computed state of the longest prompt prefix it saw
last time. Dropping one old turn per new turn would change the start of the prompt on every turn
and throw that cache away each time. Instead the history is cut at fixed points, every quarter of
the window counted from the start of the conversation, so the kept part stays byte-identical for
many turns and only moves when another whole quarter must go.

The current message is counted as at least ``message_reserve(window)`` tokens, so where the
history is cut depends on the history alone (for any message up to that size). That lets
:mod:`llmchat.engine.warmup` know right after an answer where the next turn will cut, and have the server
evaluate the shortened prompt while the visitor reads.
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import httpx

from llmchat.core import server_data
from llmchat.core.redaction import display_url

log = logging.getLogger(__name__)

PER_MESSAGE_OVERHEAD = 8  # chat-template tokens around each message (role markers, separators)
SAFETY_MARGIN = 16
ESTIMATE_BYTES_PER_TOKEN = 3  # conservative: English averages ~4 bytes a token, Japanese ~3
PROBE_TIMEOUT = 3.0
IMAGE_TOKENS = 768  # rough cost of one attached image for vision models (they vary: 256-1500)
MESSAGE_RESERVE = 256  # room kept for the next message when deciding where to cut the history


def message_reserve(window: int) -> int:
    """Tokens the current message is assumed to take at least (a smaller window reserves less)."""
    return min(MESSAGE_RESERVE, window // 8)


def countable(content: Any) -> tuple[str, int]:
    """The text of a message's content to count, and how many images it carries.

    Content is a string, or OpenAI parts: text parts are counted, an image's base64 data is not
    text the model reads, so it counts as a fixed number of tokens instead.
    """
    if isinstance(content, str):
        return content, 0
    if not isinstance(content, list):
        return str(content), 0
    texts = [
        str(part.get("text", "")) for part in content if isinstance(part, dict) and part.get("type") == "text"
    ]
    images = sum(1 for part in content if isinstance(part, dict) and part.get("type") == "image_url")
    return "\n".join(texts), images


def estimate_tokens(text: str) -> int:
    """Documented fallback when the server has no tokenizer endpoint: UTF-8 bytes / 3, rounded up."""
    return math.ceil(len(text.encode("utf-8")) / ESTIMATE_BYTES_PER_TOKEN)


class ContextOverflow(Exception):
    """Even with no history the request cannot fit; the message says what to change."""

    def __init__(self, needed: int, window: int, message_tokens: int, max_tokens: int) -> None:
        super().__init__(
            f"Your message is about {message_tokens:,} tokens; with the system prompt and Max tokens "
            f"({max_tokens:,}) the request needs {needed:,} tokens, but the model's context window "
            f"is {window:,}. Shorten the message or lower Max tokens."
        )
        self.needed, self.window = needed, window


@dataclass(frozen=True)
class Plan:
    first_kept: int  # index of the first history message sent
    prompt_tokens: int  # counted (or estimated) tokens of what is sent
    exact: bool  # counted by the server's tokenizer


def plan_history(
    history_tokens: list[int],
    history_roles: list[str],
    fixed_tokens: int,
    max_tokens: int,
    window: int,
) -> int:
    """Index of the first history message to keep so that everything fits (pure function).

    ``fixed_tokens`` is what is always sent (system prompt and current message, with overhead).
    """
    budget = window - max_tokens - fixed_tokens - SAFETY_MARGIN
    if budget < 0:
        raise ValueError("does not fit even without history")
    total = sum(history_tokens)
    if total <= budget:
        return 0
    chunk = max(window // 4, 1)
    target = math.ceil((total - budget) / chunk) * chunk
    dropped = 0
    for index, tokens in enumerate(history_tokens):
        if dropped >= target and history_roles[index] == "user":
            return index
        dropped += tokens
    return len(history_tokens)


PROBE_TTL = 60.0  # a server may be restarted with another model or n_ctx: ask again after this


class ContextBudget:
    """Per-server knowledge: context window and tokenizer endpoint, and a cache of counts."""

    def __init__(self, cache_size: int = 20_000) -> None:
        self._windows: dict[str, tuple[float, int | None]] = {}
        self._tokenizers: dict[str, tuple[float, str | None]] = {}
        self._counts: OrderedDict[tuple[str, str], int] = OrderedDict()
        self._cache_size = cache_size

    @staticmethod
    def _root(base_url: str) -> str:
        return base_url.removesuffix("/").removesuffix("/v1")

    async def window(self, base_url: str, headers: dict[str, str], configured: int | None) -> int | None:
        """The context window: the preset's value, else what the server says (llama.cpp /props)."""
        if configured:
            return configured
        known = self._windows.get(base_url)
        if known is None or known[0] < time.monotonic():
            known = (time.monotonic() + PROBE_TTL, await self._probe_window(base_url, headers))
            self._windows[base_url] = known
        return known[1]

    async def _probe_window(self, base_url: str, headers: dict[str, str]) -> int | None:
        url = self._root(base_url) + "/props"
        try:
            async with (
                httpx.AsyncClient(timeout=PROBE_TIMEOUT) as http,
                http.stream("GET", url, headers=headers) as response,
            ):
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
        async with httpx.AsyncClient(timeout=PROBE_TIMEOUT) as http:
            for text in texts:
                key = (base_url if kind else "", text)
                cached = self._counts.get(key)
                if cached is None:
                    cached = await self._count_one(http, base_url, headers, kind, text)
                    self._counts[key] = cached
                    if len(self._counts) > self._cache_size:
                        self._counts.popitem(last=False)
                else:
                    self._counts.move_to_end(key)
                counts.append(cached)
        return counts, kind is not None

    async def _count_one(
        self, http: httpx.AsyncClient, base_url: str, headers: dict[str, str], kind: str | None, text: str
    ) -> int:
        if kind is None or not text:
            return estimate_tokens(text)
        counted = await self._tokenize(http, base_url, headers, kind, text)
        return estimate_tokens(text) if counted is None else counted

    async def _tokenizer(self, base_url: str, headers: dict[str, str]) -> str | None:
        known = self._tokenizers.get(base_url)
        if known is None or known[0] < time.monotonic():
            found = None
            async with httpx.AsyncClient(timeout=PROBE_TIMEOUT) as http:
                for kind in ("llama-cpp-python", "llama.cpp"):
                    if await self._tokenize(http, base_url, headers, kind, "probe") is not None:
                        found = kind
                        break
            how = found or "estimate (no tokenizer endpoint)"
            log.info("token counting for %s: %s", display_url(base_url), how)
            known = (time.monotonic() + PROBE_TTL, found)
            self._tokenizers[base_url] = known
        return known[1]

    async def _tokenize(
        self, http: httpx.AsyncClient, base_url: str, headers: dict[str, str], kind: str, text: str
    ) -> int | None:
        """How many tokens the server counts in ``text``; None when it gives no believable answer."""
        root = self._root(base_url)
        if kind == "llama-cpp-python":
            url, body = root + "/extras/tokenize", {"input": text}
        else:
            url, body = root + "/tokenize", {"content": text}
        try:
            async with http.stream("POST", url, json=body, headers=headers) as response:
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
        counts = [
            c + PER_MESSAGE_OVERHEAD + images * IMAGE_TOKENS
            for c, (_, images) in zip(counts, parts, strict=True)
        ]
        has_system = messages[0]["role"] == "system"
        head = 1 if has_system else 0
        fixed = sum(counts[:head]) + counts[-1]
        history = counts[head:-1]
        roles = [m["role"] for m in messages[head:-1]]
        reserved = sum(counts[:head]) + max(counts[-1], message_reserve(window))
        try:
            first = plan_history(history, roles, reserved, max_tokens, window)
        except ValueError:
            try:  # the reserve is a preference: a request that fits without it is sent
                first = plan_history(history, roles, fixed, max_tokens, window)
            except ValueError:
                raise ContextOverflow(
                    fixed + max_tokens + SAFETY_MARGIN, window, counts[-1], max_tokens
                ) from None
        return Plan(first_kept=first, prompt_tokens=fixed + sum(history[first:]), exact=exact)
