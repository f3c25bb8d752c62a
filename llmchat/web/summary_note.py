"""The page's summary of older turns: kept with the conversation, shown above it as an editable
note (drawn by ``assets/llmchat-summary.js`` from the kept document), made on request by the
"Summarize older turns" button under the message box.

The summary lives in :attr:`llmchat.core.conversation_store.Conversation.summary`: a turn that
summarizes (preset ``overflow: summarize``) leaves its :attr:`~llmchat.core.turn.TurnView.summary`
there, the button puts one there (whatever the preset's ``overflow``), and the visitor's edit
replaces its text. Every later turn sends it back (:class:`~llmchat.engine.service.TurnRequest`
``summary``), so what the model sees in place of the older turns is what the note shows.

The button is offered when the gauge says the next send leaves messages out, and after a turn
the server refused as too long without saying its window: there no window can be learned, and
the refusal's notice points at the button. What a turn keeps, and an edit:
:mod:`llmchat.core.kept_summary`.
"""

from __future__ import annotations

import html
from typing import Any

import gradio as gr

from llmchat.core.attachments import split_message
from llmchat.core.conversation_store import Conversation
from llmchat.core.notices import Notice
from llmchat.core.summary import Summary
from llmchat.engine.service import ChatService
from llmchat.i18n import notice_text
from llmchat.web import i18n
from llmchat.web.chat_page import doc_text, turn_request
from llmchat.web.handlers import Page


def summarize_button(lang: i18n.Lang) -> str:
    """The gauge's "Summarize older turns" button (its clicks: ``llmchat-summary.js``)."""
    tip = html.escape(i18n.text("summarize_tip", lang), quote=True)
    words = html.escape(i18n.text("summarize", lang))
    return (
        f'<button type="button" class="llmchat-summarize" title="{tip}" aria-label="{tip}">{words}</button>'
    )


class SummaryActions:
    """The "Summarize older turns" handler; one instance per app, shared by every visitor."""

    def __init__(self, service: ChatService, page: Page) -> None:
        self.service = service
        self.page = page

    async def summarize(self, message: Any, conversation: Conversation, preset: str, *rest: Any) -> Any:
        """Summarize what sending the box's message now would leave out; yields the kept document
        (the note shows the summary). ``rest``: the controls, the model, the request. Why there
        is no summary (nothing left out, the server failed) is a toast in the visitor's language."""
        *widgets, model, request = rest
        if not isinstance(conversation, Conversation) or not conversation.tree.nodes:
            return gr.skip()
        text, files = split_message(message)
        turn = turn_request(
            text, files, conversation.tree.history(), preset, widgets, model, request, conversation.summary
        )
        opened, tree = conversation.id, conversation.tree
        result = await self.service.summarize(turn)
        if conversation.id != opened or conversation.tree is not tree:
            # The visitor opened another conversation (or a new chat) while the summary was
            # written: that one is on the page now, and the summary is not about it.
            return gr.skip()
        if isinstance(result, Summary):
            conversation.summary, conversation.overflowed = result, False
            return doc_text(conversation)
        self._tell(result, self.page.lang(request))
        return gr.skip()

    @staticmethod
    def _tell(notice: Notice, lang: i18n.Lang) -> None:
        title, body = notice_text(notice, lang)
        gr.Warning(body.replace("`", "").replace("**", ""), title=title)
