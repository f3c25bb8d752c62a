"""What a test tells the OpenAI test server to answer: ``Behavior`` and ``[[test ...]]`` directives.

A ``Behavior`` says how many tokens to send, how fast, and which failure to produce. A test sets
one on the server, queues several, or writes one into the user's message as
``[[test key=value ...]]`` so that many concurrent clients each get their own without sharing
server state. ``split_tokens`` is how every reply is cut into stream chunks, so a test can predict
exactly what a client receives.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["FAULTS", "Behavior", "parse_directive", "parse_fault", "reply_text", "split_tokens"]

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
_DIRECTIVE = re.compile(r"\[\[test\b(.*?)\]\]", re.DOTALL)


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


def reply_text(behavior: Behavior, user_text: str) -> str:
    """The whole answer ``behavior`` asks for, before ``max_tokens`` or a fault cuts it."""
    if behavior.reply is not None:
        return behavior.reply
    if behavior.tokens is not None:
        return " ".join(f"tok{i}" for i in range(behavior.tokens))
    return f"Echo: {user_text}"


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


def parse_fault(fault: str | None) -> tuple[str | None, int]:
    """Split ``"drop_after:5"`` into ``("drop_after", 5)``; reject typos loudly (ValueError)."""
    if fault is None:
        return None, 0
    name, _, arg = fault.partition(":")
    if name not in FAULTS or (name in ("drop_after", "error_event_after")) != bool(arg):
        raise ValueError(f"unknown fault {fault!r}; expected one of {FAULTS} (N for *_after:N)")
    return name, int(arg) if arg else 0
