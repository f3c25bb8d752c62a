"""An OpenAI-compatible fake LLM server that speaks real HTTP on 127.0.0.1, for tests.

Why a real server instead of mocks: the bugs that hurt a chat front end live in the transport
(SSE parsing, half-closed streams, read timeouts, retries, the upstream connection left open
after the user pressed Stop). Only a real socket exercises the real ``openai`` client and the
``httpx2`` stack under it. Every request is recorded, and each reply can be scripted: how many
tokens, how fast, and which failure (see ``llmchat.testing.scripting.Behavior``).

This module is the server: its state, its lifecycle (uvicorn in a daemon thread) and which
answer a request gets. What the answer's bytes are lives in ``answers``, OpenAI's shapes in
``wire``, the hostile mode in ``hostile``.

Run ``python -m llmchat.testing.openai_server --port 8089`` for manual tries and benchmarks.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import logging
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import uvicorn
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from llmchat.testing.answers import (
    DropConnection,
    complete_response,
    fixed_response,
    make_reply,
    stream_body,
)
from llmchat.testing.hostile import Hostile
from llmchat.testing.overflow import overflow_refusal
from llmchat.testing.scripting import Behavior, parse_directive, parse_fault, split_tokens
from llmchat.testing.wire import CHAT_PATH, error_response, text_of

__all__ = ["Behavior", "OpenAITestServer", "RecordedRequest", "StreamRecord"]

# Sleeps are cut into steps this long so a vanished client or a stopping server is noticed fast
# even when a test asks for a long delay.
_STEP = 0.05
_T = TypeVar("_T")


@dataclass
class RecordedRequest:
    """One request as the server received it, so tests can assert on what the app sent."""

    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: dict[str, Any] | None  # parsed JSON object, else None
    client: tuple[str, int] | None = None  # the client's address: same port = same connection


@dataclass
class StreamRecord:
    """Lifecycle of one streamed chat response; proves whether the app closed the stream.

    ``disconnected`` means the client went away before the stream ended on its own. A scripted
    fault (``drop_after``, ``error_event_after``) or a server stop leaves both flags False.
    Times are ``time.monotonic()`` values.
    """

    request_index: int  # index into ``OpenAITestServer.requests``
    tokens_sent: int = 0
    finished: bool = False
    disconnected: bool = False
    started_at: float = field(default_factory=time.monotonic)
    ended_at: float | None = None


class _QuietDrop(logging.Filter):
    """Hide uvicorn's "Exception in ASGI application" log for our deliberate connection drops."""

    def filter(self, record: logging.LogRecord) -> bool:
        # Starlette's task group re-raises a lone exception unwrapped, so no ExceptionGroup here.
        return not (record.exc_info and isinstance(record.exc_info[1], DropConnection))


class OpenAITestServer:
    """Scriptable OpenAI-compatible server; ``with OpenAITestServer() as server: ...``.

    Behaviour per chat request, most specific first: an inline ``[[test ...]]`` directive in the
    last user message (does not consume the queue), then ``enqueue()``-d one-shot behaviours,
    then ``behavior`` (``set_behavior``). All public state is guarded by one Condition because
    the server runs its own event loop in a daemon thread while the test thread reads and waits.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, upstream: str | None = None) -> None:
        self.host = host
        # Proxy mode: record every request, then forward it to this real server (e.g. the
        # llama_cpp.server an end-to-end test runs) and stream its answer back unchanged.
        self.upstream = upstream.rstrip("/") if upstream else None
        self.port = port  # 0 => pick a free port at first start; kept for restarts
        self.behavior = Behavior()
        self.requests: list[RecordedRequest] = []
        self.streams: list[StreamRecord] = []
        self.models: list[str] = ["test-model"]
        self.models_status = 200
        self.require_api_key: str | None = None
        self.strict_models = False
        # llama.cpp-style extras, off unless a test turns them on.
        self.tokenizer: str | None = None  # "llama-cpp-python" (/extras/tokenize) or "llama.cpp" (/tokenize)
        self.n_ctx: int | None = None  # served at /props like llama.cpp's server
        # Context windows as other servers state them: fields added to every /v1/models entry
        # (vLLM's max_model_len...), and JSON replies at other paths (LiteLLM's GET /model/info,
        # Ollama's POST /api/show, LM Studio's GET /api/v0/models), by (method, path).
        self.model_fields: dict[str, Any] = {}
        self.json_routes: dict[tuple[str, str], Any] = {}
        # Refuse chat requests whose prompt + max_tokens exceed this many tokens (the tokenizer's
        # count plus 4 a message), worded as `overflow_style` words it (see overflow.py).
        self.enforce_window: int | None = None
        self.overflow_style = "llama.cpp"
        self.hostile = Hostile()  # wrong shapes and endless replies (llmchat/testing/hostile.py)
        self._queue: deque[Behavior] = deque()
        self._cond = threading.Condition()
        self._stopping = threading.Event()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # ----- lifecycle -------------------------------------------------------------------------
    @property
    def root_url(self) -> str:
        if not self.port:
            raise RuntimeError("server was never started")
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/v1"

    def start(self) -> OpenAITestServer:
        """Start uvicorn in a daemon thread; after a ``stop()`` this rebinds the same port."""
        if self._thread is not None:
            raise RuntimeError("server already running")
        self._stopping.clear()
        config = uvicorn.Config(
            self._app,
            host=self.host,
            port=self.port,
            log_level="warning",
            lifespan="off",
            interface="asgi3",  # a bound method is not auto-detected as ASGI 3
            timeout_graceful_shutdown=2,
        )
        error_logger = logging.getLogger("uvicorn.error")
        if not any(isinstance(f, _QuietDrop) for f in error_logger.filters):
            error_logger.addFilter(_QuietDrop())
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="openai-test-server", daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                raise RuntimeError(f"test server failed to start on {self.host}:{self.port}")
            time.sleep(0.005)
        self.port = server.servers[0].sockets[0].getsockname()[1]
        self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        """Stop the server; open streams are cut (as if the server crashed). Idempotent."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._stopping.set()
        server.should_exit = True
        thread.join(5)
        if thread.is_alive():
            server.force_exit = True
            thread.join(5)
        self._server = self._thread = None

    def __enter__(self) -> OpenAITestServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ----- scripting and inspection -----------------------------------------------------------
    def set_behavior(self, behavior: Behavior) -> None:
        with self._cond:
            self.behavior = behavior

    def enqueue(self, *behaviors: Behavior) -> None:
        """Queue behaviours, each used by exactly one later chat request (FIFO)."""
        with self._cond:
            self._queue.extend(behaviors)

    def clear(self) -> None:
        """Forget recorded requests/streams, drop the queue and reset the default behaviour."""
        with self._cond:
            self.requests.clear()
            self.streams.clear()
            self._queue.clear()
            self.behavior = Behavior()
            self.hostile = Hostile()
            self.model_fields = {}
            self.json_routes = {}
            self.enforce_window = None
            self.overflow_style = "llama.cpp"

    @property
    def chat_bodies(self) -> list[dict[str, Any]]:
        """Parsed JSON bodies of all chat-completion requests, oldest first."""
        with self._cond:
            return [r.body for r in self.requests if r.path == CHAT_PATH and r.body is not None]

    def wait_for_streams(self, n: int, timeout: float = 5.0, *, ended: bool = True) -> list[StreamRecord]:
        """Wait until ``n`` streams have ended (or just started, if ``ended=False``)."""

        def ready() -> list[StreamRecord] | None:
            done = [s for s in self.streams if s.ended_at is not None or not ended]
            return list(self.streams) if len(done) >= n else None

        return self._wait(ready, timeout, f"{n} streams (ended={ended})")

    def wait_for_disconnect(self, timeout: float = 5.0) -> StreamRecord:
        """Wait until some stream was abandoned by its client; return the latest such record."""

        def latest() -> StreamRecord | None:
            return next((s for s in reversed(self.streams) if s.disconnected), None)

        return self._wait(latest, timeout, "a client disconnect")

    def _wait(self, predicate: Callable[[], _T | None], timeout: float, what: str) -> _T:
        with self._cond:
            result = self._cond.wait_for(predicate, timeout)
            if result is None:
                raise TimeoutError(f"timed out after {timeout}s waiting for {what}: {self.streams}")
            return result

    def _update(self, record: StreamRecord, **changes: Any) -> None:
        with self._cond:
            for key, value in changes.items():
                setattr(record, key, value)
            self._cond.notify_all()

    # ----- HTTP ------------------------------------------------------------------------------
    async def _app(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI app: record the request, then answer it."""
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        raw = await request.body()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        body = parsed if isinstance(parsed, dict) else None
        path = request.url.path
        with self._cond:
            self.requests.append(
                RecordedRequest(
                    request.method, path, dict(request.headers.items()), body, scope.get("client")
                )
            )
            index = len(self.requests) - 1
            self._cond.notify_all()
        if self.upstream:
            response = await self._forward(request, raw)
        else:
            response = await self._route(request, path, body, index)
        await response(scope, receive, send)

    async def _forward(self, request: Request, raw: bytes) -> Response:
        """Pass the request to ``upstream`` and stream the answer back; if our client goes away,
        the upstream response is closed too, so the real server sees the disconnect."""
        client = httpx.AsyncClient(timeout=httpx.Timeout(600, connect=10))
        headers = {
            k: v for k, v in request.headers.items() if k in ("content-type", "authorization", "accept")
        }
        upstream = await client.send(
            client.build_request(
                request.method, self.upstream + request.url.path, content=raw, headers=headers
            ),
            stream=True,
        )

        async def body() -> AsyncIterator[bytes]:
            try:
                async for chunk in upstream.aiter_raw():
                    yield chunk
            finally:
                await upstream.aclose()
                await client.aclose()

        media = upstream.headers.get("content-type")
        return StreamingResponse(body(), status_code=upstream.status_code, media_type=media)

    async def _route(self, request: Request, path: str, body: dict[str, Any] | None, index: int) -> Response:
        key = self.require_api_key
        if (
            path.startswith("/v1/")
            and key is not None
            and request.headers.get("authorization") != f"Bearer {key}"
        ):
            return error_response(401, "Incorrect API key provided.")
        hostile = self.hostile.reply(request.method, path)
        if hostile is not None:
            return hostile
        if path == "/v1/models" and request.method == "GET":
            if self.models_status != 200:
                return error_response(self.models_status, "models listing failed (test)")
            data = [
                {"id": m, "object": "model", "created": 0, "owned_by": "test", **self.model_fields}
                for m in self.models
            ]
            return JSONResponse({"object": "list", "data": data})
        if path == CHAT_PATH and request.method == "POST":
            return await self._chat(request, body, index)
        if (request.method, path) in self.json_routes:
            return JSONResponse(self.json_routes[(request.method, path)])
        if path == "/props" and request.method == "GET" and self.n_ctx:
            return JSONResponse({"default_generation_settings": {"n_ctx": self.n_ctx}})
        tokenize_paths = {
            "llama-cpp-python": ("/extras/tokenize", "input"),
            "llama.cpp": ("/tokenize", "content"),
        }
        if self.tokenizer in tokenize_paths and request.method == "POST":
            tokenize_path, field_name = tokenize_paths[self.tokenizer]
            if path == tokenize_path and body is not None:
                return JSONResponse({"tokens": list(range(len(split_tokens(str(body.get(field_name, ""))))))})
        return error_response(404, f"Invalid URL ({request.method} {path})")

    async def _chat(self, request: Request, body: dict[str, Any] | None, index: int) -> Response:
        """Which behaviour answers this chat request, then that answer."""
        if body is None:
            return error_response(400, "Request body must be a JSON object.")
        model = str(body.get("model", ""))
        if self.strict_models and model not in self.models:
            return error_response(404, f"The model `{model}` does not exist", "model_not_found")
        messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
        if self.enforce_window is not None:
            refusal = overflow_refusal(messages, body, self.enforce_window, self.overflow_style)
            if refusal is not None:
                return refusal
        users = [text_of(m.get("content")) for m in messages if m.get("role") == "user"]
        try:
            directive, user_text = parse_directive(users[-1] if users else "")
            with self._cond:  # the queue is only consumed when no directive overrides it
                behavior = directive or (self._queue.popleft() if self._queue else self.behavior)
            fault, fault_n = parse_fault(behavior.fault)
        except ValueError as exc:
            return error_response(400, str(exc))

        pause = functools.partial(self._pause, request)
        fixed = fixed_response(behavior, fault, self.hostile, pause)
        if fixed is not None:
            return fixed
        reply = make_reply(body, messages, behavior, fault, fault_n, user_text)
        if body.get("stream") and fault != "ignore_stream":
            record = StreamRecord(request_index=index)
            with self._cond:
                self.streams.append(record)
                self._cond.notify_all()
            update = functools.partial(self._update, record)
            return StreamingResponse(
                stream_body(reply, pause, update, self.hostile), media_type="text/event-stream"
            )
        return await complete_response(reply, pause)

    async def _pause(self, request: Request, seconds: float) -> bool:
        """Sleep in small steps; False as soon as the client is gone. Raises if stopping."""
        deadline = time.monotonic() + seconds
        while True:
            if self._stopping.is_set():
                raise DropConnection("server stopping")
            if await request.is_disconnected():
                return False
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return True
            await asyncio.sleep(min(_STEP, remaining))


def main(argv: list[str] | None = None) -> None:
    """Run the server in the foreground until Ctrl-C (manual tries, benchmarks, ``deploy/``)."""
    parser = argparse.ArgumentParser(
        prog="python -m llmchat.testing.openai_server", description="OpenAI-compatible test server"
    )
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--tokens", type=int, help="default reply length (default: echo the prompt)")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds between tokens")
    args = parser.parse_args(argv)
    with OpenAITestServer(port=args.port) as server:
        server.set_behavior(Behavior(tokens=args.tokens, delay=args.delay))
        print(server.base_url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
