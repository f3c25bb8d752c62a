"""What llmchat asks a server besides the answers: once per server, on one pooled client.

100 visitors arriving together used to probe the same server 100 times, each probe and each
token count with an HTTP client (and SSL context) of its own (issue 12). These turns run through
the chat service against the real test server, which records every request and the port it came
from (one port is one connection).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from llmchat.core.presets import load_catalog
from llmchat.engine import http
from llmchat.engine.budget import PROBE_TTL
from llmchat.engine.http import SingleFlight
from llmchat.engine.service import ChatService, TurnRequest
from llmchat.testing.openai_server import OpenAITestServer

CROWD = 100


async def _turns(service: ChatService, messages: list[str], preset: str) -> list[str]:
    async def one(message: str) -> str:
        answer = ""
        async for view in service.turn(TurnRequest(message=message, preset=preset)):
            answer = view.answer
        return answer

    return await asyncio.gather(*(one(m) for m in messages))


def _requests(server: OpenAITestServer) -> list[tuple[str, Any, int | None]]:
    """(path, body, client port) of every request the server received."""
    return [(r.path, r.body, r.client[1] if r.client else None) for r in server.requests]


def test_a_crowd_probes_the_server_once(config_dir: Path, server: OpenAITestServer) -> None:
    """100 turns at once: one /props, one tokenizer probe, one count of the shared system prompt."""
    server.n_ctx, server.tokenizer = 4096, "llama.cpp"
    service = ChatService(load_catalog(config_dir, environ={}))
    created = http.PROBES.created

    async def two_waves() -> tuple[list[str], list[str]]:
        # QA mode: no cache warm-ups, whose counts of the answers would blur the figures.
        first = await _turns(service, [f"visitor {k}" for k in range(CROWD)], "test-qa")
        second = await _turns(service, [f"again {k}" for k in range(CROWD)], "test-qa")
        return first, second

    first, second = asyncio.run(two_waves())
    assert first == [f"Echo: visitor {k}" for k in range(CROWD)]
    assert second == [f"Echo: again {k}" for k in range(CROWD)]
    seen = _requests(server)
    paths = Counter(path for path, _, _ in seen)
    # Within PROBE_TTL the second wave asks nothing again but its own messages' counts.
    assert paths["/props"] == 1
    assert [body for path, body, _ in seen if path == "/extras/tokenize"] == [{"input": "probe"}]
    counted = Counter(body["content"] for path, body, _ in seen if path == "/tokenize")
    assert counted.pop("probe") == 1
    assert counted.pop("QA system prompt.") == 1
    assert counted == Counter([f"visitor {k}" for k in range(CROWD)] + [f"again {k}" for k in range(CROWD)])
    assert paths["/v1/chat/completions"] == 2 * CROWD
    assert http.PROBES.created == created + 1  # one client for every probe and count of this loop
    assert PROBE_TTL >= 60  # what "within the TTL" above relies on


def test_probes_and_counts_reuse_one_connection(config_dir: Path, server: OpenAITestServer) -> None:
    """Turns one after another: every probe and count goes over the same kept-alive connection."""
    server.n_ctx, server.tokenizer = 4096, "llama-cpp-python"
    service = ChatService(load_catalog(config_dir, environ={}))

    async def one_by_one() -> None:
        for k in range(10):
            assert await _turns(service, [f"turn {k}"], "test-qa") == [f"Echo: turn {k}"]

    asyncio.run(one_by_one())
    seen = _requests(server)
    probes = [(path, port) for path, _, port in seen if path != "/v1/chat/completions"]
    assert Counter(path for path, _ in probes) == {"/props": 1, "/extras/tokenize": 12}  # probe, prompt, 10
    assert len({port for _, port in probes}) == 1


def test_a_crowd_checks_that_a_base_url_answers_once(tmp_path: Path, server: OpenAITestServer) -> None:
    """A preset with a local model and a base_url asks the base_url first; a crowd asks it once."""
    (tmp_path / "local.yaml").write_text(
        f"base_url: {server.base_url}\napi_key: sk-x\nmodel: smol\nshow_stats: false\n"
        "context_window: 4096\nembedded:\n  model: smollm2\n",
        encoding="utf-8",
    )
    service = ChatService(load_catalog(tmp_path, environ={}))
    answers = asyncio.run(_turns(service, [f"visitor {k}" for k in range(CROWD)], "local"))
    assert answers == [f"Echo: visitor {k}" for k in range(CROWD)]
    paths = Counter(path for path, _, _ in _requests(server))
    assert (paths["/v1/models"], paths["/v1/chat/completions"]) == (1, CROWD)
    # The tokenizer probe (none here) was made once too.
    assert (paths["/extras/tokenize"], paths["/tokenize"]) == (1, 1)


def test_pages_loading_together_list_the_models_once(config_dir: Path, server: OpenAITestServer) -> None:
    service = ChatService(load_catalog(config_dir, environ={}))
    preset = service.catalog.get("test-chat")
    server.models = ["test-model", "other-model"]

    async def crowd() -> list[Any]:
        return await asyncio.gather(*(service.models.listing(preset) for _ in range(50)))

    listings = asyncio.run(crowd())
    assert {listing.models for listing in listings} == {("test-model", "other-model")}
    assert [path for path, _, _ in _requests(server)] == ["/v1/models"]


def test_a_waiter_that_leaves_does_not_cancel_the_shared_probe() -> None:
    """The visitor whose turn started a probe presses Stop: the others still get its answer."""
    flights = SingleFlight()
    calls = 0

    async def probe() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return 4096

    async def scenario() -> tuple[list[int], int]:
        first = asyncio.create_task(flights.run("server", probe))
        await asyncio.sleep(0)
        others = [asyncio.create_task(flights.run("server", probe)) for _ in range(5)]
        await asyncio.sleep(0)
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        return await asyncio.gather(*others), flights.in_flight()

    results, left = asyncio.run(scenario())
    assert results == [4096] * 5
    assert calls == 1
    assert left == 0


def test_a_failed_probe_fails_every_waiter_and_is_asked_again() -> None:
    flights = SingleFlight()
    calls = 0

    async def probe() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        if calls == 1:
            raise OSError("refused")
        return 1

    async def scenario() -> tuple[list[Any], int]:
        together = await asyncio.gather(*(flights.run("s", probe) for _ in range(3)), return_exceptions=True)
        return together, await flights.run("s", probe)

    together, later = asyncio.run(scenario())
    assert [type(r) for r in together] == [OSError] * 3
    assert later == 1 and calls == 2
