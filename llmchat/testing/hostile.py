"""The test server's hostile mode: replies a broken or malicious LLM server may send.

``server.hostile = Hostile(...)`` (reset by ``server.clear()``) makes the test server of
``llmchat.testing.openai_server`` answer with wrong shapes and types, or without end:

- ``props``, ``models``, ``tokenize``: the body of ``GET /props``, ``GET /v1/models`` and both
  tokenizer endpoints, sent as they are (any text: a JSON list where an object belongs, a string
  where a number belongs, not JSON at all);
- ``last_chunk``: fields merged into the stream's last chunk (``usage``, ``timings``...);
- ``endless_line``: after the answer's tokens, one ``data:`` line of this many bytes that never
  ends (its chunk is never closed with a newline), then the connection closes;
- ``endless_answer``: after the answer's tokens, content chunks of this many characters, "forever":
  until ``SAFETY_NET`` bytes, so that an app that does not stop reading fails its test instead of
  filling the machine's memory;
- ``error_body``: chat requests get HTTP 500 with a body of this many bytes.

Endless output is sent in ``piece``-byte writes with ``pause`` seconds between them, and stops as
soon as the client goes away; ``sent`` counts its bytes, so a test can tell that the app stopped
reading long before the end.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import Response, StreamingResponse

TOKENIZE_PATHS = ("/tokenize", "/extras/tokenize")
SAFETY_NET = 20_000_000  # bytes of an "endless" answer: ten times what llmchat reads


@dataclass
class Hostile:
    props: str | None = None
    models: str | None = None
    tokenize: str | None = None
    last_chunk: dict[str, Any] = field(default_factory=dict)
    endless_line: int = 0
    endless_answer: int = 0
    error_body: int = 0
    piece: int = 65_536
    pause: float = 0.0
    sent: int = 0

    @property
    def endless(self) -> bool:
        return bool(self.endless_line or self.endless_answer)

    def reply(self, method: str, path: str) -> Response | None:
        """The hostile body for this route, if one is set; None lets the server answer normally."""
        if method == "GET" and path == "/props" and self.props is not None:
            return Response(self.props, media_type="application/json")
        if method == "GET" and path == "/v1/models" and self.models is not None:
            return Response(self.models, media_type="application/json")
        if method == "POST" and path in TOKENIZE_PATHS and self.tokenize is not None:
            return Response(self.tokenize, media_type="application/json")
        return None

    def error(self, pause: Callable[[float], Awaitable[bool]]) -> Response:
        """HTTP 500 whose body is ``error_body`` bytes of an OpenAI-style error, written slowly."""
        head = b'{"error": {"type": "server_error", "message": "'
        return StreamingResponse(
            self._stream(head, self.error_body, b"x", pause), status_code=500, media_type="application/json"
        )

    def tail(
        self, chunk: Callable[[dict[str, Any]], bytes], pause: Callable[[float], Awaitable[bool]]
    ) -> AsyncIterator[bytes]:
        """What follows the normal tokens when the stream is to be endless."""
        if self.endless_line:
            head = b'data: {"choices": [{"index": 0, "delta": {"content": "'
            return self._stream(head, self.endless_line, b"x", pause)
        return self._endless_answer(chunk, pause)

    async def _stream(
        self, head: bytes, size: int, fill: bytes, pause: Callable[[float], Awaitable[bool]]
    ) -> AsyncIterator[bytes]:
        yield head
        left = size
        while left > 0:
            piece = fill * min(self.piece, left)
            left -= len(piece)
            self.sent += len(piece)
            yield piece
            if not await pause(self.pause):
                return

    async def _endless_answer(
        self, chunk: Callable[[dict[str, Any]], bytes], pause: Callable[[float], Awaitable[bool]]
    ) -> AsyncIterator[bytes]:
        data = chunk({"content": "y" * self.endless_answer})
        while self.sent < SAFETY_NET:
            self.sent += len(data)
            yield data
            if not await pause(self.pause):
                return


def as_json(value: Any) -> str:
    """A value as the JSON text a hostile field serves."""
    return json.dumps(value)
