"""llmchat reads the event stream itself (client.stream_deltas): it must read it as the openai client would.

Each test streams from the real test server over HTTP with a real ``openai.AsyncOpenAI`` and
asserts what the generator yielded, what it recorded, and which exception a failure became.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import openai
import pytest

from llmchat.engine.stream import Delta, StreamOutcome, stream_deltas
from llmchat.testing.openai_server import Behavior, OpenAITestServer

BODY: dict[str, Any] = {
    "model": "test-model",
    "messages": [{"role": "user", "content": "hi"}],
    "stream": True,
}


async def _collect(
    server: OpenAITestServer, body: dict[str, Any] = BODY
) -> tuple[list[Delta], StreamOutcome]:
    client = openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-x", max_retries=0)
    outcome = StreamOutcome()
    try:
        deltas = [d async for d in stream_deltas(client, body, outcome)]
    finally:
        await client.close()
    return deltas, outcome


def collect(server: OpenAITestServer, body: dict[str, Any] = BODY) -> tuple[list[Delta], StreamOutcome]:
    return asyncio.run(_collect(server, body))


def sse(*events: object) -> str:
    return "".join(f"data: {json.dumps(e) if not isinstance(e, str) else e}\n\n" for e in events)


def chunk(content: str | None = None, finish: str | None = None, **delta: Any) -> dict[str, Any]:
    if content is not None:
        delta["content"] = content
    return {
        "id": "c1",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def test_text_usage_and_finish_reason_are_read(server: OpenAITestServer) -> None:
    server.set_behavior(Behavior(reply="Hello, 世界! 🎉"))
    deltas, outcome = collect(server, {**BODY, "stream_options": {"include_usage": True}})
    assert "".join(d.text for d in deltas if d.kind == "text") == "Hello, 世界! 🎉"
    assert outcome.finish_reason == "stop"
    assert outcome.usage is not None and outcome.usage.completion_tokens == len(deltas)
    assert outcome.chunks == len(deltas)
    assert outcome.first_token_at is not None and outcome.last_token_at is not None


def test_reasoning_fields_come_out_as_thinking(server: OpenAITestServer) -> None:
    server.set_behavior(Behavior(reasoning="Let me think.", reply="42"))
    deltas, _ = collect(server)
    assert "".join(d.text for d in deltas if d.kind == "think") == "Let me think."
    assert "".join(d.text for d in deltas if d.kind == "text") == "42"


def test_sse_framing_variants_are_read_like_the_spec_says(server: OpenAITestServer) -> None:
    """Comments, ``event:`` lines, ``data:`` without a space, CRLF line ends, a data field over two lines."""
    two_lines = json.dumps(chunk(" two"), indent=1).replace("\n", "\ndata: ")
    raw = (
        ": keep-alive comment\r\n\r\n"
        f"event: message\r\ndata:{json.dumps(chunk('one'))}\r\n\r\n"
        f"data: {two_lines}\n\n"
        f"data: {json.dumps({**chunk(finish='stop'), 'timings': {'predicted_n': 2}})}\n\n"
        "data: [DONE]\n\n"
    )
    server.set_behavior(Behavior(raw_stream=raw))
    deltas, outcome = collect(server)
    assert [d.text for d in deltas] == ["one", " two"]
    assert outcome.finish_reason == "stop"
    assert outcome.timings is not None and outcome.timings.predicted_n == 2


def test_nothing_after_done_is_read_as_answer(server: OpenAITestServer) -> None:
    server.set_behavior(Behavior(raw_stream=sse(chunk("kept", finish="stop"), "[DONE]", chunk("ignored"))))
    deltas, _ = collect(server)
    assert [d.text for d in deltas] == ["kept"]


def test_an_event_cut_before_its_blank_line_is_dropped(server: OpenAITestServer) -> None:
    server.set_behavior(Behavior(raw_stream=sse(chunk("whole")) + f"data: {json.dumps(chunk('half'))}"))
    deltas, outcome = collect(server)
    assert [d.text for d in deltas] == ["whole"]
    assert outcome.finish_reason is None  # the caller reports "cut off"


def test_an_error_event_becomes_api_error_after_the_text_before_it(server: OpenAITestServer) -> None:
    server.set_behavior(Behavior(tokens=3, fault="error_event_after:2", message="model crashed"))
    got: list[str] = []

    async def run() -> None:
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-x", max_retries=0)
        try:
            async for delta in stream_deltas(client, BODY, StreamOutcome()):
                got.append(delta.text)
        finally:
            await client.close()

    with pytest.raises(openai.APIError, match="model crashed") as caught:
        asyncio.run(run())
    assert not isinstance(caught.value, openai.APIConnectionError)
    assert "".join(got) == "tok0 tok1 "


def test_a_dropped_connection_becomes_api_connection_error(server: OpenAITestServer) -> None:
    server.set_behavior(Behavior(tokens=5, fault="drop_after:2"))
    with pytest.raises(openai.APIConnectionError):
        collect(server)


def test_garbage_is_a_value_error_and_http_errors_stay_the_clients(server: OpenAITestServer) -> None:
    server.set_behavior(Behavior(fault="not_sse"))
    with pytest.raises(ValueError):
        collect(server)
    server.set_behavior(Behavior(raw_stream=sse([1, 2, 3])))
    with pytest.raises(ValueError, match="JSON object"):
        collect(server)
    server.set_behavior(Behavior(fault="http", status=503, message="overloaded"))
    with pytest.raises(openai.InternalServerError, match="overloaded"):
        collect(server)


def test_a_silent_server_times_out_as_api_timeout_error(server: OpenAITestServer) -> None:
    server.set_behavior(Behavior(fault="hang"))

    async def run() -> None:
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-x", max_retries=0, timeout=0.5)
        try:
            async for _ in stream_deltas(client, BODY, StreamOutcome()):
                pass
        finally:
            await client.close()

    with pytest.raises(openai.APITimeoutError):
        asyncio.run(run())


def test_consecutive_answers_reuse_one_connection(server: OpenAITestServer) -> None:
    """After [DONE] the rest of the body is read, so the kept-alive connection goes back to the pool."""
    server.set_behavior(Behavior(tokens=20))

    async def run() -> None:
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-x", max_retries=0)
        try:
            for _ in range(3):
                async for _ in stream_deltas(client, BODY, StreamOutcome()):
                    pass
        finally:
            await client.close()

    asyncio.run(run())
    ports = {r.client[1] for r in server.requests if r.client is not None}
    assert len(server.requests) == 3
    assert len(ports) == 1, ports


def test_a_server_that_ignores_stream_still_gives_its_answer(server: OpenAITestServer) -> None:
    server.set_behavior(Behavior(reply="Whole answer, 一度に。", fault="ignore_stream"))
    deltas, outcome = collect(server)
    assert [(d.kind, d.text) for d in deltas] == [("text", "Whole answer, 一度に。")]
    assert outcome.finish_reason == "stop"
    assert outcome.first_token_at is not None
