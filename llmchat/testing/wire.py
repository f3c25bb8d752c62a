"""The shapes of OpenAI's chat API as the test server writes and reads them.

Error bodies as api.openai.com sends them per status, ``chat.completion.chunk`` events and their
``usage``, and the text of a message whose ``content`` is a string or a list of parts. Kept apart
from the server so that what goes over the wire can be read in one place.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from starlette.responses import JSONResponse, Response

from llmchat.testing.scripting import Behavior

__all__ = ["CHAT_PATH", "Reply", "error_body", "error_response", "sse", "text_of"]

CHAT_PATH = "/v1/chat/completions"


def text_of(content: Any) -> str:
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


def error_response(
    status: int, message: str, code: str | None = None, retry_after: float | None = None
) -> Response:
    """``error_body`` as an HTTP response, with a ``Retry-After`` header when given."""
    headers = {"retry-after": f"{retry_after:g}"} if retry_after is not None else None
    return JSONResponse(error_body(status, message, code), status_code=status, headers=headers)


def sse(obj: Any) -> bytes:
    """One server-sent event carrying ``obj`` as JSON (non-ASCII kept as is, like real servers)."""
    return f"data: {json.dumps(obj, ensure_ascii=False)}\n\n".encode()


@dataclass
class Reply:
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
        """One ``chat.completion.chunk`` event; ``extra`` fields go into its top level."""
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        usage = {"usage": None} if self.include_usage else {}  # OpenAI's shape with include_usage
        return sse({**self.head, "object": "chat.completion.chunk", "choices": [choice], **usage, **extra})

    def usage(self, sent: int) -> dict[str, int]:
        """The ``usage`` object after ``sent`` completion tokens."""
        total = self.prompt_tokens + sent
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": sent, "total_tokens": total}
