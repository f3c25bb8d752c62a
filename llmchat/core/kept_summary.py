"""The summary a conversation keeps (:attr:`~llmchat.core.conversation_store.Conversation.summary`):
what a finished turn leaves there, and the visitor's edit of it.

Kept with the conversation (and saved with it), sent back with every turn, so what the model sees
in place of the older turns is what the page's note shows (:mod:`llmchat.web.summary_note`).
"""

from __future__ import annotations

from llmchat.core.conversation_store import Conversation
from llmchat.core.messages import clean_text
from llmchat.core.summary import MAX_SUMMARY_CHARS
from llmchat.core.turn import TurnView

# Refusals that mean "too long" where the server says no window: the page offers a summary.
OVERFLOW_KINDS = frozenset({"bad_request_context", "empty_stream"})


def after_turn(conversation: Conversation, view: TurnView) -> None:
    """Keep what a finished turn says about summaries: the one it sent (made, extended or the
    visitor's), and whether it was refused as too long. A turn that sent none (a QA question,
    another branch, a failure) leaves the kept one as it is: the visitor may come back to it, and
    the service only ever sends a summary of the messages it was made from. Only the visitor
    removes it (:func:`edit` with no text)."""
    conversation.overflowed = any(n.kind in OVERFLOW_KINDS for n in view.notices)
    if not view.failed and view.summary is not None:
        conversation.summary = view.summary


def edit(conversation: Conversation, text: str) -> bool:
    """The visitor's text for the summary (empty: the summary is removed, and the older turns are
    left out or summarized again). False when there is no summary to edit."""
    if conversation.summary is None:
        return False
    text = clean_text(text).strip()[:MAX_SUMMARY_CHARS]
    conversation.summary = conversation.summary.model_copy(update={"text": text}) if text else None
    return True
