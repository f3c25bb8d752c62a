"""An OpenAI-compatible fake LLM server that speaks real HTTP on 127.0.0.1, for tests.

Why a real server instead of mocks: the bugs that hurt a chat front end live in the transport
(SSE parsing, half-closed streams, read timeouts, retries, the upstream connection left open
after the user pressed Stop). Only a real socket exercises the real ``openai`` client and the
``httpx2`` stack under it. Every request is recorded, and each reply can be scripted: how many
tokens, how fast, and which failure (see ``Behavior``).

Run ``python -m llmchat.testing.openai_server --port 8089`` for manual tries and benchmarks.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import re
import shlex
import threading
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import uvicorn
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from llmchat.testing.hostile import Hostile

__all__ = [
    "Behavior",
    "OpenAITestServer",
    "RecordedRequest",
    "StreamRecord",
    "parse_directive",
    "split_tokens",
]

CHAT_PATH = "/v1/chat/completions"
FAULTS = (
    "http",
    "drop_after",
    "error_event_after",
    "not_json",
    "not_sse",
    "hang",
    "no_finish",
    "ignore_stream",
)
# Sleeps are cut into steps this long so a vanished client or a stopping server is noticed fast
# even when a test asks for a long delay.
_STEP = 0.05
_DIRECTIVE = re.compile(r"\[\[test\b(.*?)\]\]", re.DOTALL)
_T = TypeVar("_T")


@dataclass
class Behavior:
    """How the server answers one chat request. ``fault`` is one of:

    ``http`` (``status`` + OpenAI error JSON), ``drop_after:N`` (N tokens, then the socket is cut),
    ``error_event_after:N`` (N tokens, then an SSE error event), ``not_json`` (200 text/html),
    ``not_sse`` (200 event-stream of garbage), ``hang`` (headers, then silence), ``no_finish``
    (all tokens and [DONE] but never a finish_reason, as llama-cpp-python does when interrupted),
    ``ignore_stream`` (a whole ``chat.completion`` JSON even when asked to stream, as some
    proxies do).
    """

    reply: str | None = None  # full answer; None => "Echo: <last user message>"
    tokens: int | None = None  # if set (and reply None): "tok0 tok1 ... tok{n-1}"
    delay: float = 0.0  # seconds between tokens
    first_token_delay: float = 0.0  # seconds before the first content chunk (headers already sent)
    fault: str | None = None  # see above; unknown names give the client a 400
    status: int | None = None  # for fault "http"
    message: str = "test error"  # used in error bodies / error events
    retry_after: float | None = None  # Retry-After header for fault "http"
    reasoning: str | None = None  # sent first as `reasoning_content` deltas (reasoning models)
    raw_stream: str | None = None  # if set: sent as the whole 200 event-stream body, byte for byte


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


def split_tokens(text: str) -> list[str]:
    """Split a reply into stream tokens whose concatenation is exactly ``text``.

    A token is a word plus its following whitespace; long pieces of non-ASCII text (Japanese has
    no spaces) become single characters so such replies also stream in many small chunks.
    """
    tokens: list[str] = []
    for piece in re.findall(r"\S+\s*|\s+", text):
        if len(piece) > 4 and not piece.isascii():
            tokens.extend(piece)
        else:
            tokens.append(piece)
    return tokens


_NUMBERS: dict[str, Callable[[str], Any]] = {"tokens": int, "status": int} | dict.fromkeys(
    ("delay", "first_token_delay", "retry_after"), float
)


def parse_directive(text: str) -> tuple[Behavior | None, str]:
    """Find ``[[test key=value ...]]`` in ``text``; return (its Behavior or None, text without it).

    Inline directives let concurrent clients each pick a behaviour without sharing server state.
    Values may be shell-quoted (``reply="two words"``). Raises ValueError on unknown keys.
    """
    match = _DIRECTIVE.search(text)
    if match is None:
        return None, text
    try:
        parts = shlex.split(match.group(1))
    except ValueError:
        parts = match.group(1).split()
    values: dict[str, Any] = {}
    for part in parts:
        key, sep, value = part.partition("=")
        if not sep or key not in Behavior.__dataclass_fields__:
            raise ValueError(f"bad [[test]] item {part!r}; keys: {', '.join(Behavior.__dataclass_fields__)}")
        values[key] = _NUMBERS.get(key, str)(value)
    return Behavior(**values), (text[: match.start()] + text[match.end() :]).strip()


def _parse_fault(fault: str | None) -> tuple[str | None, int]:
    """Split ``"drop_after:5"`` into ``("drop_after", 5)``; reject typos loudly."""
    if fault is None:
        return None, 0
    name, _, arg = fault.partition(":")
    if name not in FAULTS or (name in ("drop_after", "error_event_after")) != bool(arg):
        raise ValueError(f"unknown fault {fault!r}; expected one of {FAULTS} (N for *_after:N)")
    return name, int(arg) if arg else 0


def _text_of(content: Any) -> str:
    """Text of a message ``content``: a string, or a list of ``{"type": "text"}`` parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text"
        )
    return ""


def error_body(status: int, message: str, code: str | None = None) -> dict[str, Any]:
    """An OpenAI-style error body; the ``type`` mimics what api.openai.com sends per status."""
    kind, default_code = {
        401: ("invalid_request_error", "invalid_api_key"),
        429: ("requests", "rate_limit_exceeded"),
    }.get(status, ("server_error" if status >= 500 else "invalid_request_error", None))
    code = code or default_code
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def _error(status: int, message: str, code: str | None = None, retry_after: float | None = None) -> Response:
    headers = {"retry-after": f"{retry_after:g}"} if retry_after is not None else None
    return JSONResponse(error_body(status, message, code), status_code=status, headers=headers)


def _sse(obj: Any) -> bytes:
    return f"data: {json.dumps(obj, ensure_ascii=False)}\n\n".encode()


class _DropConnection(Exception):
    """Raised inside a started response: uvicorn then closes the socket, like a crashed server."""


class _QuietDrop(logging.Filter):
    """Hide uvicorn's "Exception in ASGI application" log for our deliberate connection drops."""

    def filter(self, record: logging.LogRecord) -> bool:
        # Starlette's task group re-raises a lone exception unwrapped, so no ExceptionGroup here.
        return not (record.exc_info and isinstance(record.exc_info[1], _DropConnection))


@dataclass
class _Reply:
    """Everything one chat response needs, computed before the first byte goes out."""

    head: dict[str, Any]  # id, created, model, system_fingerprint: the same in every chunk
    tokens: list[str]
    finish_reason: str
    behavior: Behavior
    fault: str | None
    fault_n: int
    include_usage: bool
    prompt_tokens: int

    def chunk(self, delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        usage = {"usage": None} if self.include_usage else {}  # OpenAI's shape with include_usage
        return _sse({**self.head, "object": "chat.completion.chunk", "choices": [choice], **usage, **extra})

    def usage(self, sent: int) -> dict[str, int]:
        total = self.prompt_tokens + sent
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": sent, "total_tokens": total}


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
            return _error(401, "Incorrect API key provided.")
        hostile = self.hostile.reply(request.method, path)
        if hostile is not None:
            return hostile
        if path == "/v1/models" and request.method == "GET":
            if self.models_status != 200:
                return _error(self.models_status, "models listing failed (test)")
            data = [{"id": m, "object": "model", "created": 0, "owned_by": "test"} for m in self.models]
            return JSONResponse({"object": "list", "data": data})
        if path == CHAT_PATH and request.method == "POST":
            return await self._chat(request, body, index)
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
        return _error(404, f"Invalid URL ({request.method} {path})")

    async def _chat(self, request: Request, body: dict[str, Any] | None, index: int) -> Response:
        if body is None:
            return _error(400, "Request body must be a JSON object.")
        model = str(body.get("model", ""))
        if self.strict_models and model not in self.models:
            return _error(404, f"The model `{model}` does not exist", "model_not_found")
        messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
        users = [_text_of(m.get("content")) for m in messages if m.get("role") == "user"]
        try:
            directive, user_text = parse_directive(users[-1] if users else "")
            with self._cond:  # the queue is only consumed when no directive overrides it
                behavior = directive or (self._queue.popleft() if self._queue else self.behavior)
            fault, fault_n = _parse_fault(behavior.fault)
        except ValueError as exc:
            return _error(400, str(exc))

        if fault == "http":
            return _error(behavior.status or 500, behavior.message, retry_after=behavior.retry_after)
        if self.hostile.error_body:
            return self.hostile.error(lambda seconds: self._pause(request, seconds))
        if fault == "not_json":
            return Response("<html>oops</html>", media_type="text/html")
        if behavior.raw_stream is not None:
            return Response(behavior.raw_stream, media_type="text/event-stream")
        if fault == "not_sse":
            garbage = "this is not SSE\n\ndata: {not json at all\n\n"
            return Response(garbage, media_type="text/event-stream")

        if behavior.reply is not None:
            text = behavior.reply
        elif behavior.tokens is not None:
            text = " ".join(f"tok{i}" for i in range(behavior.tokens))
        else:
            text = f"Echo: {user_text}"
        tokens = split_tokens(text)
        limit = body.get("max_completion_tokens", body.get("max_tokens"))
        finish = "stop"
        if isinstance(limit, int) and limit < len(tokens):
            tokens, finish = tokens[: max(limit, 0)], "length"
        stream_options = body.get("stream_options") or {}
        head = {"id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "created": int(time.time()), "model": model}
        reply = _Reply(
            head={**head, "system_fingerprint": "fp_test"},
            tokens=tokens,
            finish_reason=finish,
            behavior=behavior,
            fault=fault,
            fault_n=fault_n,
            include_usage=bool(stream_options.get("include_usage")),
            prompt_tokens=sum(len(_text_of(m.get("content")).split()) for m in messages),
        )
        if body.get("stream") and fault != "ignore_stream":
            record = StreamRecord(request_index=index)
            with self._cond:
                self.streams.append(record)
                self._cond.notify_all()
            return StreamingResponse(self._stream(request, reply, record), media_type="text/event-stream")
        return await self._complete(request, reply)

    async def _pause(self, request: Request, seconds: float) -> bool:
        """Sleep in small steps; False as soon as the client is gone. Raises if stopping."""
        deadline = time.monotonic() + seconds
        while True:
            if self._stopping.is_set():
                raise _DropConnection("server stopping")
            if await request.is_disconnected():
                return False
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return True
            await asyncio.sleep(min(_STEP, remaining))

    async def _stream(self, request: Request, r: _Reply, record: StreamRecord) -> AsyncIterator[bytes]:
        """SSE body. Client disconnects surface here two ways: ``_pause`` polling returns False,
        or Starlette cancels this generator (CancelledError) / it gets closed (GeneratorExit)."""
        gone = False
        try:
            if r.fault == "hang":
                while await self._pause(request, 3600):
                    pass
                gone = True
                return
            yield r.chunk({"role": "assistant", "content": "", "refusal": None})
            for piece in split_tokens(r.behavior.reasoning or ""):
                if not await self._pause(request, r.behavior.delay):
                    gone = True
                    return
                yield r.chunk({"content": None, "reasoning_content": piece})
            for i, token in enumerate(r.tokens):
                if r.fault in ("drop_after", "error_event_after") and i == r.fault_n:
                    break
                wait = r.behavior.first_token_delay if i == 0 else r.behavior.delay
                if not await self._pause(request, wait):
                    gone = True
                    return
                yield r.chunk({"content": token})
                self._update(record, tokens_sent=record.tokens_sent + 1)
            if r.fault == "drop_after":
                raise _DropConnection("drop_after fault")
            if r.fault == "error_event_after":
                yield _sse({"error": {"message": r.behavior.message, "type": "server_error"}})
                return
            if self.hostile.endless:
                async for piece in self.hostile.tail(r.chunk, lambda seconds: self._pause(request, seconds)):
                    yield piece
                return
            last = self.hostile.last_chunk  # hostile fields go into the stream's last chunk
            if r.fault != "no_finish":
                yield r.chunk({}, r.finish_reason, **({} if r.include_usage else last))
            if r.include_usage:
                yield r.chunk({}, **{"choices": [], "usage": r.usage(record.tokens_sent), **last})
            yield b"data: [DONE]\n\n"
            self._update(record, finished=True)
        except (asyncio.CancelledError, GeneratorExit):
            gone = True
            raise
        finally:
            self._update(record, disconnected=gone, ended_at=time.monotonic())

    async def _complete(self, request: Request, r: _Reply) -> Response:
        """Non-streaming answer; faults map to their closest non-streaming equivalent."""
        if r.fault == "error_event_after":
            return _error(500, r.behavior.message)
        tokens = r.tokens[: r.fault_n] if r.fault == "drop_after" else r.tokens
        if r.fault != "hang":
            await self._pause(
                request, r.behavior.first_token_delay + r.behavior.delay * max(len(tokens) - 1, 0)
            )
        message = {"role": "assistant", "content": "".join(tokens), "refusal": None}
        finish = None if r.fault == "no_finish" else r.finish_reason
        choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}
        payload = {**r.head, "object": "chat.completion", "choices": [choice], "usage": r.usage(len(tokens))}
        if r.fault not in ("hang", "drop_after"):
            return JSONResponse(payload)
        data = json.dumps(payload).encode()

        async def broken() -> AsyncIterator[bytes]:
            """hang: headers, then nothing until the client leaves; drop_after: half the JSON, then a cut."""
            while r.fault == "hang" and await self._pause(request, 3600):
                pass
            if r.fault == "drop_after":
                yield data[: len(data) // 2]
                raise _DropConnection("drop_after fault")

        return StreamingResponse(broken(), media_type="application/json")


def main(argv: list[str] | None = None) -> None:
    """Run the server in the foreground until Ctrl-C (manual tries, benchmarks)."""
    parser = argparse.ArgumentParser(description="OpenAI-compatible test server")
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
