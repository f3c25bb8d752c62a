"""Keep every request inside the model's context window, in a way the server's prompt cache likes.

This module is the planning (pure: token counts in, where to cut out); counting the tokens is
:class:`llmchat.engine.budget.ContextBudget`'s job.

Before each request the prompt's tokens are counted (the server's own tokenizer when it has one,
else an estimate) and, when prompt + max_tokens would not fit, the oldest turns are left out. Never
the system prompt, never the current message.

Why "in whole chunks": llama.cpp reuses the computed state of the longest prompt prefix it saw
last time. Dropping one old turn per new turn would change the start of the prompt on every turn
and throw that cache away each time. Instead the history is cut at fixed points, every quarter of
the window counted from the start of the conversation, so the kept part stays byte-identical for
many turns and only moves when another whole quarter must go.

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
    fixed_tokens: int,
    max_tokens: int,
    window: int,
) -> int:
    """Index of the first history message to keep so that everything fits (pure function).

    ``fixed_tokens`` is what is always sent (system prompt and current message, with overhead).
    """
    budget = window - max_tokens - fixed_tokens - SAFETY_MARGIN
    if budget < 0:
        raise ValueError("does not fit even without history")
    total = sum(history_tokens)
    if total <= budget:
        return 0
    chunk = max(window // 4, 1)
    target = math.ceil((total - budget) / chunk) * chunk
    dropped = 0
    for index, tokens in enumerate(history_tokens):
        if dropped >= target and history_roles[index] == "user":
            return index
        dropped += tokens
    return len(history_tokens)


def plan(
    texts_tokens: list[int], images: list[int], roles: list[str], max_tokens: int, window: int, exact: bool
) -> Plan:
    """Plan the request ``[system?] + history + [current]`` for ``window`` tokens, given each
    message's text tokens and image count (``roles[0] == "system"`` when there is a system prompt).

    Raises :class:`ContextOverflow` when even the system prompt and the message do not fit.
    """
    counts = [c + PER_MESSAGE_OVERHEAD + n * IMAGE_TOKENS for c, n in zip(texts_tokens, images, strict=True)]
    head = 1 if roles[0] == "system" else 0
    fixed = sum(counts[:head]) + counts[-1]
    history = counts[head:-1]
    history_roles = roles[head:-1]
    reserved = sum(counts[:head]) + max(counts[-1], message_reserve(window))
    try:
        first = plan_history(history, history_roles, reserved, max_tokens, window)
    except ValueError:
        try:  # the reserve is a preference: a request that fits without it is sent
            first = plan_history(history, history_roles, fixed, max_tokens, window)
        except ValueError:
            raise ContextOverflow(
                fixed + max_tokens + SAFETY_MARGIN, window, counts[-1], max_tokens
            ) from None
    return Plan(first_kept=first, prompt_tokens=fixed + sum(history[first:]), exact=exact)
