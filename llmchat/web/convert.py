"""A turn's view (:class:`~llmchat.core.turn.TurnView`) as chat messages, for the page and the API.

A plain answer is a plain string (the simplest thing for API clients); anything more is a list
of messages in which llmchat's own parts carry a ``metadata`` title: Gradio shows them as small
titled boxes, and :func:`llmchat.core.messages.history_to_messages` never sends them back to the
model. Notices and the stats line are worded here, in the visitor's language, and every text is
made safe to show (:mod:`llmchat.core.safe_markdown`): nothing in it loads from another origin.
"""

from __future__ import annotations

from typing import Any

from llmchat.core.notices import Notice
from llmchat.core.safe_markdown import safe_reply
from llmchat.core.turn import TurnView
from llmchat.i18n import Lang, notice_text, stats_line

Reply = str | list[dict[str, Any]]


def notice_message(notice: Notice, lang: Lang) -> dict[str, Any]:
    """A notice as a titled chat message."""
    title, body = notice_text(notice, lang)
    return {"role": "assistant", "content": body, "metadata": {"title": title}}


def reply(view: TurnView, lang: Lang) -> Reply:
    """The view as the chat shows it, in ``lang``."""
    if not (view.before or view.thinking or view.after or view.stats):
        return safe_reply(view.answer)
    messages = _turn_messages(view, lang)
    if view.stats:
        title = stats_line(view.stats, lang)
        messages.append({"role": "assistant", "content": "", "metadata": {"title": title, "status": "done"}})
    return safe_reply(messages)


def page_reply(view: TurnView, lang: Lang) -> tuple[list[dict[str, Any]], str]:
    """The view as the page's chat shows it: the turn's messages, and its stats line apart.

    The page draws the stats as one muted line under the answer (``llmchat/web/assets``), not as
    a message, so that the message's Copy button copies the answer alone.
    """
    messages = _turn_messages(view, lang)
    # Without the ⏱ the terminal and the older page show: it needs an emoji font, and a muted
    # line under the answer says what it is without it.
    stats = stats_line(view.stats, lang).removeprefix("⏱").strip() if view.stats else ""
    return safe_reply(messages), stats


def _turn_messages(view: TurnView, lang: Lang) -> list[dict[str, Any]]:
    """Notices before, the thinking block, the answer, notices after (no stats; not yet made safe)."""
    messages = [notice_message(notice, lang) for notice in view.before]
    if view.thinking:
        metadata: dict[str, Any] = {"title": notice_text(Notice("thinking"), lang)[0]}
        if view.thinking_seconds is None:
            metadata["status"] = "pending"
        else:
            metadata.update(status="done", duration=round(view.thinking_seconds, 1))
        messages.append({"role": "assistant", "content": view.thinking, "metadata": metadata})
    if view.answer:
        messages.append({"role": "assistant", "content": view.answer})
    messages.extend(notice_message(notice, lang) for notice in view.after)
    return messages
