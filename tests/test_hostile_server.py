"""A broken or malicious LLM server: a wrong shape degrades a feature, never the answer; nothing huge is held.

The test server's hostile mode (llmchat/testing/hostile.py) serves wrong-typed ``/props``,
``/v1/models``, tokenizer replies, ``usage`` and ``timings``, an event line that never ends, an
answer that never ends and an error page of 30 MB. Each test asks through the app's API what a
visitor would, and checks what they see: the answer, stats that are absent or marked as estimated,
the cut-off notice with the partial answer, and (with tracemalloc) that the app did not hold the
30 MB.
"""

from __future__ import annotations

import asyncio
import re
import time
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from gradio_client import Client

from llmchat.core import server_data
from llmchat.core.budget import PER_MESSAGE_OVERHEAD, estimate_tokens
from llmchat.engine.stream import _sse_data
from llmchat.testing.hostile import as_json
from llmchat.testing.openai_server import Behavior, OpenAITestServer
from tests.replies import answer_of
from tests.replies import notes_of as notes

LONG_MESSAGE = "x" * 3000  # one token for the test server, ~1,000 estimated: more than a 512 window holds
THIRTY_MB = 30_000_000


@pytest.fixture
def visitor(fresh_app_url: str) -> Iterator[Client]:
    """A visitor of an app started for this test: it has learnt nothing about the server yet."""
    client = Client(fresh_app_url, verbose=False)
    yield client
    client.close()


def stats_of(reply: Any) -> str:
    [line] = [title for title in notes(reply) if title.startswith("⏱")]
    return line


# --- /props: the context window ----------------------------------------------------------------


@pytest.mark.parametrize(
    "props",
    [
        as_json([4096]),
        as_json("4096"),
        as_json({"default_generation_settings": "n_ctx=512"}),
        as_json({"default_generation_settings": {"n_ctx": "512"}}),
        as_json({"n_ctx": -512}),
        as_json({"n_ctx": 1}),
        as_json({"n_ctx": 10**30}),
        as_json({"n_ctx": 512.0}),
        "<html>not json</html>",
    ],
)
def test_a_wrong_props_reply_leaves_the_window_unknown_and_the_answer_comes(
    visitor: Client, server: OpenAITestServer, props: str
) -> None:
    server.hostile.props = props
    reply = visitor.predict(LONG_MESSAGE, max_tokens=64, api_name="/chat")
    assert reply == f"Echo: {LONG_MESSAGE}"  # nothing measured against a window that is not one
    assert server.chat_bodies[-1]["messages"][-1]["content"] == LONG_MESSAGE


def test_a_valid_props_window_is_still_used(visitor: Client, server: OpenAITestServer) -> None:
    """The control for the test above: the same message against a real 512-token window."""
    server.hostile.props = as_json(
        {"default_generation_settings": {"n_ctx": 512}, "chat_template": "x" * 1000}
    )
    [(title, _)] = notes(visitor.predict(LONG_MESSAGE, max_tokens=64, api_name="/chat")).items()
    assert title == "⚠️ Message too long for the model"
    assert server.chat_bodies == []


# --- usage and timings: the stats line ----------------------------------------------------------


@pytest.mark.parametrize(
    ("last_chunk", "expected"),
    [
        ({"timings": {"predicted_per_second": "fast", "predicted_n": 2}}, " 2 completion tokens"),
        ({"timings": "fast"}, "~2 completion tokens"),
        ({"timings": [1, 2]}, "~2 completion tokens"),
        ({"timings": {"predicted_per_second": float("inf"), "prompt_n": -3}}, "~2 completion tokens"),
        ({"usage": {"completion_tokens": "2", "prompt_tokens": 5}}, "5 prompt + ~2 completion tokens"),
        ({"usage": {"completion_tokens": True}}, "~2 completion tokens"),
        ({"usage": {"completion_tokens": 10**30}}, "~2 completion tokens"),
        ({"usage": "lots"}, "~2 completion tokens"),
    ],
)
def test_wrong_typed_usage_or_timings_leave_the_answer_and_estimated_stats(
    client: Client, server: OpenAITestServer, last_chunk: dict[str, Any], expected: str
) -> None:
    server.hostile.last_chunk = last_chunk
    reply = client.predict("hi", preset="test-chat", show_stats=True, api_name="/chat")
    assert answer_of(reply) == "Echo: hi"
    stats = stats_of(reply)
    assert expected in stats, stats
    assert not re.search(r"fast|inf|True|nan|-3|10{20}", stats), stats


def test_wrong_typed_usage_in_the_usage_chunk_is_left_out(client: Client, server: OpenAITestServer) -> None:
    """A server that honours ``stream_options`` sends usage in a chunk of its own."""
    server.hostile.last_chunk = {"usage": {"completion_tokens": "two", "prompt_tokens": 7}}
    reply = client.predict("hi", preset="stats", show_stats=True, api_name="/chat")
    assert server.chat_bodies[-1]["stream_options"] == {"include_usage": True}
    assert answer_of(reply) == "Echo: hi"
    assert "7 prompt + ~2 completion tokens" in stats_of(reply)


# --- tokenizer endpoints: counting --------------------------------------------------------------


@pytest.mark.parametrize(
    "tokenize",
    [
        as_json({"tokens": "many"}),
        as_json({"tokens": [1, "a", 3]}),
        as_json([1, 2, 3]),
        as_json({"tokens": list(range(100_000))}),  # far more tokens than the text has bytes
        "null",
    ],
)
def test_wrong_tokenizer_replies_mean_estimated_counts(
    visitor: Client, server: OpenAITestServer, tokenize: str
) -> None:
    server.n_ctx = 2048
    server.hostile.tokenize = tokenize
    reply = visitor.predict("hi", show_stats=True, api_name="/chat")
    assert answer_of(reply) == "Echo: hi"
    sent = server.chat_bodies[-1]["messages"]
    estimated = sum(estimate_tokens(m["content"]) + PER_MESSAGE_OVERHEAD for m in sent)
    assert f"~{estimated} prompt" in stats_of(reply)


# --- /v1/models: the model picker ---------------------------------------------------------------


@pytest.mark.parametrize(
    "models",
    [
        as_json({"object": "list", "data": [{"id": {"name": "big-model"}}, {"id": "big-model"}]}),
        as_json({"object": "list", "data": [{"id": 7}, {"id": "big-model"}]}),
        as_json([{"id": "big-model"}]),
        as_json({"object": "list", "data": "big-model"}),
        as_json({"object": "list", "data": [{"id": "big-model"}] + [{"id": f"m{i}"} for i in range(20_000)]}),
    ],
    ids=["object-id", "number-id", "list", "string-data", "20000-models"],
)
def test_a_wrong_model_list_is_no_list(visitor: Client, server: OpenAITestServer, models: str) -> None:
    server.hostile.models = models
    [(title, _)] = notes(visitor.predict("hi", model="big-model", api_name="/chat")).items()
    assert title == "⚠️ Model not available"
    assert visitor.predict("hi", api_name="/chat") == "Echo: hi"  # the preset's own model still works
    assert [body["model"] for body in server.chat_bodies] == ["test-model"]


# --- endless and huge replies -------------------------------------------------------------------


def peak_memory_during(action: Any) -> tuple[Any, int]:
    """What ``action()`` returns, and the peak of Python memory (app and test server) while it ran."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        result = action()
        return result, tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def test_an_endless_event_line_is_cut_off_and_never_held(client: Client, server: OpenAITestServer) -> None:
    server.set_behavior(Behavior(tokens=5))
    server.hostile.endless_line = THIRTY_MB
    server.hostile.pause = 0.004  # 30 MB in 64 KiB pieces: ~3 s if read to the end
    began = time.monotonic()
    reply, peak = peak_memory_during(lambda: client.predict("go", api_name="/chat"))
    assert answer_of(reply) == "tok0 tok1 tok2 tok3 tok4"
    [(title, body)] = notes(reply).items()
    assert title == "✂️ The answer was cut off"
    assert "an event line over 1,048,576 bytes" in body and "(5 chunks) is kept above" in body
    assert peak < 12_000_000, f"{peak:,} bytes"  # the line's first MB, never its 30
    assert server.hostile.sent < THIRTY_MB // 2  # the app stopped reading long before its end
    assert time.monotonic() - began < 20


def test_an_endless_answer_stops_at_the_answer_limit(client: Client, server: OpenAITestServer) -> None:
    server.set_behavior(Behavior(reply="Start. "))
    server.hostile.endless_answer = 10_000
    server.hostile.pause = 0.002
    job = client.submit("go on forever", api_name="/chat")
    reply = job.result(timeout=30)
    answer = answer_of(reply)
    assert answer.startswith("Start. yyyy") and len(answer) == server_data.MAX_ANSWER_CHARS
    [(title, body)] = notes(reply).items()
    assert title == "✂️ The answer was cut off"
    assert "The answer reached 2,000,000 characters" in body
    [stream] = server.wait_for_streams(1)
    assert stream.ended_at is not None  # the app closed the stream: the server stopped sending


def test_a_thirty_megabyte_error_page_is_read_only_in_part(client: Client, server: OpenAITestServer) -> None:
    server.hostile.error_body = THIRTY_MB
    server.hostile.pause = 0.004
    reply, peak = peak_memory_during(lambda: client.predict("hi", api_name="/chat"))
    [(title, body)] = notes(reply).items()
    assert title == "⚠️ The server failed (HTTP 500)"
    assert '{"error": {"type": "server_error", "message": "' in body and len(body) < 3000
    assert peak < 12_000_000, f"{peak:,} bytes"
    assert server.hostile.sent < THIRTY_MB // 2


def test_a_huge_answer_sent_whole_instead_of_streamed_is_refused(
    client: Client, server: OpenAITestServer
) -> None:
    server.set_behavior(Behavior(reply="z" * (server_data.MAX_BODY_BYTES + 1), fault="ignore_stream"))
    [(title, _)] = notes(client.predict("hi", api_name="/chat")).items()
    assert title == "⚠️ Unexpected reply from the server"
    server.set_behavior(Behavior())
    assert client.predict("and now?", api_name="/chat") == "Echo: and now?"


# --- the event-stream reader itself -------------------------------------------------------------


def read(chunks: list[bytes], limit: int = server_data.MAX_EVENT_BYTES) -> list[str]:
    async def source() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    async def collect() -> list[str]:
        return [data async for data in _sse_data(source(), limit)]

    return asyncio.run(collect())


def test_line_ends_are_found_across_chunk_boundaries() -> None:
    stream = (
        b'data: {"a": 1}\r\ndata: 2\r\n\r\ndata: one\rdata: two\r\r'
        b"data: x\xe2\x80\xa8y\n\n: comment\ndata:last\n\n"
    )
    expected = ['{"a": 1}\n2', "one\ntwo", "x\u2028y", "last"]  # U+2028 is no line end in SSE
    assert read([stream]) == expected
    for cut in range(1, len(stream)):  # every split into two chunks, CRLF split included
        assert read([stream[:cut], stream[cut:]]) == expected, cut
    assert read([bytes([b]) for b in stream]) == expected  # one byte at a time


def test_a_line_or_an_event_over_the_limit_raises_before_it_is_held() -> None:
    assert read([b"data: " + b"x" * 94 + b"\n\n"], limit=100) == ["x" * 94]
    with pytest.raises(server_data.ReplyTooLarge, match="why_line_too_long"):
        read([b"data: " + b"x" * 60, b"x" * 60], limit=100)  # still arriving: never ended
    with pytest.raises(server_data.ReplyTooLarge):
        read([b"data: " + b"x" * 200 + b"\n\n"], limit=100)  # one chunk
    with pytest.raises(server_data.ReplyTooLarge):
        read([b"data: " + b"x" * 60 + b"\n"] * 2 + [b"\n"], limit=100)  # one event of many lines
