"""The test server's refusal of a request longer than its context window, as real servers word it.

A server that does not say its window anywhere else often says it here, and llmchat learns it
from this answer (:func:`llmchat.core.windows.stated_window`). Each style is one server's
wording; ``"unstated"`` is a refusal that names no number (older llama-server builds).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from llmchat.testing.scripting import split_tokens
from llmchat.testing.wire import error_body, text_of

PER_MESSAGE = 4  # template tokens the test server adds around each message

STYLES = ("llama.cpp", "openai", "vllm", "llama-cpp-python", "unstated")


def prompt_tokens(messages: list[dict[str, Any]]) -> int:
    """The prompt's size as this server counts it: its tokenizer's tokens, plus 4 a message."""
    return sum(len(split_tokens(text_of(m.get("content")))) + PER_MESSAGE for m in messages)


def overflow_refusal(
    messages: list[dict[str, Any]], body: dict[str, Any], window: int, style: str
) -> Response | None:
    """A 400 refusal when prompt + ``max_tokens`` exceed ``window`` tokens, else None."""
    prompt = prompt_tokens(messages)
    asked = body.get("max_tokens")
    completion = asked if isinstance(asked, int) and asked > 0 else 0
    needed = prompt + completion
    if needed <= window:
        return None
    if style == "llama.cpp":
        message = f"request ({needed} tokens) exceeds the available context size ({window} tokens)"
        error = {
            "code": 400,
            "message": message,
            "type": "exceed_context_size_error",
            "n_prompt_tokens": needed,
            "n_ctx": window,
        }
        return JSONResponse({"error": error}, status_code=400)
    if style == "openai":
        message = (
            f"This model's maximum context length is {window} tokens. However, your messages resulted "
            f"in {needed} tokens. Please reduce the length of the messages."
        )
        return JSONResponse(error_body(400, message, "context_length_exceeded"), status_code=400)
    if style == "vllm":
        message = (
            f"This model's maximum context length is {window} tokens. However, you requested {needed} "
            f"tokens ({prompt} in the messages, {completion} in the completion). Please reduce the "
            "length of the messages or completion."
        )
        return JSONResponse(
            {"object": "error", "message": message, "type": "BadRequestError", "code": 400}, 400
        )
    if style == "llama-cpp-python":
        message = f"Requested tokens ({needed}) exceed context window of {window}"
        return JSONResponse(error_body(400, message), status_code=400)
    return JSONResponse(
        error_body(400, "the request exceeds the available context size, try increasing it"), status_code=400
    )
