"""One chat answer as the test server sends it: streamed or whole, with its scripted fault.

The server decides *which* behaviour applies to a request; this module turns that behaviour into
bytes on the wire. Every wait goes through ``pause`` (the server's: sleeps in small steps, returns
False as soon as the client has gone, raises ``DropConnection`` when the server stops), so a
vanished client is noticed within one step even in the middle of a long scripted delay.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.responses import JSONResponse, Response, StreamingResponse

from llmchat.testing.hostile import Hostile
from llmchat.testing.scripting import Behavior, reply_text, split_tokens
from llmchat.testing.wire import Reply, error_response, sse, text_of

__all__ = ["DropConnection", "Pause", "complete_response", "fixed_response", "make_reply", "stream_body"]

Pause = Callable[[float], Awaitable[bool]]  # False: the client is gone


class DropConnection(Exception):
    """Raised inside a started response: uvicorn then closes the socket, like a crashed server."""


def fixed_response(behavior: Behavior, fault: str | None, hostile: Hostile, pause: Pause) -> Response | None:
    """The answers that do not depend on what was asked (errors, garbage); None for a real one."""
    if fault == "http":
        return error_response(behavior.status or 500, behavior.message, retry_after=behavior.retry_after)
    if hostile.error_body:
        return hostile.error(pause)
    if fault == "not_json":
        return Response("<html>oops</html>", media_type="text/html")
    if behavior.raw_stream is not None:
        return Response(behavior.raw_stream, media_type="text/event-stream")
    if fault == "not_sse":
        garbage = "this is not SSE\n\ndata: {not json at all\n\n"
        return Response(garbage, media_type="text/event-stream")
    return None


def make_reply(
    body: dict[str, Any],
    messages: list[dict[str, Any]],
    behavior: Behavior,
    fault: str | None,
    fault_n: int,
    user_text: str,
) -> Reply:
    """The answer's tokens (cut at ``max_tokens``), finish reason and chunk header for ``body``."""
    tokens = split_tokens(reply_text(behavior, user_text))
    limit = body.get("max_completion_tokens", body.get("max_tokens"))
    finish = "stop"
    if isinstance(limit, int) and limit < len(tokens):
        tokens, finish = tokens[: max(limit, 0)], "length"
    stream_options = body.get("stream_options") or {}
    head = {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "created": int(time.time()),
        "model": str(body.get("model", "")),
        "system_fingerprint": "fp_test",
    }
    return Reply(
        head=head,
        tokens=tokens,
        finish_reason=finish,
        behavior=behavior,
        fault=fault,
        fault_n=fault_n,
        include_usage=bool(stream_options.get("include_usage")),
        prompt_tokens=sum(len(text_of(m.get("content")).split()) for m in messages),
    )


async def stream_body(
    r: Reply, pause: Pause, update: Callable[..., None], hostile: Hostile
) -> AsyncIterator[bytes]:
    """SSE body; ``update(**changes)`` keeps the server's ``StreamRecord`` of it current.

    Client disconnects surface here two ways: ``pause`` returns False, or Starlette cancels this
    generator (CancelledError) / it gets closed (GeneratorExit).
    """
    gone = False
    sent = 0
    try:
        if r.fault == "hang":
            while await pause(3600):
                pass
            gone = True
            return
        yield r.chunk({"role": "assistant", "content": "", "refusal": None})
        for piece in split_tokens(r.behavior.reasoning or ""):
            if not await pause(r.behavior.delay):
                gone = True
                return
            yield r.chunk({"content": None, "reasoning_content": piece})
        for i, token in enumerate(r.tokens):
            if r.fault in ("drop_after", "error_event_after") and i == r.fault_n:
                break
            if not await pause(r.behavior.first_token_delay if i == 0 else r.behavior.delay):
                gone = True
                return
            yield r.chunk({"content": token})
            sent += 1
            update(tokens_sent=sent)
        if r.fault == "drop_after":
            raise DropConnection("drop_after fault")
        if r.fault == "error_event_after":
            yield sse({"error": {"message": r.behavior.message, "type": "server_error"}})
            return
        if hostile.endless:
            async for piece in hostile.tail(r.chunk, pause):
                yield piece
            return
        last = hostile.last_chunk  # hostile fields go into the stream's last chunk
        if r.fault != "no_finish":
            yield r.chunk({}, r.finish_reason, **({} if r.include_usage else last))
        if r.include_usage:
            yield r.chunk({}, **{"choices": [], "usage": r.usage(sent), **last})
        yield b"data: [DONE]\n\n"
        update(finished=True)
    except (asyncio.CancelledError, GeneratorExit):
        gone = True
        raise
    finally:
        update(disconnected=gone, ended_at=time.monotonic())


async def complete_response(r: Reply, pause: Pause) -> Response:
    """Non-streaming answer; faults map to their closest non-streaming equivalent."""
    if r.fault == "error_event_after":
        return error_response(500, r.behavior.message)
    tokens = r.tokens[: r.fault_n] if r.fault == "drop_after" else r.tokens
    if r.fault != "hang":
        await pause(r.behavior.first_token_delay + r.behavior.delay * max(len(tokens) - 1, 0))
    message = {"role": "assistant", "content": "".join(tokens), "refusal": None}
    finish = None if r.fault == "no_finish" else r.finish_reason
    choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}
    payload = {**r.head, "object": "chat.completion", "choices": [choice], "usage": r.usage(len(tokens))}
    if r.fault not in ("hang", "drop_after"):
        return JSONResponse(payload)
    data = json.dumps(payload).encode()

    async def broken() -> AsyncIterator[bytes]:
        """hang: headers, then nothing until the client leaves; drop_after: half the JSON, then a cut."""
        while r.fault == "hang" and await pause(3600):
            pass
        if r.fault == "drop_after":
            yield data[: len(data) // 2]
            raise DropConnection("drop_after fault")

    return StreamingResponse(broken(), media_type="application/json")
