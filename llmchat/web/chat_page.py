"""The page's chat: a question, Retry, Edit, Undo, Stop, ←/→ between variants, 👍/👎, Clear.

The page keeps its conversation as a tree (:mod:`llmchat.core.conversation_tree`) in the
visitor's session (a ``gr.State`` holding a :class:`~llmchat.core.conversation_store.Conversation`),
not as ``gr.ChatInterface``'s flat history: Retry adds an answer next to the earlier one instead
of replacing it, and editing a question starts a branch instead of cutting the turns after it.
The Chatbot shows the branch on screen (:meth:`Tree.history`); that same branch is the history a
turn sends to the model, so the variant on screen is the one the model sees.

Every handler here mutates the session's conversation in place and returns what the page shows:
the Chatbot's messages and the conversation as the browser keeps it (a JSON text in a hidden box
that ``llmchat.js`` writes to local storage, and from which it draws the ←/→ pagers and the stats
lines). A streamed answer is kept every couple of seconds while it streams, marked ``partial``, so
a reload in the middle keeps what was shown (:mod:`llmchat.web.conversations` marks it cut off).

Values from the page's events (message indexes, the ←/→ action) are checked against the tree: a
stale or forged index does nothing.
"""

from __future__ import annotations

import json
import mimetypes
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import gradio as gr

from llmchat.core import kept_summary
from llmchat.core.attachments import split_message
from llmchat.core.coalesce import page_floor
from llmchat.core.conversation_store import Conversation, now_ms, stored
from llmchat.core.conversation_tree import Tree
from llmchat.core.messages import content_files, content_text
from llmchat.core.safe_markdown import safe_markdown
from llmchat.core.summary import MAX_SUMMARY_CHARS, Summary
from llmchat.engine.fairness import visitor
from llmchat.engine.service import ChatService, TurnRequest
from llmchat.web import convert, i18n
from llmchat.web.controls_ui import settings_handler, values_of
from llmchat.web.handlers import Page, settings_of

SAVE_EVERY = 2.0  # seconds between saves of an answer while it streams
MAX_ACTION_CHARS = 4 * MAX_SUMMARY_CHARS  # an edited summary, its JSON escapes included


def doc_text(conversation: Conversation) -> str:
    """The conversation as the hidden box carries it to the browser."""
    return json.dumps(stored(conversation), ensure_ascii=False, separators=(",", ":"))


def box_update(answering: bool) -> dict[str, Any]:
    """The message box while an answer streams (Stop instead of Send; typing goes on) or after."""
    return gr.update(submit_btn=not answering, stop_btn=answering)


def question_message(text: str, files: list[str]) -> dict[str, Any]:
    """The chat message for a question: its files (shown with their names), then its text."""
    blocks: list[dict[str, Any]] = []
    for path in files:
        mime = mimetypes.guess_type(path)[0]
        blocks.append(
            {"type": "file", "file": {"path": path, "orig_name": Path(path).name, "mime_type": mime}}
        )
    if text:
        blocks.append({"type": "text", "text": safe_markdown(text)})
    return {"role": "user", "content": blocks}


def turn_request(
    text: str,
    files: list[str],
    history: list[dict[str, Any]],
    preset: str,
    widgets: list[Any],
    model: str,
    request: gr.Request | None,
    summary: Summary | None = None,
) -> TurnRequest:
    """The service's request for a turn from the page, as a send makes it (and the context
    gauge measures it: the same request, so the gauge counts what a send would send)."""
    session, address = visitor(request)
    on_screen = sum(len(content_text(m.get("content"))) for m in history if isinstance(m, dict))
    return TurnRequest(
        message=text,
        preset=preset,
        files=files,
        history=history,
        controls=values_of(widgets),
        model=model or "",
        session=session,
        address=address,
        summary=summary,
        update_floor=page_floor(on_screen),
    )


def _question_parts(message: dict[str, Any]) -> tuple[str, list[str]]:
    """``(text, file paths)`` of a question node's message, to ask it again."""
    content = message.get("content")
    return content_text(content), [path for path, _ in content_files(content)]


def _question_node(tree: Tree, data: Any) -> int | None:
    """The tree node of the question a Retry or Edit event points at; None for anything else."""
    index = _index(data.index)
    node = tree.locate(index) if index is not None else None
    return node if node is not None and tree.nodes[node].role == "user" else None


def _index(value: Any) -> int | None:
    """A message index from an event (an int; Gradio's older form is a tuple)."""
    if isinstance(value, list | tuple) and value:
        value = value[0]
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


class ChatPage:
    """The page's chat handlers; one instance per app, shared by every visitor."""

    def __init__(self, service: ChatService, page: Page) -> None:
        self.service = service
        self.page = page

    # --- keeping ------------------------------------------------------------------------------------

    def keep_settings(
        self, conversation: Conversation, preset_id: str, model: str, widgets: list[Any]
    ) -> None:
        """Remember the settings the page shows with the conversation (kept with it)."""
        preset = self.page.catalog.presets.get(preset_id)
        if preset is not None:
            conversation.settings = settings_of(preset, model, widgets)

    def shown(self, conversation: Conversation) -> list[Any]:
        """[chatbot, doc]: the branch on screen, and the conversation to keep."""
        return [conversation.tree.history(), doc_text(conversation)]

    # --- asking ---------------------------------------------------------------------------------------

    async def _answer(
        self,
        conversation: Conversation,
        answer: int,
        text: str,
        files: list[str],
        history: list[dict[str, Any]],
        preset: str,
        widgets: list[Any],
        model: str,
        request: gr.Request,
    ) -> AsyncIterator[list[Any]]:
        """Stream the answer into node ``answer``; yields [chatbot, doc]."""
        tree = conversation.tree
        self.keep_settings(conversation, preset, model, widgets)
        conversation.updated = now_ms()
        turn = turn_request(text, files, history, preset, widgets, model, request, conversation.summary)
        lang = self.page.lang(request)
        yield self.shown(conversation)  # the question at once, kept at once
        saved = time.monotonic()
        view = None
        try:
            async for view in self.service.turn(turn):
                messages, stats = convert.page_reply(view, lang)
                tree.answer(answer, messages, stats, done=False)
                if time.monotonic() - saved > SAVE_EVERY:
                    saved = time.monotonic()
                    yield self.shown(conversation)
                else:
                    yield [tree.history(), gr.skip()]
            tree.answer(answer, tree.nodes[answer].messages, tree.nodes[answer].stats, done=True)
            if view is not None:
                kept_summary.after_turn(conversation, view)
        finally:
            self._stopped(conversation, answer, lang)
        yield self.shown(conversation)

    def _stopped(self, conversation: Conversation, answer: int, lang: i18n.Lang) -> None:
        """The answer as it stands when the visitor pressed Stop (or the turn ended early)."""
        tree = conversation.tree
        if answer < len(tree.nodes) and tree.nodes[answer].partial:
            node = tree.nodes[answer]
            stopped = i18n.text("stopped", lang)
            tree.answer(
                answer, node.messages, f"{node.stats} · {stopped}" if node.stats else stopped, done=True
            )

    def handler(self, name: str) -> Any:
        """The turn handler ``name`` with a signature naming the inputs Gradio passes it:
        ``(first, conversation, preset, <controls...>, model, [event data], request)``; it yields
        [chatbot, doc, message box]: the box shows Stop from the first update to the last.

        The box's state comes from the turn itself, not from events of its own beside it: two
        events of one trigger end in either order, and a box left showing Stop refuses Enter."""
        event = {"retry": gr.RetryData, "edit": gr.EditData, "example": gr.SelectData}.get(name)
        method = getattr(self, name)

        async def boxed(*args: Any) -> AsyncIterator[list[Any]]:
            last: list[Any] | None = None
            async for update in method(*args):
                yield [*update, box_update(True) if last is None else gr.skip()]
                last = update
            # The turn's last state again (the same values: nothing changes on the page), so that
            # the event's final output is the conversation, as API callers of the page read it.
            yield [*(last or [gr.skip(), gr.skip()]), box_update(False)]

        boxed.__name__ = name
        return settings_handler(boxed, ["first", "conversation"], event)

    async def send(
        self, message: Any, conversation: Conversation, preset: str, *rest: Any
    ) -> AsyncIterator[list[Any]]:
        """A question from the message box, at the end of the conversation on screen."""
        *widgets, model, request = rest
        text, files = split_message(message)
        if not text.strip() and not files:
            yield [gr.skip(), gr.skip()]
            return
        history = conversation.tree.history()
        _, answer = conversation.tree.ask(question_message(text, files))
        async for update in self._answer(
            conversation, answer, text, files, history, preset, widgets, model, request
        ):
            yield update

    async def example(
        self, _: Any, conversation: Conversation, preset: str, *rest: Any
    ) -> AsyncIterator[list[Any]]:
        """An example prompt of the empty chat, asked as if typed."""
        *widgets, model, data, request = rest
        value = data.value if isinstance(data.value, dict) else {}
        text = value.get("text") if isinstance(value.get("text"), str) else ""
        async for update in self.send(text[:2000], conversation, preset, *widgets, model, request):
            yield update

    async def retry(
        self, _: Any, conversation: Conversation, preset: str, *rest: Any
    ) -> AsyncIterator[list[Any]]:
        """Retry: another answer to the question, next to the earlier ones (``2/2``)."""
        *widgets, model, data, request = rest
        tree = conversation.tree
        node = _question_node(tree, data)
        if node is None:
            yield [gr.skip(), gr.skip()]
            return
        text, files = _question_parts(tree.nodes[node].messages[0])
        history = tree.before(node)
        answer = tree.retry(node)
        async for update in self._answer(
            conversation, answer, text, files, history, preset, widgets, model, request
        ):
            yield update

    async def edit(
        self, _: Any, conversation: Conversation, preset: str, *rest: Any
    ) -> AsyncIterator[list[Any]]:
        """An edited question: a new branch from where the question was; the old one is kept."""
        *widgets, model, data, request = rest
        tree = conversation.tree
        node = _question_node(tree, data)
        value = data.value if isinstance(data.value, str) else content_text(data.value)
        if node is None or not isinstance(value, str):
            yield [tree.history(), gr.skip()]
            return
        _, files = _question_parts(tree.nodes[node].messages[0])
        text = value[: self.page.limits.max_message_chars + 1]
        history = tree.before(node)
        _, answer = tree.edit(node, question_message(text, files))
        async for update in self._answer(
            conversation, answer, text, files, history, preset, widgets, model, request
        ):
            yield update

    # --- other changes ----------------------------------------------------------------------------------

    def after_stop(self, conversation: Conversation, preset: str, *rest: Any) -> list[Any]:
        """After Stop: the answer as it stood, kept. ``rest``: controls, model, request."""
        *widgets, model, request = rest
        lang = self.page.lang(request)
        for index, node in enumerate(conversation.tree.nodes):
            if node.partial:
                self._stopped(conversation, index, lang)
        self.keep_settings(conversation, preset, model, widgets)
        return self.shown(conversation)

    def undo(self, conversation: Conversation, data: gr.UndoData) -> list[Any]:
        """Undo: the last question and its answers go; its text goes back into the box."""
        tree = conversation.tree
        index = _index(data.index)
        node = tree.locate(index) if index is not None else None
        if node is None or tree.nodes[node].role != "user":
            return [gr.skip(), gr.skip(), gr.skip()]
        text, files = _question_parts(tree.nodes[node].messages[0])
        tree.remove(node)
        return [tree.history(), doc_text(conversation), {"text": text, "files": files}]

    def act(self, action: str, conversation: Conversation) -> list[Any]:
        """A page action from ``llmchat.js`` (JSON): ``{"flip": node, "step": ±1}`` shows another
        variant; ``{"feedback": node, "value": "up" | "down" | null}`` keeps 👍/👎;
        ``{"rename": title}`` renames the conversation; ``{"summary": text}`` edits its summary."""
        tree = conversation.tree
        try:
            parsed = json.loads(action[:MAX_ACTION_CHARS]) if isinstance(action, str) else None
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict) or parsed.get("id") != conversation.id:
            return [gr.skip(), gr.skip()]
        node = parsed.get("flip", parsed.get("feedback"))
        valid = isinstance(node, int) and not isinstance(node, bool) and 0 <= node < len(tree.nodes)
        if "flip" in parsed and valid and parsed.get("step") in (-1, 1):
            if tree.flip(node, parsed["step"]):
                return [tree.history(), doc_text(conversation)]
        elif "feedback" in parsed and valid and parsed.get("value") in ("up", "down", None):
            tree.set_feedback(node, parsed["value"])
            return [gr.skip(), doc_text(conversation)]
        elif isinstance(parsed.get("summary"), str) and kept_summary.edit(conversation, parsed["summary"]):
            return [gr.skip(), doc_text(conversation)]
        elif isinstance(parsed.get("rename"), str):
            title = " ".join(parsed["rename"].split())[:120]
            conversation.title, conversation.titled = title, bool(title)
            return [gr.skip(), doc_text(conversation)]
        return [gr.skip(), gr.skip()]

    def like(self, conversation: Conversation, data: gr.LikeData) -> Any:
        """👍/👎 under an answer (Gradio's feedback buttons), kept with the answer."""
        tree = conversation.tree
        index = _index(data.index)
        node = tree.locate(index) if index is not None else None
        if node is None or tree.nodes[node].role != "assistant":
            return gr.skip()
        liked = data.liked
        value = "up" if liked is True else "down" if liked is False else None
        if tree.nodes[node].feedback == value:  # pressed again: taken back
            value = None
        tree.set_feedback(node, value)
        return doc_text(conversation)  # one output: a list would be taken as its value

    def clear(self, conversation: Conversation) -> list[Any]:
        """Clear: the conversation is emptied; the old tree is returned for Undo."""
        cleared = conversation.tree
        conversation.tree = Tree()
        return [[], doc_text(conversation), cleared]

    def unclear(self, conversation: Conversation, cleared: Tree | None) -> list[Any]:
        """Undo of Clear: the conversation as it was."""
        if not isinstance(cleared, Tree) or conversation.tree.nodes:
            return [gr.skip(), gr.skip(), gr.skip()]
        conversation.tree = cleared
        return [cleared.history(), doc_text(conversation), None]
