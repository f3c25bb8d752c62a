"""How full the context is before a send, as data for a context gauge under the input.

A front end asks :meth:`llmchat.engine.service.ChatService.context` while the visitor types
(debounced) and after each turn, and draws ``used / window`` (``~`` when ``estimated``), warning
when ``left_out`` grows: sending now would leave that many older messages out (or summarize
them, ``summarized``). Nothing here is worded: ``reason`` is a notice.
"""

from __future__ import annotations

from dataclasses import dataclass

from llmchat.core.notices import Notice


@dataclass(frozen=True)
class ContextGauge:
    """The next request's size against the model's context window.

    ``used``: tokens of what would be sent (system prompt, the history kept, a summary, the
    message and its attachments), not counting the answer's ``max_tokens``, which are kept free
    too. ``window`` is None when unknown: then the gauge is hidden and ``reason`` says why.
    """

    used: int | None
    window: int | None
    estimated: bool  # counted by llmchat's estimate (no tokenizer endpoint), not the server
    left_out: int = 0  # older history messages this send would not carry
    summarized: bool = False  # those would be replaced by a summary (overflow: summarize)
    max_tokens: int = 0  # room kept for the answer
    fits: bool = True  # False: even the message alone does not fit (``reason`` says so)
    reason: Notice | None = None  # why there are no figures, or why it does not fit
