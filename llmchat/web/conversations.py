"""The page's saved conversations: open one, start a new one, keep it, export and import.

The browser keeps the visitor's conversations (``llmchat/web/assets/llmchat.js``: one local
storage key per conversation plus a small index, the list drawn from the index); the server keeps
only the open one, in the session (:mod:`llmchat.web.chat_page`). So the server is involved when
a conversation is opened (the browser sends that one document, which is checked and bounded here
like any visitor input, :mod:`llmchat.core.conversation_store`), when it changes (the server sends
the document back to be kept), and for files (export, "Export all", import).

A conversation opened with an answer still marked as streaming — the page was reloaded or closed
mid-answer — keeps what was shown, with a note that it was cut off; Retry works as for any answer.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import gradio as gr

from llmchat.core import conversation_store as store
from llmchat.core import tree_file
from llmchat.core.conversation_file import ImportProblem, Settings, export_files
from llmchat.core.conversation_store import Conversation
from llmchat.core.conversation_tree import Tree
from llmchat.core.notices import Notice
from llmchat.core.presets import LoadedPreset
from llmchat.web import i18n
from llmchat.web.chat_page import ChatPage, doc_text
from llmchat.web.controls_ui import widget_updates
from llmchat.web.convert import notice_message
from llmchat.web.export import export_markdown
from llmchat.web.handlers import Page, describe_preset, preset_choices, welcome
from llmchat.web.uploads import upload_root

MAX_ALL_CHARS = 40_000_000  # the text "Export all" may send: every kept conversation


def feedback_values(tree: Tree) -> list[str | None]:
    """Gradio's ``feedback_value``: one entry per group of answer messages on screen."""
    out: list[str | None] = []
    previous = None
    for index in tree.path():
        node = tree.nodes[index]
        if not node.messages:
            continue
        if node.role == "assistant" and previous != "assistant":
            out.append({"up": "Like", "down": "Dislike"}.get(node.feedback or ""))
        previous = node.role
    return out


def chat_update(tree: Tree, preset: LoadedPreset | None = None, lang: i18n.Lang = "en") -> Any:
    """The Chatbot showing ``tree``'s branch with its 👍/👎 (and the preset's welcome when empty)."""
    update: dict[str, Any] = {"value": tree.history(), "feedback_value": feedback_values(tree)}
    if preset is not None:
        placeholder, examples = welcome(preset, lang)
        update.update(placeholder=placeholder, examples=examples)
    return gr.update(**update)


class Conversations:
    """The page's handlers for the list of conversations; one instance per app."""

    def __init__(self, page: Page, chat: ChatPage) -> None:
        self.page = page
        self.chat = chat

    # --- showing ------------------------------------------------------------------------------------

    def show(self, conversation: Conversation, lang: i18n.Lang) -> list[Any]:
        """Outputs that show a conversation: chatbot, preset, controls, info, model, doc."""
        settings = conversation.settings
        preset = self.page.catalog.presets.get(settings.preset) if settings else None
        if preset is None or settings is None:  # settings from another app: keep the page's
            return [
                chat_update(conversation.tree),
                *[gr.skip()] * (len(self.page.shown_controls) + 3),
                doc_text(conversation),
            ]
        return [
            chat_update(conversation.tree, preset, lang),
            gr.update(value=preset.id, choices=preset_choices(self.page.catalog, lang)),
            *widget_updates(preset, settings.values),
            describe_preset(preset, lang),
            settings.model,
            doc_text(conversation),
        ]

    def _opened(self, restored: store.Restored, lang: i18n.Lang) -> Conversation:
        """A conversation from the browser, its answers left mid-stream marked as cut off."""
        conversation = restored.conversation
        for node in conversation.tree.nodes:
            if node.partial:
                node.messages = [*node.messages, notice_message(Notice("interrupted"), lang)]
                node.partial = False
        return conversation

    def start(self, kept: Any, document: str, conversation: Conversation, request: gr.Request) -> list[Any]:
        """On page load: the conversation the browser had open, else today's single kept
        conversation (format 1, which becomes the first of the list), else a new one."""
        lang = self.page.lang(request)
        restored = self._read(document) or store.restore(
            kept, self.page.catalog, upload_root(), self.page.limits
        )
        fresh = restored.conversation if restored else Conversation()
        self._take(conversation, self._opened(restored, lang) if restored else fresh)
        migrated = restored is not None and not document and kept is not None
        outputs = self.show(conversation, lang)
        if restored is None or conversation.settings is None:
            outputs = self._with_page_settings(outputs, conversation, lang)
        return [*outputs, None if migrated else gr.skip()]

    def _with_page_settings(
        self, outputs: list[Any], conversation: Conversation, lang: i18n.Lang
    ) -> list[Any]:
        """A conversation without usable settings keeps the page's (named in the visitor's language)."""
        preset = self.page.catalog.presets[self.page.default_preset]
        outputs[0] = chat_update(conversation.tree, preset, lang)
        outputs[1] = gr.update(choices=preset_choices(self.page.catalog, lang))
        outputs[2 + len(self.page.shown_controls)] = describe_preset(preset, lang)
        return outputs

    def _read(self, document: str) -> store.Restored | None:
        if (
            not isinstance(document, str)
            or not document
            or len(document) > self.page.limits.max_history_chars * 2
        ):
            return None
        try:
            value = json.loads(document)
        except (ValueError, RecursionError):
            return None
        return store.restore(value, self.page.catalog, upload_root(), self.page.limits)

    @staticmethod
    def _take(conversation: Conversation, other: Conversation) -> None:
        """Make the session's conversation object ``other`` (the session keeps that one object)."""
        conversation.__dict__.update(other.__dict__)

    def open(self, document: str, conversation: Conversation, request: gr.Request) -> list[Any]:
        """A conversation picked in the list (its document, from the browser)."""
        lang = self.page.lang(request)
        restored = self._read(document)
        if restored is None:
            return [gr.skip()] * (len(self.page.shown_controls) + 5)
        self._take(conversation, self._opened(restored, lang))
        return self.show(conversation, lang)

    def welcome(self, conversation: Conversation, preset_id: str, request: gr.Request) -> Any:
        """The empty chat's welcome and examples for the preset just picked."""
        preset = self.page.catalog.presets.get(preset_id)
        if preset is None:
            return gr.skip()
        placeholder, examples = welcome(preset, self.page.lang(request))
        return gr.update(placeholder=placeholder, examples=examples)

    def new_chat(self, conversation: Conversation, preset_id: str, *rest: Any) -> list[Any]:
        """New chat: an empty conversation with the settings the page shows now."""
        *widgets, model, request = rest
        self._take(conversation, Conversation())
        self.chat.keep_settings(conversation, preset_id, model, widgets)
        preset = self.page.catalog.presets.get(preset_id)
        return [chat_update(conversation.tree, preset, self.page.lang(request)), doc_text(conversation)]

    # --- keeping and files ------------------------------------------------------------------------------

    def persist(self, conversation: Conversation, preset_id: str, *rest: Any) -> list[Any]:
        """Once the conversation has settled: keep it (with the settings shown now) and refresh
        the export files. ``rest``: the controls, the model, the request."""
        *widgets, model, request = rest
        placeholder = gr.update(placeholder=str(i18n.text("placeholder", self.page.lang(request))))
        self.chat.keep_settings(conversation, preset_id, model, widgets)
        settings = conversation.settings
        preset = self.page.catalog.presets.get(preset_id)
        self.page.sweep_exports()
        if settings is None or preset is None or not conversation.tree.nodes:
            empty = gr.DownloadButton(value=None, interactive=False)
            return [doc_text(conversation), empty, empty, placeholder]
        as_json, as_md = self._export(conversation, settings, preset, request)
        return [
            doc_text(conversation),
            gr.DownloadButton(value=str(as_json), interactive=True),
            gr.DownloadButton(value=str(as_md), interactive=True),
            placeholder,
        ]

    def _folder(self, request: gr.Request) -> Path:
        folder = self.page.exports / hashlib.sha256(str(request.session_hash).encode()).hexdigest()[:24]
        folder.mkdir(exist_ok=True)
        folder.touch()  # its age says when this visitor last changed the conversation
        return folder

    def _export(
        self, conversation: Conversation, settings: Settings, preset: LoadedPreset, request: gr.Request
    ) -> tuple[Path, Path]:
        folder = self._folder(request)
        model_name = settings.model or preset.model
        attach = export_files(upload_root(), self.page.limits)
        document = tree_file.export_document(conversation, settings, model_name, attach)
        as_json = folder / "llmchat-conversation.json"
        as_json.write_text(json.dumps(document, ensure_ascii=False, indent=2), encoding="utf-8")
        as_md = folder / "llmchat-conversation.md"
        lang = self.page.lang(request)
        markdown = export_markdown(
            document["messages"], settings, preset.label_in(lang), model_name, lang, conversation.heading()
        )
        as_md.write_text(markdown, encoding="utf-8")
        return as_json, as_md

    def export_all(self, documents: str, request: gr.Request) -> Any:
        """ "Export all": every conversation the browser keeps (sent by it), as one file."""
        if not isinstance(documents, str) or len(documents) > MAX_ALL_CHARS:
            return gr.skip()
        try:
            values = json.loads(documents)
        except (ValueError, RecursionError):
            return gr.skip()
        if not isinstance(values, list):
            return gr.skip()
        attach = export_files(upload_root(), self.page.limits)
        exported = []
        for value in values[: tree_file.MAX_CONVERSATIONS]:
            restored = store.restore(value, self.page.catalog, upload_root(), self.page.limits)
            if restored is None or not restored.conversation.tree.nodes:
                continue
            settings = restored.settings or self._page_settings()
            preset = self.page.catalog.presets[settings.preset]
            model_name = settings.model or preset.model
            exported.append(tree_file.export_document(restored.conversation, settings, model_name, attach))
        path = self._folder(request) / "llmchat-conversations.json"
        path.write_text(tree_file.export_all(exported), encoding="utf-8")
        return gr.DownloadButton(value=str(path), visible=True)

    def _page_settings(self) -> Settings:
        return Settings.of(self.page.catalog.presets[self.page.default_preset])

    def import_file(self, file: str | None, conversation: Conversation, request: gr.Request) -> list[Any]:
        """Import: a file from "Export JSON" or "Export all" (or OpenAI messages). Every
        conversation in it is added to the list; the first is opened. A file that is not
        usable changes nothing and says why."""
        lang = self.page.lang(request)
        skip = [gr.skip()] * (len(self.page.shown_controls) + 5)
        if not file:
            return [*skip, gr.skip(), gr.skip()]
        name = Path(file).name.replace("`", "'")[:120]
        limit = self.page.limits.max_upload_bytes
        try:
            if Path(file).stat().st_size > limit:  # checked before reading it into memory
                raise ImportProblem("import_too_large", limit=f"{limit / 1_000_000:g}")
            data = Path(file).read_bytes()
            imported = tree_file.parse_import(data, self.page.catalog, upload_root(), limit, self.page.limits)
        except (ImportProblem, OSError) as exc:
            if isinstance(exc, ImportProblem):
                reason = i18n.text(exc.key, lang, **exc.params)
            else:
                reason = i18n.text("import_not_json", lang, detail=type(exc).__name__)
            failed = i18n.text("import_failed", lang, name=name, reason=reason)
            return [*skip, gr.update(value=failed, visible=True), gr.skip()]
        first, snapshot = imported[0]
        if len(imported) == 1:
            message = i18n.text("imported", lang, count=len(first.tree.history()), name=name)
        else:
            message = i18n.text("imported_all", lang, count=len(imported), name=name)
        if snapshot.missing_preset:
            message += " " + i18n.text("import_preset_missing", lang, preset=snapshot.missing_preset)
        for key, (given, used) in snapshot.clamped.items():
            message += " " + i18n.text("import_clamped", lang, name=key, given=given, used=used)
        if first.settings is None:
            first.settings = conversation.settings
        self._take(conversation, first)
        for other, _ in imported[1:]:
            other.settings = other.settings or first.settings
        rest = [json.loads(doc_text(c)) for c, _ in imported[1:]]
        return [
            *self.show(conversation, lang),
            gr.update(value=message, visible=True),
            json.dumps(rest, ensure_ascii=False) if rest else gr.skip(),
        ]
