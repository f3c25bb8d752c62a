"""The context gauge under the message box: ``1,234 / 4,096 tokens``, and a warning when sending
now would leave older messages out.

The figures come from :meth:`llmchat.engine.service.ChatService.context`, asked with the same
:class:`~llmchat.engine.service.TurnRequest` a send would make (:func:`llmchat.web.chat_page.turn_request`:
the branch on screen, the message and files in the box, the preset, controls and model), so the
gauge counts exactly what a send would send. The handler is page-only (``api_visibility="private"``,
404 by name: :mod:`llmchat.web.route_guard`); the service runs one measurement at a time per
visitor, and the page asks again only once the last answer is back (``trigger_mode="always_last"``).
"""

from __future__ import annotations

import html
from typing import Any

import gradio as gr

from llmchat.core.attachments import split_message
from llmchat.core.conversation_store import Conversation
from llmchat.core.gauge import ContextGauge
from llmchat.core.notices import Notice
from llmchat.engine.service import ChatService
from llmchat.i18n import phrase
from llmchat.web import i18n
from llmchat.web.chat_page import turn_request
from llmchat.web.handlers import Page
from llmchat.web.i18n import Lang
from llmchat.web.summary_note import summarize_button


def _plain(text: str) -> str:
    """A notice's Markdown as a tooltip's plain text."""
    return text.replace("`", "")


def render(gauge: ContextGauge, lang: Lang, overflowed: bool = False) -> str:
    """The gauge's HTML: the figures, or (no window) a muted note whose tooltip says why; with
    "Summarize older turns" when the next send leaves messages out, or the last turn was refused
    as too long (``overflowed``: no window known, :mod:`llmchat.web.summary_note`)."""
    offer = summarize_button(lang) if overflowed or gauge.left_out > 0 else ""
    if gauge.window is None or gauge.used is None:
        reason = gauge.reason or Notice("gauge_no_window")
        title = html.escape(_plain(phrase(reason, lang)), quote=True)
        note = html.escape(i18n.text("gauge_unknown", lang))
        return (
            f'<div class="llmchat-gauge llmchat-gauge-unknown" title="{title}" '
            f'aria-label="{title}" tabindex="0">ⓘ {note}{offer}</div>'
        )
    figures = i18n.text(
        "gauge", lang, mark="~" if gauge.estimated else "", used=gauge.used, window=gauge.window
    )
    title = [i18n.text("gauge_title", lang, max_tokens=gauge.max_tokens)]
    if gauge.estimated:
        title.append(i18n.text("gauge_estimated", lang))
    warning = ""
    if not gauge.fits and gauge.reason is not None:
        warning = _plain(phrase(gauge.reason, lang))
    elif gauge.left_out > 0:
        key = "gauge_summarized" if gauge.summarized else "gauge_left_out"
        warning = i18n.text(key, lang, count=gauge.left_out)
    share = min(100, round(100 * gauge.used / gauge.window)) if gauge.window > 0 else 100
    state = "llmchat-gauge-warn" if warning else "llmchat-gauge-ok"
    parts = [
        f'<div class="llmchat-gauge {state}" title="{html.escape(" ".join(title), quote=True)}">',
        f'<span class="llmchat-gauge-bar"><span style="width:{share}%"></span></span>',
        f'<span class="llmchat-gauge-figures">{html.escape(figures)}</span>',
    ]
    if warning:
        parts.append(f'<span class="llmchat-gauge-warning" role="status">⚠️ {html.escape(warning)}</span>')
    parts.append(f"{offer}</div>")
    return "".join(parts)


class GaugeHandler:
    """The page's gauge handler; one instance per app, shared by every visitor."""

    def __init__(self, service: ChatService, page: Page) -> None:
        self.service = service
        self.page = page

    async def gauge(self, message: Any, conversation: Conversation, preset: str, *rest: Any) -> Any:
        """The gauge for the box's message and the conversation on screen. ``rest``: the
        controls, the model, the request. Overtaken by a newer measurement: nothing changes."""
        *widgets, model, request = rest
        if not isinstance(conversation, Conversation):
            return gr.skip()
        text, files = split_message(message)
        history = conversation.tree.history()
        summary = conversation.summary
        request_ = turn_request(text, files, history, preset, widgets, model, request, summary)
        figures = await self.service.context(request_)
        if figures is None:
            return gr.skip()
        shown = render(figures, self.page.lang(request), conversation.overflowed)
        return gr.update(value=shown, visible=True)
