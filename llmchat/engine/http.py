"""llmchat's own small requests to LLM servers: one pooled HTTP client, one probe at a time.

Besides the answers themselves (the ``openai`` client, :mod:`llmchat.engine.stream`), llmchat asks
servers small things: the context window (``/props``), which tokenizer endpoint they have, token
counts, whether a ``base_url`` answers at all. Each of these used to open an ``httpx.AsyncClient``
of its own, and building one builds an SSL context: about 20 ms of CPU (more on a busy machine)
before a byte is sent, on the event loop that streams every visitor's answer. With 100 visitors
arriving together that was a quarter of the app's CPU, and 100 identical probes of one server.

So there is one client per event loop (:class:`HttpPool`, made when first needed; keep-alive
connections are reused across turns and visitors), and a probe that is already on its way is not
sent again (:class:`SingleFlight`): the others wait for its answer.

The client keeps no cookies: what one server sets is never sent back, and a server cannot grow
a jar that lives as long as the app.
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import weakref
from collections.abc import Awaitable, Callable, Hashable
from typing import TypeVar

import httpx

T = TypeVar("T")

# httpx's own defaults, written out: at most this many connections for all probes and counts.
LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)
DEFAULT_TIMEOUT = 3.0  # each caller passes its own; this is for one that forgets


def _no_cookies() -> http.cookiejar.CookieJar:
    return http.cookiejar.CookieJar(policy=http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))


class HttpPool:
    """One ``httpx.AsyncClient`` per event loop (a client's connections belong to one loop)."""

    def __init__(self) -> None:
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
            weakref.WeakKeyDictionary()
        )
        self.created = 0  # clients made so far (tests check that probes do not make their own)

    def client(self) -> httpx.AsyncClient:
        """The running loop's client; made on first use."""
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None or client.is_closed:
            client = httpx.AsyncClient(timeout=DEFAULT_TIMEOUT, limits=LIMITS, cookies=_no_cookies())
            self._clients[loop] = client
            self.created += 1
        return client

    async def aclose(self) -> None:
        """Close the running loop's client (its connections); a later request makes a new one."""
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()


class SingleFlight:
    """Calls for the same key while one is in flight share its result instead of starting another.

    The work runs as a task of its own: a caller that is cancelled (the visitor pressed Stop)
    stops waiting, but the others still get the answer. Keys are per event loop.
    """

    def __init__(self) -> None:
        self._flights: dict[tuple[asyncio.AbstractEventLoop, Hashable], asyncio.Task[object]] = {}

    def in_flight(self) -> int:
        return len(self._flights)

    async def run(self, key: Hashable, work: Callable[[], Awaitable[T]]) -> T:
        """``await work()``, or the result of the call for ``key`` already running."""
        flight = (asyncio.get_running_loop(), key)
        task = self._flights.get(flight)
        if task is None:
            task = asyncio.ensure_future(work())
            self._flights[flight] = task
            task.add_done_callback(lambda done: self._landed(flight, done))
        return await asyncio.shield(task)  # type: ignore[return-value]

    def _landed(self, flight: tuple[asyncio.AbstractEventLoop, Hashable], task: asyncio.Task[object]) -> None:
        if self._flights.get(flight) is task:
            del self._flights[flight]
        if not task.cancelled():
            task.exception()  # retrieved: no "never retrieved" warning when every caller left


# The process's pool: every probe of every server shares it (one client per event loop).
PROBES = HttpPool()
