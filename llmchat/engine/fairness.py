"""Fair share per visitor: one client cannot take every answer slot.

Why: the app streams up to ``--concurrency`` answers at once (Gradio's ``concurrency_limit``,
default 128). Without a cap per visitor, one client that sends 140 chats at once holds every slot
and delays everyone else's first token from ~0.05 s to over 6 s (issue 11).

**Two limits, each on answers streaming at once and on turns waiting for one of those:**

* per visitor (the Gradio session): ``--max-answers-per-visitor``, default 3 streaming + 3
  waiting. A browser tab is one session; so is one ``gradio_client.Client``.
* per client address: ``--max-answers-per-address``, default 8 streaming + 8 waiting. Needed
  because the session is chosen by the client: a script can give every request a new one (raw
  HTTP, or a new ``Client`` each time). Larger than the visitor limit because many people may
  share one address (a classroom or office behind one NAT); 0 turns it off.

A turn that would exceed a streaming limit waits, with a "⏳" notice that the answer replaces
when it starts; turns start in arrival order as slots free up. **The waiting is bounded too**:
a waiting turn still occupies one of Gradio's concurrency slots, so 140 turns waiting inside the
chat function would block other visitors just as 140 streaming ones did. Past the waiting limit
a turn is refused at once with a notice; nothing is sent upstream and its Gradio slot is free
again within milliseconds. So one visitor holds at most 2 × the limit of Gradio's slots.

**The client address** (:func:`client_address`): the TCP peer, unless the peer is one of our own
proxies. Behind nginx (``deploy/``), Hugging Face Spaces (peer in 10.0.0.0/8) or Gradio's share
link (the ``frpc`` tunnel connects from 127.0.0.1; the share server is a Go reverse proxy that
appends the visitor's address to ``X-Forwarded-For``) the peer is a proxy; only then, i.e. when
the peer is loopback or private, is ``X-Forwarded-For`` read. Every proxy *appends* the address
it saw, so a visitor can write anything on the left but not on the right: the address is the
rightmost entry that is public, skipping loopback/private entries (further proxy hops inside a
platform); if every entry is private (a LAN behind a proxy), the rightmost one. Caveat: on a LAN
behind a proxy, a LAN visitor who writes a public address into the header is counted under it;
the visitor limit still applies to browsers. A public IPv6 address counts by its /64 (one
customer's network), since its owner can use any address in it.

**uvicorn** (Gradio's server) applies the same idea first: for a peer in ``FORWARDED_ALLOW_IPS``
(default 127.0.0.1 and ::1) it replaces the client address by the rightmost ``X-Forwarded-For``
entry that is not one of those, before llmchat sees the request. So a share-link visitor already
arrives as its own address; a private hop it left in place is walked past here as above. With
``FORWARDED_ALLOW_IPS=*`` uvicorn takes the *leftmost* entry, which the visitor wrote; llmchat
then ignores uvicorn's choice and walks the header itself.

**A visitor on this machine** (peer 127.0.0.1 with no ``X-Forwarded-For``, or a forwarded
loopback address) has no address limit, only the visitor limit: with ``--share`` every share-link
visitor would otherwise share 127.0.0.1 with the owner's own tabs and scripts (benchmarks run 100
local visitors at once). Share-link visitors always arrive with the header, so they are counted
by their own address.

What this does not bound is the *rate* of requests: each turned-away chat is still a Gradio event
(through the raw API, with a session of its own) that the app must take in before it reaches this
module. 140 at once took about 10 s to take in on 2 busy cores, during which a newcomer's request
waits in Gradio's queue for up to a second or so (``benchmarks/fair_share.py``); a client that
resends without pause keeps the app that busy.

Everything here is plain asyncio on one event loop (no locks needed); the notices are data,
worded by each front end like every other notice.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from llmchat.core.notices import Notice
from llmchat.core.turn import TurnView

DEFAULT_PER_VISITOR = 3
DEFAULT_PER_ADDRESS = 8
_MAX_HOPS = 32  # X-Forwarded-For entries looked at, from the right (the header is the client's to grow)
_VISITOR, _ADDRESS = Notice("who_visitor"), Notice("who_address")

_Ip = ipaddress.IPv4Address | ipaddress.IPv6Address
_R = TypeVar("_R")
State = Literal["streaming", "waiting", "refused", "done"]


def _parse_ip(text: str) -> _Ip | None:
    """An address as proxies write it: ``1.2.3.4``, ``1.2.3.4:5678``, ``::1``, ``[::1]:80``."""
    text = text.strip().strip('"')
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _internal(ip: _Ip) -> bool:
    """Loopback or private: where our own proxies live."""
    return ip.is_loopback or ip.is_private or ip.is_link_local


def _forwarded(forwarded_for: str) -> _Ip | None:
    """The visitor's address from ``X-Forwarded-For``, as the module docstring explains."""
    nearest: _Ip | None = None
    for hop in reversed(forwarded_for.split(",")[-_MAX_HOPS:]):
        ip = _parse_ip(hop)
        if ip is None:
            break  # garbage: whatever is left of it was written by the visitor
        if not _internal(ip):
            return ip
        nearest = nearest or ip
    return nearest


def client_address(peer: str | None, forwarded_for: str | None, trust_all: bool = False) -> str | None:
    """The address a visitor's turns are counted under; None means no address limit.

    ``peer`` is the request's client host as uvicorn reports it, ``trust_all`` says that uvicorn
    was told every peer is a proxy (``FORWARDED_ALLOW_IPS=*``).
    """
    if not peer:
        return None  # no network peer at all
    ip = _parse_ip(peer)
    # uvicorn already replaced a loopback peer by an X-Forwarded-For entry (see the module doc),
    # which may be a private hop or not an address at all: either way the peer was a proxy.
    if forwarded_for and (trust_all or ip is None or _internal(ip)):
        forwarded = _forwarded(forwarded_for)
        if forwarded is None:  # a proxy's header we cannot read: count everyone behind it as one
            return str(ip) if ip is not None else peer[:100]
        ip = forwarded
    elif ip is None:
        return peer[:100]  # not an address (Starlette's "testclient"): count it as it is
    if ip.is_loopback:
        return None  # a visitor on this machine
    if isinstance(ip, ipaddress.IPv6Address) and not _internal(ip):
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def visitor(request: Any) -> tuple[str | None, str | None]:
    """(session, address) of a ``gr.Request`` (read by attribute: no Gradio import here)."""
    if request is None:
        return None, None
    session = getattr(request, "session_hash", None)
    client = getattr(request, "client", None)
    peer = getattr(client, "host", None)
    headers = getattr(request, "headers", None)
    forwarded = None
    if headers is not None:
        getlist = getattr(headers, "getlist", None)
        # Several X-Forwarded-For headers mean the same as one joined with commas, in order.
        values = getlist("x-forwarded-for") if getlist else [headers.get("x-forwarded-for")]
        forwarded = ",".join(v for v in values if v) or None
    trust_all = os.environ.get("FORWARDED_ALLOW_IPS", "").strip() == "*"
    return (str(session) if session else None), client_address(peer, forwarded, trust_all)


@dataclass(eq=False)
class Turn:
    """One chat turn's place: streaming, waiting for a slot, or refused."""

    limits: tuple[tuple[str, int], ...]
    state: State = "streaming"
    blocked_by: tuple[Notice, int] | None = None  # (who, limit) that made it wait or refused it
    ready: asyncio.Future[None] | None = None


@dataclass
class FairShare:
    """Caps on answers streaming at once, and on turns waiting, per visitor and per address.

    ``per_visitor`` / ``per_address`` of 0 turn that limit off.
    """

    per_visitor: int = DEFAULT_PER_VISITOR
    per_address: int = DEFAULT_PER_ADDRESS
    _streaming: Counter[str] = field(default_factory=Counter)
    _waiting: Counter[str] = field(default_factory=Counter)
    _line: list[Turn] = field(default_factory=list)  # waiting turns, oldest first

    def limits(self, session: str | None, address: str | None) -> tuple[tuple[str, int], ...]:
        out = []
        if session and self.per_visitor > 0:
            out.append((f"session {session}", self.per_visitor))
        if address and self.per_address > 0:
            out.append((f"address {address}", self.per_address))
        return tuple(out)

    def enter(self, limits: tuple[tuple[str, int], ...]) -> Turn:
        """Start a turn now, put it in line, or refuse it (see :attr:`Turn.state`)."""
        turn = Turn(limits)
        full = self._full(turn)
        if not full:
            self._start(turn)
            return turn
        over = next(((k, n) for k, n in limits if self._waiting[k] >= n), None)
        turn.blocked_by = _who(*(over or full[0]))
        if over is not None:
            turn.state = "refused"
            return turn
        turn.state = "waiting"
        turn.ready = asyncio.get_running_loop().create_future()
        self._waiting.update(k for k, _ in limits)
        self._line.append(turn)
        return turn

    def leave(self, turn: Turn) -> None:
        """The turn ended (answered, failed, stopped or its visitor left): free its place."""
        if turn.state == "streaming":
            _decrement(self._streaming, turn.limits)
        elif turn.state == "waiting":
            self._line.remove(turn)
            _decrement(self._waiting, turn.limits)
        turn.state = "done"
        self._wake()

    def _start(self, turn: Turn) -> None:
        turn.state = "streaming"
        self._streaming.update(k for k, _ in turn.limits)

    def _full(self, turn: Turn) -> list[tuple[str, int]]:
        return [(k, n) for k, n in turn.limits if self._streaming[k] >= n]

    def _wake(self) -> None:
        """Start the waiting turns that fit now, oldest first.

        Run whenever a slot frees, so a waiting turn is always held back by a full limit, and a
        freed slot goes to the oldest turn that needs it and is held back by nothing else: no
        newer turn overtakes it. (A turn that waits only for its own session's answer does not
        keep its neighbours behind the same address from the address's free slots.)
        """
        for turn in list(self._line):
            if turn.ready is not None and turn.ready.cancelled():
                continue  # its task is being cancelled; leave() will take it out of line
            if not self._full(turn):
                self._line.remove(turn)
                _decrement(self._waiting, turn.limits)
                self._start(turn)
                if turn.ready is not None:
                    turn.ready.set_result(None)

    async def take_turn(
        self, limits: tuple[tuple[str, int], ...], answer: Callable[[], AsyncIterator[_R]]
    ) -> AsyncIterator[_R | TurnView]:
        """Run ``answer()`` within the limits, yielding a notice first when it waits or is refused."""
        turn = self.enter(limits)
        try:
            if turn.state == "refused":
                who, limit = turn.blocked_by or (_VISITOR, 0)
                yield TurnView.of(Notice("fair_refused", who=who, limit=limit, waiting=limit))
                return
            if turn.state == "waiting" and turn.ready is not None:
                who, limit = turn.blocked_by or (_VISITOR, 0)
                yield TurnView.of(Notice("fair_waiting", who=who, limit=limit))
                await turn.ready
            async for reply in answer():
                yield reply
        finally:
            self.leave(turn)


def _who(key: str, limit: int) -> tuple[Notice, int]:
    return (_VISITOR if key.startswith("session ") else _ADDRESS), limit


def _decrement(counter: Counter[str], limits: tuple[tuple[str, int], ...]) -> None:
    for key, _ in limits:
        counter[key] -= 1
        if counter[key] <= 0:
            del counter[key]  # forgotten visitors cost no memory
