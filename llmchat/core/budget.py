"""Keep every request inside the model's context window, in a way the server's prompt cache likes.

This module is the planning (pure: token counts in, where to cut out); counting the tokens is
:class:`llmchat.engine.budget.ContextBudget`'s job.

Before each request the prompt's tokens are counted (the server's own tokenizer when it has one,
else an estimate) and, when prompt + max_tokens would not fit, the oldest turns are left out. Never
the system prompt, never the current message.

Why the cut stays put: llama.cpp reuses the computed state of the longest prompt prefix it saw
last time. Dropping one old turn per new turn would change the start of the prompt on every turn
and throw that cache away each time. Instead a cut, once made, stays where it is while the rest
fits; when it must move, it moves far enough that half the room is free again, so the next
several turns keep the same start. Each turn's cut is found by replaying the conversation turn by
turn (:func:`plan_history`), so it depends on the conversation alone, not on what happened to be
remembered. Measured over random conversations of paragraph-long questions and answers near Max
tokens (``tests/test_long_chats.py``): the start of the prompt stays the same in 51–60 % of
consecutive trimmed turns at a 700-token window (12–19 % when the history was cut at fixed
quarters of the window), about 70 % at 2,048 and 80 % at 8,192, and it never moves in two turns
in a row.

The current message is counted as at least ``message_reserve(window)`` tokens, so where the
history is cut depends on the history alone (for any message up to that size). That lets
:mod:`llmchat.engine.warmup` know right after an answer where the next turn will cut, and have the server
evaluate the shortened prompt while the visitor reads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from llmchat.core.notices import Notice, NoticeError

PER_MESSAGE_OVERHEAD = 8  # chat-template tokens around each message (role markers, separators)
SAFETY_MARGIN = 16
ESTIMATE_BYTES_PER_TOKEN = 3  # conservative: English averages ~4 bytes a token, Japanese ~3
IMAGE_TOKENS = 768  # rough cost of one attached image for vision models (they vary: 256-1500)
MESSAGE_RESERVE = 256  # room kept for the next message when deciding where to cut the history
LAND_SHARE = 0.5  # a cut leaves at most this share of the room for history used (see plan_history)


def message_reserve(window: int) -> int:
    """Tokens the current message is assumed to take at least (a smaller window reserves less)."""
    return min(MESSAGE_RESERVE, window // 8)


def countable(content: Any) -> tuple[str, int]:
    """The text of a message's content to count, and how many images it carries.

    Content is a string, or OpenAI parts: text parts are counted, an image's base64 data is not
    text the model reads, so it counts as a fixed number of tokens instead.
    """
    if isinstance(content, str):
        return content, 0
    if not isinstance(content, list):
        return str(content), 0
    texts = [
        str(part.get("text", "")) for part in content if isinstance(part, dict) and part.get("type") == "text"
    ]
    images = sum(1 for part in content if isinstance(part, dict) and part.get("type") == "image_url")
    return "\n".join(texts), images


def estimate_tokens(text: str) -> int:
    """Documented fallback when the server has no tokenizer endpoint: UTF-8 bytes / 3, rounded up."""
    return math.ceil(len(text.encode("utf-8")) / ESTIMATE_BYTES_PER_TOKEN)


class ContextOverflow(NoticeError):
    """Even with no history the request cannot fit; the notice says what to change."""

    def __init__(self, needed: int, window: int, message_tokens: int, max_tokens: int) -> None:
        super().__init__(
            Notice(
                "too_long_for_model",
                tokens=message_tokens,
                max_tokens=max_tokens,
                needed=needed,
                window=window,
            )
        )
        self.needed, self.window = needed, window


@dataclass(frozen=True)
class Plan:
    first_kept: int  # index of the first history message sent
    prompt_tokens: int  # counted (or estimated) tokens of what is sent
    exact: bool  # counted by the server's tokenizer


def plan_history(
    history_tokens: list[int],
    history_roles: list[str],
    system_tokens: int,
    message_tokens: int,
    max_tokens: int,
    window: int,
) -> int:
    """Index of the first history message to keep so that everything fits (pure function).

    Token counts include each message's overhead. The conversation is replayed turn by turn, each
    turn planned as it was when its question was the current message: the cut stays where it is
    while the rest fits, and when it no longer does it moves to the first question after which at
    most half the room is used (:data:`LAND_SHARE`). So where a turn cuts depends only on the
    conversation before it (for messages up to :func:`message_reserve`), the cut moves seldom,
    and each move frees room for several exchanges. Raises ValueError when even the message
    alone does not fit.
    """
    reserve = message_reserve(window)

    def room(message: int) -> int:
        """The tokens of history a turn with this message may carry (the reserve is a preference:
        a request that fits without it is still sent)."""
        base = window - max_tokens - system_tokens - SAFETY_MARGIN
        return base - max(message, reserve) if base - max(message, reserve) >= 0 else base - message

    prefix = [0]
    for tokens in history_tokens:
        prefix.append(prefix[-1] + tokens)
    turns = [k for k, role in enumerate(history_roles) if role == "user"] + [len(history_tokens)]
    cut = 0
    for k in turns:
        budget = room(history_tokens[k] if k < len(history_tokens) else message_tokens)
        if budget < 0:
            if k == len(history_tokens):
                raise ValueError("does not fit even without history")
            continue  # an earlier turn that was refused: it moved nothing
        if prefix[k] - prefix[cut] > budget:
            land = budget * LAND_SHARE
            while cut < k and (prefix[k] - prefix[cut] > land or history_roles[cut] != "user"):
                cut += 1
    return cut


def plan(
    texts_tokens: list[int], images: list[int], roles: list[str], max_tokens: int, window: int, exact: bool
) -> Plan:
    """Plan the request ``[system?] + history + [current]`` for ``window`` tokens, given each
    message's text tokens and image count (``roles[0] == "system"`` when there is a system prompt).

    Raises :class:`ContextOverflow` when even the system prompt and the message do not fit.
    """
    counts = [c + PER_MESSAGE_OVERHEAD + n * IMAGE_TOKENS for c, n in zip(texts_tokens, images, strict=True)]
    head = 1 if roles[0] == "system" else 0
    system, message = sum(counts[:head]), counts[-1]
    history = counts[head:-1]
    try:
        first = plan_history(history, roles[head:-1], system, message, max_tokens, window)
    except ValueError:
        raise ContextOverflow(
            system + message + max_tokens + SAFETY_MARGIN, window, message, max_tokens
        ) from None
    return Plan(first_kept=first, prompt_tokens=system + message + sum(history[first:]), exact=exact)
