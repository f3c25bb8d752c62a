"""Proves the fake OpenAI server behaves like a real one, using the real ``openai`` client.

The comments on the fault tests record what openai 3.57 (over httpx2) actually does, because the
app's error handling has to be written against that observed behaviour.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from llmchat.testing.openai_server import Behavior, OpenAITestServer
from llmchat.testing.scripting import parse_directive, split_tokens

USER = [{"role": "user", "content": "hello there"}]


# Local fixtures on purpose (they shadow conftest's): this file tests the server alone.
@pytest.fixture(scope="module")
def _shared_server() -> Iterator[OpenAITestServer]:
    with OpenAITestServer() as server:
        yield server


@pytest.fixture
def server(_shared_server: OpenAITestServer) -> OpenAITestServer:
    _shared_server.clear()
    _shared_server.models = ["test-model"]
    _shared_server.models_status = 200
    _shared_server.require_api_key = None
    _shared_server.strict_models = False
    return _shared_server


@pytest.fixture
def client(server: OpenAITestServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0, timeout=5) as c:
        yield c


def collect(client: openai.OpenAI, **kwargs: Any) -> list[Any]:
    kwargs.setdefault("model", "test-model")
    kwargs.setdefault("messages", USER)
    return list(client.chat.completions.create(stream=True, **kwargs))


def text_of(chunks: list[Any]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def content_chunks(chunks: list[Any]) -> list[Any]:
    return [c for c in chunks if c.choices and c.choices[0].delta.content]


# ----- happy paths -------------------------------------------------------------------------------
def test_default_echo_streaming(server: OpenAITestServer, client: openai.OpenAI) -> None:
    chunks = collect(client, model="my-model")
    assert text_of(chunks) == "Echo: hello there"
    first, last = chunks[0], chunks[-1]
    assert first.choices[0].delta.role == "assistant"
    assert {c.id for c in chunks} == {first.id} and first.id.startswith("chatcmpl-")
    assert {c.object for c in chunks} == {"chat.completion.chunk"}
    assert {c.model for c in chunks} == {"my-model"}
    assert last.choices[0].finish_reason == "stop"
    assert all(c.choices[0].finish_reason is None for c in chunks[:-1])
    [record] = server.wait_for_streams(1)
    assert record.finished and not record.disconnected and record.request_index == 0


def test_list_content_parts_are_echoed(client: openai.OpenAI) -> None:
    parts = [{"type": "text", "text": "a"}, {"type": "image_url", "image_url": {"url": "x"}}]
    messages = [{"role": "user", "content": "old"}, {"role": "assistant", "content": "hi"}]
    chunks = collect(client, messages=[*messages, {"role": "user", "content": parts}])
    assert text_of(chunks) == "Echo: a"


def test_tokens_gives_n_chunks(server: OpenAITestServer, client: openai.OpenAI) -> None:
    server.set_behavior(Behavior(tokens=7))
    chunks = collect(client)
    assert len(content_chunks(chunks)) == 7
    assert text_of(chunks) == " ".join(f"tok{i}" for i in range(7))
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert server.wait_for_streams(1)[0].tokens_sent == 7


@pytest.mark.parametrize("param", ["max_tokens", "max_completion_tokens"])
def test_max_tokens_truncates_with_length(
    server: OpenAITestServer, client: openai.OpenAI, param: str
) -> None:
    server.set_behavior(Behavior(tokens=10))
    chunks = collect(client, **{param: 3})
    assert text_of(chunks) == "tok0 tok1 tok2 "
    assert chunks[-1].choices[0].finish_reason == "length"


def test_include_usage_chunk(server: OpenAITestServer, client: openai.OpenAI) -> None:
    server.set_behavior(Behavior(tokens=4))
    chunks = collect(client, stream_options={"include_usage": True})
    usage_chunk = chunks[-1]
    assert usage_chunk.choices == []
    assert usage_chunk.usage.completion_tokens == 4
    assert usage_chunk.usage.prompt_tokens == 2  # "hello there"
    assert usage_chunk.usage.total_tokens == 6
    assert chunks[-2].choices[0].finish_reason == "stop"


@pytest.mark.parametrize(
    "reply",
    [
        "こんにちは、世界！今日はいい天気ですね。",
        "Hello 世界 🎉🎉🎉 family: 👨‍👩‍👧 done.\n\n  - item\ttab ",
        "  leading spaces and trailing newline\n",
        "",
    ],
)
def test_reply_is_reassembled_exactly(server: OpenAITestServer, client: openai.OpenAI, reply: str) -> None:
    server.set_behavior(Behavior(reply=reply))
    chunks = collect(client)
    assert text_of(chunks) == reply
    assert len(content_chunks(chunks)) == len(split_tokens(reply))


def test_split_tokens() -> None:
    assert split_tokens("Hello big world") == ["Hello ", "big ", "world"]
    assert split_tokens("こんにちは") == list("こんにちは")
    assert split_tokens("日本 ok") == ["日本 ", "ok"]  # short non-ASCII pieces stay whole


def test_non_streaming_completion(server: OpenAITestServer, client: openai.OpenAI) -> None:
    server.set_behavior(Behavior(tokens=5))
    result = client.chat.completions.create(model="m", messages=USER, max_tokens=2)
    assert result.object == "chat.completion"
    assert result.choices[0].message.content == "tok0 tok1 "
    assert result.choices[0].finish_reason == "length"
    assert result.usage is not None and result.usage.completion_tokens == 2
    assert server.streams == []  # only streamed requests get a StreamRecord


def test_no_finish_sends_done_without_finish_reason(server: OpenAITestServer, client: openai.OpenAI) -> None:
    server.set_behavior(Behavior(tokens=3, fault="no_finish"))
    chunks = collect(client)  # ends normally ([DONE]); the app must cope with finish_reason None
    assert text_of(chunks) == "tok0 tok1 tok2"
    assert all(c.choices[0].finish_reason is None for c in chunks)


# ----- behaviour selection -----------------------------------------------------------------------
def test_directive_beats_queue_beats_default(server: OpenAITestServer, client: openai.OpenAI) -> None:
    server.set_behavior(Behavior(reply="default"))
    server.enqueue(Behavior(reply="queued"))
    directive = [{"role": "user", "content": 'hi [[test reply="from directive" tokens=3]]'}]
    assert text_of(collect(client, messages=directive)) == "from directive"
    assert text_of(collect(client)) == "queued"  # the directive did not consume the queue
    assert text_of(collect(client)) == "default"
    assert text_of(collect(client)) == "default"


def test_directive_is_stripped_from_echo_and_parsed() -> None:
    behavior, rest = parse_directive("[[test tokens=20 delay=0.05 fault=drop_after:5]] hi")
    assert behavior == Behavior(tokens=20, delay=0.05, fault="drop_after:5")
    assert rest == "hi"
    assert parse_directive("no directive") == (None, "no directive")
    with pytest.raises(ValueError):
        parse_directive("[[test colour=red]]")


def test_bad_directive_or_fault_is_a_400(client: openai.OpenAI) -> None:
    for content in ["[[test colour=red]]", "[[test fault=explode]]"]:
        with pytest.raises(openai.BadRequestError):
            collect(client, messages=[{"role": "user", "content": content}])


def test_concurrent_clients_pick_their_own_behaviour(server: OpenAITestServer) -> None:
    async def scenario() -> None:
        async with openai.AsyncOpenAI(base_url=server.base_url, api_key="k", max_retries=0) as aclient:

            async def run(n: int) -> str:
                content = f"[[test tokens={n} delay=0.01]]"
                stream = await aclient.chat.completions.create(
                    model="m", messages=[{"role": "user", "content": content}], stream=True
                )
                return "".join([c.choices[0].delta.content or "" async for c in stream])

            results = await asyncio.gather(*(run(n) for n in (3, 6, 9)))
        assert [len(r.split()) for r in results] == [3, 6, 9]
        assert all(s.finished for s in server.wait_for_streams(3))

    asyncio.run(scenario())


# ----- faults ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "exc_type"),
    [
        (400, openai.BadRequestError),
        (401, openai.AuthenticationError),
        (403, openai.PermissionDeniedError),
        (404, openai.NotFoundError),
        (429, openai.RateLimitError),
        (500, openai.InternalServerError),
        (503, openai.InternalServerError),
    ],
)
def test_http_fault_raises_matching_exception(
    server: OpenAITestServer, client: openai.OpenAI, status: int, exc_type: type[Exception]
) -> None:
    server.set_behavior(Behavior(fault="http", status=status, message=f"boom {status}"))
    with pytest.raises(exc_type, match=f"boom {status}") as info:
        collect(client)
    assert isinstance(info.value, openai.APIStatusError)
    assert info.value.status_code == status
    assert info.value.message.endswith(f"boom {status}")


def test_rate_limit_retry_after_is_honoured(server: OpenAITestServer) -> None:
    server.enqueue(Behavior(fault="http", status=429, retry_after=0.2))
    with openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=1) as retrying:
        started = time.monotonic()
        assert text_of(collect(retrying)) == "Echo: hello there"
    assert time.monotonic() - started >= 0.2  # the client slept for Retry-After, then retried
    assert len(server.chat_bodies) == 2


def test_retry_after_header_is_sent(server: OpenAITestServer, client: openai.OpenAI) -> None:
    server.set_behavior(Behavior(fault="http", status=429, retry_after=3))
    with pytest.raises(openai.RateLimitError) as info:
        collect(client)
    assert info.value.response.headers["retry-after"] == "3"
    assert info.value.code == "rate_limit_exceeded"


def test_drop_after_cuts_the_connection(server: OpenAITestServer, client: openai.OpenAI) -> None:
    server.set_behavior(Behavior(tokens=10, fault="drop_after:3"))
    received: list[str] = []
    # Observed: the N tokens arrive, then iteration raises openai.APIConnectionError whose
    # __cause__ is httpx2.RemoteProtocolError("peer closed connection without sending complete
    # message body (incomplete chunked read)"). No finish_reason chunk, no [DONE].
    with pytest.raises(openai.APIConnectionError) as info:
        for chunk in client.chat.completions.create(model="m", messages=USER, stream=True):
            received.append(chunk.choices[0].delta.content or "")
            assert chunk.choices[0].finish_reason is None
    assert "incomplete chunked read" in str(info.value.__cause__)
    assert "".join(received) == "tok0 tok1 tok2 "
    [record] = server.wait_for_streams(1)
    assert (record.tokens_sent, record.finished, record.disconnected) == (3, False, False)
    # Non-streaming: half a JSON body, then the cut; same exception, raised by create().
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model="m", messages=USER)


def test_drop_after_with_async_client(server: OpenAITestServer) -> None:
    async def scenario() -> None:
        server.set_behavior(Behavior(tokens=10, fault="drop_after:2"))
        async with openai.AsyncOpenAI(base_url=server.base_url, api_key="k", max_retries=0) as aclient:
            stream = await aclient.chat.completions.create(model="m", messages=USER, stream=True)
            received: list[str] = []
            with pytest.raises(openai.APIConnectionError):  # same as sync
                async for chunk in stream:
                    received.append(chunk.choices[0].delta.content or "")
        assert "".join(received) == "tok0 tok1 "

    asyncio.run(scenario())


def test_error_event_after_raises_api_error(server: OpenAITestServer, client: openai.OpenAI) -> None:
    server.set_behavior(Behavior(tokens=10, fault="error_event_after:2", message="model crashed"))
    received: list[str] = []
    # Observed: a plain openai.APIError (not an APIStatusError: the HTTP status was 200).
    with pytest.raises(openai.APIError, match="model crashed") as info:
        for chunk in client.chat.completions.create(model="m", messages=USER, stream=True):
            received.append(chunk.choices[0].delta.content or "")
    assert not isinstance(info.value, openai.APIStatusError)
    assert info.value.body == {"message": "model crashed", "type": "server_error"}
    assert "".join(received) == "tok0 tok1 "
    # Non-streaming equivalent: a 500 with that message.
    with pytest.raises(openai.InternalServerError, match="model crashed"):
        client.chat.completions.create(model="m", messages=USER)


def test_not_json(server: OpenAITestServer, client: openai.OpenAI) -> None:
    server.set_behavior(Behavior(fault="not_json"))
    # Observed, streaming: NO error at all -- the HTML has no "data:" lines, so the stream is
    # simply empty. The app must treat "stream ended with no chunks" as a failure itself.
    assert collect(client) == []
    # Observed, non-streaming: create() returns the raw body as a str, not a ChatCompletion.
    assert client.chat.completions.create(model="m", messages=USER) == "<html>oops</html>"


def test_not_sse(server: OpenAITestServer, client: openai.OpenAI) -> None:
    server.set_behavior(Behavior(fault="not_sse"))
    # Observed: a bare json.JSONDecodeError (a ValueError, NOT an openai.OpenAIError) escapes
    # from the iteration, so `except openai.OpenAIError` alone does not catch it.
    with pytest.raises(ValueError) as info:
        collect(client)
    assert not isinstance(info.value, openai.OpenAIError)
    # Observed, non-streaming: create() returns the raw text (content type is not JSON).
    assert isinstance(client.chat.completions.create(model="m", messages=USER), str)


def test_hang_with_client_timeout(server: OpenAITestServer, client: openai.OpenAI) -> None:
    server.set_behavior(Behavior(fault="hang"))
    started = time.monotonic()
    # Observed: create() returns (headers arrived), then iterating raises APITimeoutError
    # (cause httpx2.ReadTimeout) once the read timeout elapses.
    with pytest.raises(openai.APITimeoutError):
        collect(client, timeout=0.3)
    assert 0.3 <= time.monotonic() - started < 2
    assert server.wait_for_disconnect(1).tokens_sent == 0  # the client hung up, server noticed
    with pytest.raises(openai.APITimeoutError):  # non-streaming: raised by create() itself
        client.chat.completions.create(model="m", messages=USER, timeout=0.3)


def test_first_token_delay(server: OpenAITestServer, client: openai.OpenAI) -> None:
    server.set_behavior(Behavior(tokens=2, first_token_delay=0.3))
    started = time.monotonic()
    stream = client.chat.completions.create(model="m", messages=USER, stream=True)
    role_chunk = next(iter(stream))  # the role chunk is sent right after the headers
    assert role_chunk.choices[0].delta.role == "assistant"
    assert time.monotonic() - started < 0.25
    assert text_of(list(stream)) == "tok0 tok1"
    assert time.monotonic() - started >= 0.3


# ----- cancellation ------------------------------------------------------------------------------
def test_closing_the_stream_is_seen_as_disconnect(server: OpenAITestServer, client: openai.OpenAI) -> None:
    server.set_behavior(Behavior(tokens=50, delay=0.5))
    stream = client.chat.completions.create(model="m", messages=USER, stream=True)
    for i, _chunk in enumerate(stream):
        if i == 1:
            break
    closed_at = time.monotonic()
    stream.close()
    record = server.wait_for_disconnect(timeout=1)
    assert record.disconnected and not record.finished
    assert record.ended_at is not None and record.ended_at - closed_at < 0.3
    assert record.tokens_sent <= 2


def test_async_stream_close_is_seen_as_disconnect(server: OpenAITestServer) -> None:
    async def scenario() -> None:
        server.set_behavior(Behavior(tokens=50, delay=0.5))
        async with openai.AsyncOpenAI(base_url=server.base_url, api_key="k", max_retries=0) as aclient:
            stream = await aclient.chat.completions.create(model="m", messages=USER, stream=True)
            await anext(aiter(stream))
            await stream.close()
            record = await asyncio.to_thread(server.wait_for_disconnect, 1)
        assert record.disconnected and record.tokens_sent <= 1

    asyncio.run(scenario())


# ----- recording, auth, models, lifecycle --------------------------------------------------------
def test_requests_are_recorded(server: OpenAITestServer, client: openai.OpenAI) -> None:
    collect(client, temperature=0.5, extra_headers={"X-Trace": "abc"})
    client.models.list()
    with pytest.raises(openai.NotFoundError):
        client.get("/nope", cast_to=object)
    chat, models, nope = server.requests
    assert (chat.method, chat.path) == ("POST", "/v1/chat/completions")
    assert chat.headers["authorization"] == "Bearer sk-test"
    assert chat.headers["x-trace"] == "abc"
    assert chat.body is not None and chat.body["temperature"] == 0.5
    assert server.chat_bodies == [chat.body]
    assert server.chat_bodies[0]["messages"] == USER
    assert (models.method, models.path, models.body) == ("GET", "/v1/models", None)
    assert nope.path == "/v1/nope"
    server.clear()
    assert server.requests == [] and server.chat_bodies == [] and server.streams == []


def test_models_endpoint(server: OpenAITestServer, client: openai.OpenAI) -> None:
    server.models = ["a", "b"]
    assert [m.id for m in client.models.list()] == ["a", "b"]
    server.models_status = 503
    with pytest.raises(openai.InternalServerError):
        client.models.list()


def test_require_api_key(server: OpenAITestServer, client: openai.OpenAI) -> None:
    server.require_api_key = "right"
    with pytest.raises(openai.AuthenticationError) as info:
        collect(client)
    assert info.value.code == "invalid_api_key"
    with pytest.raises(openai.AuthenticationError):
        client.models.list()
    good = client.with_options(api_key="right")
    assert text_of(collect(good)) == "Echo: hello there"


def test_strict_models(server: OpenAITestServer, client: openai.OpenAI) -> None:
    server.strict_models = True
    with pytest.raises(openai.NotFoundError, match="The model `nope` does not exist") as info:
        collect(client, model="nope")
    assert info.value.code == "model_not_found"
    assert text_of(collect(client, model="test-model")) == "Echo: hello there"


def test_restart_on_same_port() -> None:
    with OpenAITestServer() as server:
        base_url = server.base_url
        assert base_url == f"{server.root_url}/v1" and base_url.startswith("http://127.0.0.1:")
        with openai.OpenAI(base_url=base_url, api_key="k", max_retries=0, timeout=2) as client:
            assert text_of(collect(client)) == "Echo: hello there"
            server.stop()
            with pytest.raises(openai.APIConnectionError):  # server down
                collect(client)
            server.start()
            assert server.base_url == base_url
            assert text_of(collect(client)) == "Echo: hello there"
        assert len(server.chat_bodies) == 2  # records survive a restart
