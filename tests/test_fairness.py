"""Fair share per visitor (issue 11): one client cannot take every answer slot.

Unit tests of the limiter and of how a visitor's address is found, then the app under a flood:
one client sends 40 chats at once while a second visitor asks one question, and the second
visitor's first token must arrive about as fast as with nobody flooding.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from gradio_client import Client
from starlette.datastructures import Headers

from llmchat.cli import web as cli
from llmchat.core.notices import Notice
from llmchat.core.presets import load_catalog
from llmchat.engine import fairness
from llmchat.engine.fairness import FairShare, client_address, visitor
from llmchat.i18n import notice_text
from llmchat.ports import free_port
from llmchat.testing.openai_server import OpenAITestServer
from llmchat.web.app import build_demo

# --- the limiter ----------------------------------------------------------------------------

VISITOR = (("session a", 2),)


def test_past_the_streaming_limit_turns_wait_and_past_the_waiting_limit_they_are_refused() -> None:
    async def scenario() -> None:
        fair = FairShare()
        turns = [fair.enter(VISITOR) for _ in range(5)]
        assert [t.state for t in turns] == ["streaming", "streaming", "waiting", "waiting", "refused"]
        assert turns[2].blocked_by == turns[4].blocked_by == (Notice("who_visitor"), 2)
        other = fair.enter((("session b", 2),))
        assert other.state == "streaming"  # another visitor is not held up
        fair.leave(turns[0])
        assert turns[2].state == "streaming" and turns[2].ready is not None and turns[2].ready.done()
        assert turns[3].state == "waiting"
        fair.leave(turns[4])  # a refused turn holds nothing
        again = fair.enter(VISITOR)  # 2 streaming and 1 waiting: room in line for one more
        assert again.state == "waiting"
        assert fair.enter(VISITOR).state == "refused"
        for turn in (turns[1], turns[2], turns[3], again, other):
            fair.leave(turn)
        assert not fair._streaming and not fair._waiting and not fair._line  # nothing kept

    asyncio.run(scenario())


def test_the_address_limit_binds_across_sessions() -> None:
    async def scenario() -> None:
        fair = FairShare(per_visitor=3, per_address=2)
        turns = [fair.enter(fair.limits(f"s{i}", "8.8.8.8")) for i in range(5)]
        assert [t.state for t in turns] == ["streaming", "streaming", "waiting", "waiting", "refused"]
        assert turns[4].blocked_by == (Notice("who_address"), 2)
        assert fair.enter(fair.limits("s9", "9.9.9.9")).state == "streaming"
        assert fair.enter(fair.limits("s9", None)).state == "streaming"  # a local visitor

    asyncio.run(scenario())


def test_a_zero_limit_is_no_limit() -> None:
    fair = FairShare(per_visitor=0, per_address=0)
    assert fair.limits("s", "8.8.8.8") == ()
    assert FairShare(per_visitor=3, per_address=0).limits("s", "8.8.8.8") == (("session s", 3),)


def test_waiting_turns_start_in_arrival_order_and_none_overtakes_an_older_one() -> None:
    async def scenario() -> None:
        fair = FairShare(per_visitor=1, per_address=2)
        a1 = fair.enter(fair.limits("a", "8.8.8.8"))
        b1 = fair.enter(fair.limits("b", "8.8.8.8"))
        c1 = fair.enter(fair.limits("c", "8.8.8.8"))  # the address is full
        a2 = fair.enter(fair.limits("a", "8.8.8.8"))
        assert [t.state for t in (a1, b1, c1, a2)] == ["streaming", "streaming", "waiting", "waiting"]
        assert c1.blocked_by == (Notice("who_address"), 2) and a2.blocked_by == (Notice("who_visitor"), 1)
        fair.leave(a1)  # a2 came later: c1 takes the address's free slot
        assert (c1.state, a2.state) == ("streaming", "waiting")
        fair.leave(b1)
        assert a2.state == "streaming"

    asyncio.run(scenario())


def test_a_turn_waiting_only_for_its_own_session_does_not_hold_up_its_neighbours() -> None:
    """Two people behind one NAT: one waits for their own other answer; the other one's turn
    starts, since the address has room."""

    async def scenario() -> None:
        fair = FairShare(per_visitor=1, per_address=2)
        a1 = fair.enter(fair.limits("a", "8.8.8.8"))
        a2 = fair.enter(fair.limits("a", "8.8.8.8"))  # waits for a1
        b1 = fair.enter(fair.limits("b", "8.8.8.8"))  # the address's second slot
        c1 = fair.enter(fair.limits("c", "8.8.8.8"))  # the address is full
        assert [t.state for t in (a1, a2, b1, c1)] == ["streaming", "waiting", "streaming", "waiting"]
        fair.leave(b1)  # a2 still waits for a1, so c1 takes the free slot
        assert (a2.state, c1.state) == ("waiting", "streaming")
        d1 = fair.enter(fair.limits("d", "8.8.8.8"))
        fair.leave(a1)  # now a2, the older one, gets the address's slot before d1
        assert (a2.state, d1.state) == ("streaming", "waiting")

    asyncio.run(scenario())


def test_a_waiting_turn_whose_visitor_leaves_frees_its_place() -> None:
    async def scenario() -> None:
        fair = FairShare(per_visitor=1, per_address=0)
        running = fair.enter(fair.limits("a", None))
        started: list[str] = []

        async def answer() -> AsyncIterator[str]:
            started.append("yes")
            yield "answer"

        async def turn() -> list[Any]:
            return [reply async for reply in fair.take_turn(fair.limits("a", None), answer)]

        task = asyncio.create_task(turn())
        await asyncio.sleep(0.01)
        assert len(fair._line) == 1
        task.cancel()  # Stop pressed, or the tab closed, while waiting
        fair.leave(running)  # frees the slot in the same instant: the cancelled turn must not start
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not started and not fair._line and not fair._streaming and not fair._waiting

    asyncio.run(scenario())


def test_take_turn_says_why_it_waits_and_never_answers_a_refused_turn() -> None:
    async def scenario() -> list[list[Any]]:
        fair = FairShare(per_visitor=1, per_address=0)
        release = asyncio.Event()
        calls: list[int] = []

        async def answer() -> AsyncIterator[str]:
            calls.append(1)
            await release.wait()
            yield "done"

        async def turn() -> list[Any]:
            return [reply async for reply in fair.take_turn(fair.limits("a", None), answer)]

        tasks = [asyncio.create_task(turn()) for _ in range(3)]
        await asyncio.sleep(0.05)
        assert len(calls) == 1  # one streams, one waits, one was refused
        release.set()
        results = await asyncio.wait_for(asyncio.gather(*tasks), 5)
        assert len(calls) == 2
        return results

    streaming, waited, refused = asyncio.run(scenario())
    assert streaming == ["done"]
    [wait_title, wait_body] = notice_text(waited[0].before[0], "en")
    assert wait_title == "⏳ Waiting for a free slot" and waited[-1] == "done"
    assert "at most 1 answers at once for one visitor" in wait_body
    assert len(refused) == 1
    [refused_title, refused_body] = notice_text(refused[0].before[0], "en")
    assert refused_title == "⚠️ Too many answers at once" and "not sent to the model" in refused_body


def test_the_notices_are_in_japanese_for_japanese_visitors() -> None:
    for key in ("fair_waiting", "fair_refused"):
        for who in ("who_visitor", "who_address"):
            notice = Notice(key, who=Notice(who), limit=3, waiting=3)
            [title, _], [ja_title, ja_body] = notice_text(notice, "en"), notice_text(notice, "ja")
            assert ja_title != title
            expected = "1 人あたり 3 件" if who == "who_visitor" else "ネットワークアドレスあたり 3 件"
            assert expected in ja_body


def test_the_limits_come_from_flags_or_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env = {"LLMCHAT_MAX_ANSWERS_PER_VISITOR": "2", "LLMCHAT_MAX_ANSWERS_PER_ADDRESS": "0"}
    config = cli.parse_args([], environ=env)
    assert (config.max_answers_per_visitor, config.max_answers_per_address) == (2, 0)
    config = cli.parse_args(
        ["--max-answers-per-visitor", "4", "--max-answers-per-address", "20"], environ=env
    )
    assert (config.max_answers_per_visitor, config.max_answers_per_address) == (4, 20)
    defaults = cli.parse_args([], environ={})
    assert (defaults.max_answers_per_visitor, defaults.max_answers_per_address) == (3, 8)
    with pytest.raises(cli.UsageError, match="--max-answers-per-address: -1 is invalid"):
        cli.parse_args(["--max-answers-per-address", "-1"], environ={})
    # ...and reach the app.
    (tmp_path / "p.yaml").write_text("name: P\n")
    built: dict[str, Any] = {}
    monkeypatch.setattr(cli, "build_demo", lambda *args, **kwargs: built.update(kwargs))
    cli.build_from_config(
        cli.parse_args(["--config-dir", str(tmp_path), "--max-answers-per-visitor", "5"], {})
    )
    assert (built["max_answers_per_visitor"], built["max_answers_per_address"]) == (5, 8)


# --- who a visitor is -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "expected"),
    [
        ("8.8.8.8", None, "8.8.8.8"),  # a visitor on the internet, no proxy
        ("8.8.8.8", "1.1.1.1", "8.8.8.8"),  # ...who writes the header himself: not trusted
        ("127.0.0.1", None, None),  # this machine: no address limit
        ("::1", None, None),
        ("127.0.0.1", "8.8.8.8", "8.8.8.8"),  # share link (frpc on loopback) / local nginx
        ("127.0.0.1", "1.1.1.1, 8.8.8.8", "8.8.8.8"),  # the visitor's own entry is on the left
        ("127.0.0.1", "1.1.1.1,8.8.8.8:51234", "8.8.8.8"),  # a port is ignored
        ("10.16.3.80", "8.8.8.8, 10.0.0.5", "8.8.8.8"),  # Spaces-like: more proxy hops inside
        ("10.16.3.80", "8.8.8.8, 10.0.0.5, 172.17.0.1", "8.8.8.8"),
        ("127.0.0.1", "10.9.9.9, 192.168.1.5", "192.168.1.5"),  # a LAN behind a proxy
        ("127.0.0.1", "127.0.0.1", None),  # a local visitor through a local proxy
        ("127.0.0.1", "8.8.8.8, not-an-address, 10.0.0.5", "10.0.0.5"),  # nothing left of garbage
        ("127.0.0.1", "garbage", "127.0.0.1"),  # a proxy we cannot read: count it as one address
        ("192.168.1.20", None, "192.168.1.20"),  # a LAN visitor, directly
        ("::ffff:8.8.8.8", None, "8.8.8.8"),
        ("2a00:1450:4001:80b::200e", None, "2a00:1450:4001:80b::/64"),  # IPv6: the /64
        ("127.0.0.1", "[2a00:1450:4001:80b::1]:443", "2a00:1450:4001:80b::/64"),
        ("testclient", None, "testclient"),  # not an address: counted as it is
        (None, "8.8.8.8", None),  # no network peer
        # uvicorn already put an X-Forwarded-For entry in place of a loopback peer:
        ("10.0.0.5", "8.8.8.8, 10.0.0.5", "8.8.8.8"),
        ("not-an-address", "8.8.8.8, not-an-address", "not-an-address"),
    ],
)
def test_client_address(peer: str | None, forwarded_for: str | None, expected: str | None) -> None:
    assert client_address(peer, forwarded_for) == expected


def test_with_uvicorn_trusting_every_peer_its_choice_is_not_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    """FORWARDED_ALLOW_IPS=* makes uvicorn report the leftmost entry, which the visitor wrote."""
    request = SimpleNamespace(
        session_hash=None,
        client=SimpleNamespace(host="1.1.1.1"),
        headers={"x-forwarded-for": "1.1.1.1, 8.8.8.8"},
    )
    assert visitor(request) == (None, "1.1.1.1")  # a direct visitor: the header is not read
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")
    assert visitor(request) == (None, "8.8.8.8")


def test_visitor_reads_a_gradio_request() -> None:
    raw = [(b"x-forwarded-for", b"1.1.1.1"), (b"x-forwarded-for", b"8.8.8.8")]
    request = SimpleNamespace(
        session_hash="abc", client=SimpleNamespace(host="127.0.0.1"), headers=Headers(raw=raw)
    )
    assert visitor(request) == ("abc", "8.8.8.8")  # two headers count as one list, in order
    plain = SimpleNamespace(session_hash=None, client=None, headers={"x-forwarded-for": "8.8.8.8"})
    assert visitor(plain) == (None, None)
    assert visitor(None) == (None, None)


# --- the app under a flood ------------------------------------------------------------------

FLOOD = 40  # chats sent at once by one client
# Flood answers would take 20 s; the test ends them by leaving (closing their streams) instead.
FLOOD_ANSWER = "[[test tokens=200 delay=0.1]]"
# Seconds the flood gets to be taken in (each of its turns shows a token or a notice) before the
# second visitor asks. Without the limits, turns past Gradio's slots show nothing until a flood
# answer ends, so the second visitor then asks with 10 s of the flood answers to go.
SETTLE = 8.0
CONCURRENCY = 32  # Gradio's slots in this test: fewer than the flood, as 128 < 140 in issue 11
WAITING, REFUSED = "⏳ Waiting for a free slot", "⚠️ Too many answers at once"


@pytest.fixture
def flood_app(config_dir: Path, server: OpenAITestServer) -> Iterator[str]:
    """The app with the shipped per-visitor limits and fewer Gradio slots than the flood."""
    demo = build_demo(load_catalog(config_dir, environ={}), "test-chat", concurrency=CONCURRENCY)
    _, url, _ = demo.launch(
        server_name="127.0.0.1",
        server_port=free_port(),
        prevent_thread_lock=True,
        quiet=True,
        max_threads=CONCURRENCY + 8,
    )
    yield url
    demo.close()


@dataclass
class Turn:
    """A chat turn through the raw HTTP API, as it goes: every reply shown, and when."""

    outputs: list[Any] = field(default_factory=list)
    final: Any = None
    ttft: float | None = None  # seconds to the first answer text (not a notice)

    @property
    def first(self) -> str | None:
        """The title of the first thing shown: a notice's, or None for answer text."""
        reply = self.outputs[0] if self.outputs else None
        if isinstance(reply, list) and reply and isinstance(reply[0], dict):
            return (reply[0].get("metadata") or {}).get("title")
        return None


class Chat:
    """Chat turns through the raw HTTP API (``/gradio_api/call/chat``), each a new session."""

    def __init__(self, url: str) -> None:
        self.url = url
        params = httpx.get(url + "gradio_api/info", timeout=10).json()["named_endpoints"]["/chat"][
            "parameters"
        ]
        self.defaults = [p["parameter_default"] for p in params[1:]]
        self.defaults[1] = "qa"  # mode: each request carries only its own question

    async def turn(self, http: httpx.AsyncClient, message: str, headers: dict[str, str], turn: Turn) -> Turn:
        start = time.monotonic()
        posted = await http.post(
            self.url + "gradio_api/call/chat", json={"data": [message, *self.defaults]}, headers=headers
        )
        event = ""
        async with http.stream(
            "GET", f"{self.url}gradio_api/call/chat/{posted.json()['event_id']}"
        ) as stream:
            async for line in stream.aiter_lines():
                if line.startswith("event: "):
                    event = line[len("event: ") :]
                elif line.startswith("data: ") and event in ("generating", "complete"):
                    reply = json.loads(line[len("data: ") :])[0]
                    if turn.ttft is None and isinstance(reply, str) and reply:
                        turn.ttft = time.monotonic() - start
                    turn.outputs.append(reply)
                    if event == "complete":
                        turn.final = reply
                        return turn
                elif event == "error":
                    raise AssertionError(f"chat failed: {line}")
        raise AssertionError("the stream ended without a result")


def question_sent(body: dict[str, Any] | None) -> str:
    return str(body["messages"][-1]["content"]) if body and body.get("messages") else ""


async def until(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return condition()


def test_a_flooding_client_does_not_slow_down_another_visitor(
    flood_app: str, server: OpenAITestServer
) -> None:
    """One client sends 40 chats at once, each in a new session (raw HTTP), through proxies: one on
    loopback (as Gradio's share tunnel or nginx), behind it one of several inner hops (as on a
    hosting platform). The flooder's own rotating X-Forwarded-For entries on the left do not count;
    its address (8.8.8.8) is the rightmost public one."""
    chat = Chat(flood_app)
    flood_headers = [{"X-Forwarded-For": f"1.2.3.{i}, 8.8.8.8, 10.0.{i}.1"} for i in range(FLOOD)]
    other = {"X-Forwarded-For": "9.9.9.9, 10.0.0.1"}  # the second visitor, the same way
    limit = fairness.DEFAULT_PER_ADDRESS
    tag = uuid.uuid4().hex[:8]

    def flood_sent() -> list[str]:
        return [q for q in map(question_sent, server.chat_bodies) if tag in q and "flood " in q]

    async def second_visitor(http: httpx.AsyncClient, label: str, turns: int) -> list[float]:
        times = []
        for i in range(turns):
            result = await chat.turn(http, f"[[test tokens=3]] {label} {i} {tag}", other, Turn())
            assert result.final == "tok0 tok1 tok2" and result.ttft is not None
            times.append(result.ttft)
        return times

    async def scenario() -> tuple[list[float], float, int, list[Turn], list[str], str]:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        async with httpx.AsyncClient(timeout=60, limits=limits) as http:
            await second_visitor(http, "warm-up", 3)
            baseline = await second_visitor(http, "calm", 3)
            turns = [Turn() for _ in range(FLOOD)]
            tasks = [
                asyncio.create_task(
                    chat.turn(http, f"{FLOOD_ANSWER} flood {i} {tag}", flood_headers[i], turns[i])
                )
                for i in range(FLOOD)
            ]
            flood_from = time.monotonic()
            await until(lambda: all(t.outputs for t in turns), SETTLE)
            measured_from = time.monotonic()
            shown = sum(bool(t.outputs) for t in turns)
            settled = f"{shown}/{FLOOD} flood turns in after {measured_from - flood_from:.1f} s"
            [during] = await second_visitor(http, "flooded", 1)
            running = [  # flood answers that streamed the whole time the second visitor asked
                s
                for s in list(server.streams)
                if s.started_at < measured_from
                and s.ended_at is None
                and "flood " in question_sent(server.requests[s.request_index].body)
            ]
            # The flooder leaves its streaming answers: the waiting turns start in their place.
            first_wave = set(flood_sent())
            for task, turn in zip(tasks, turns, strict=True):
                if turn.outputs and turn.first is None:
                    task.cancel()
            await until(lambda: len(flood_sent()) >= 2 * limit, 10)
            await until(lambda: sum(t.first == WAITING and t.ttft is not None for t in turns) >= limit, 10)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            second_wave = [q for q in flood_sent() if q not in first_wave]
            return baseline, during, len(running), turns, second_wave, settled

    baseline, during, running, turns, second_wave, settled = asyncio.run(scenario())
    calm = statistics.median(baseline)
    times = f"{calm * 1000:.0f} ms calm, {during * 1000:.0f} ms flooded"
    print(f"\nsecond visitor's first token: {times} ({settled})")
    assert during <= max(5 * calm, calm + 2.0), (baseline, during)
    assert running >= limit, "the flood was not streaming while the second visitor asked"

    firsts = [t.first for t in turns]
    assert firsts.count(None) == limit and firsts.count(WAITING) == limit, firsts
    assert firsts.count(REFUSED) == FLOOD - 2 * limit, firsts
    refused = [t for t in turns if t.first == REFUSED]
    assert all("not sent to the model" in t.final[0]["content"] for t in refused)
    waited = [t for t in turns if t.first == WAITING]
    assert all(t.ttft is not None for t in waited)  # they streamed once the first wave left
    assert len(second_wave) == limit
    sent = flood_sent()
    assert len(sent) == len(set(sent)) == 2 * limit  # nothing refused ever went upstream


def test_one_session_streams_three_answers_at_once_and_three_wait(
    flood_app: str, server: OpenAITestServer
) -> None:
    """The visitor limit, through gradio_client: one session (from this machine, so no address
    limit) sends 8 chats at once."""
    visitor = Client(flood_app, verbose=False)
    tag = uuid.uuid4().hex[:8]
    try:
        jobs = [
            visitor.submit(f"[[test tokens=10 delay=0.1]] burst {i} {tag}", mode="qa", api_name="/chat")
            for i in range(8)
        ]
        finals = [job.result(timeout=60) for job in jobs]
        firsts = [Turn(outputs=job.outputs()).first for job in jobs]
    finally:
        visitor.close()
    assert (firsts.count(None), firsts.count(WAITING), firsts.count(REFUSED)) == (3, 3, 2), firsts
    answered = [f for f, t in zip(finals, firsts, strict=True) if t != REFUSED]
    assert answered == [" ".join(f"tok{i}" for i in range(10))] * 6
    assert len([b for b in server.chat_bodies if tag in question_sent(b)]) == 6
