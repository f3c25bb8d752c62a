"""The Gradio page: the chat fills it; conversations on the left, settings on the right.

Layout (:func:`_render_sidebars`, :func:`_render_chat`): the conversation list in a left
``gr.Sidebar``; preset, model, mode, parameters and export/import in a right one, closed at
first; between them the chat, as tall as the window, with the message box pinned under it. On a
phone both sidebars start folded (``llmchat.js``), so the chat and the box are the first screen.

Only preset ids, labels, model names and control values ever reach the browser. Server
addresses and keys stay in the server-side :class:`~llmchat.core.presets.PresetCatalog`; every
turn goes through :class:`~llmchat.engine.service.ChatService`, which looks the preset up by id
and re-checks the controls and the picked model, so a visitor cannot point the app at another
server, send a model name of their own, or go past a preset's limits.

Labels are ``gr.I18n`` keys translated in the browser; what the server writes (notices, the
model status, import messages, the welcome) is rendered in the visitor's language (:mod:`llmchat.i18n`).
Every handler only the page calls is ``api_visibility="private"``: not callable by name
(:mod:`llmchat.web.route_guard`); the API is ``/chat`` (:mod:`llmchat.web.api`) and ``/preset_values``.
"""

from __future__ import annotations

import functools
import hashlib
from typing import Any

import gradio as gr

from llmchat.core.controls import VISITOR_CONTROLS
from llmchat.core.conversation_store import Conversation
from llmchat.core.limits import DEFAULT_LIMITS, VisitorLimits
from llmchat.core.presets import LoadedPreset, PresetCatalog
from llmchat.engine.fairness import DEFAULT_PER_ADDRESS, DEFAULT_PER_VISITOR, FairShare
from llmchat.engine.models import ModelDirectory
from llmchat.engine.servers import ServerResolver
from llmchat.engine.service import ChatService
from llmchat.engine.stream import ClientPool
from llmchat.settings import DEFAULT_CONCURRENCY
from llmchat.web import i18n, page_assets
from llmchat.web.api import make_chat_function, wire_api
from llmchat.web.attach_check import AttachCheck
from llmchat.web.chat_app import ChatApp, message_box, problems_markdown
from llmchat.web.chat_page import ChatPage
from llmchat.web.context_gauge import GaugeHandler
from llmchat.web.controls_ui import make_widget, widget_updates
from llmchat.web.conversations import Conversations
from llmchat.web.events import Parts, wire_attach_check, wire_events, wire_gauge
from llmchat.web.handlers import Page, describe_preset, welcome
from llmchat.web.i18n import label
from llmchat.web.summary_note import SummaryActions
from llmchat.web.uploads import upload_root

STORAGE_KEY = "llmchat-conversation"  # format 1's one kept conversation (read once, then moved)
PRIVATE: dict[str, Any] = {"api_visibility": "private"}
LATEX = [
    {"left": "$$", "right": "$$", "display": True},
    {"left": "\\[", "right": "\\]", "display": True},
    {"left": "\\(", "right": "\\)", "display": False},
    {"left": "$", "right": "$", "display": False},
]


def _browser_secret(catalog: PresetCatalog) -> str:
    """BrowserState encrypts with a secret that the page itself receives, so it protects
    nothing; a stable one per installation just lets a kept conversation outlive a restart."""
    folders = sorted({str(p.path.parent.resolve()) for p in catalog.presets.values()})
    return hashlib.sha256(("llmchat:" + "|".join(folders)).encode()).hexdigest()[:32]


def _render_sidebars(catalog: PresetCatalog, first: LoadedPreset) -> Parts:
    """The conversation list (left) and the settings (right)."""
    kept = gr.BrowserState(None, storage_key=STORAGE_KEY, secret=_browser_secret(catalog))
    # Each session gets a copy; the page load gives it a conversation of its own (a new id).
    conversation = gr.State(Conversation())
    with gr.Sidebar(label=label("conversations"), position="left", width=280, elem_id="llmchat-left"):
        new_chat = gr.Button(label("new_chat"), variant="primary", size="md", elem_id="llmchat-new-chat")
        gr.Textbox(
            placeholder=label("search"),
            show_label=False,
            container=False,
            lines=1,
            max_lines=1,
            elem_id="llmchat-search",
        )
        gr.HTML(
            '<div class="llmchat-list" role="list"></div>', elem_id="llmchat-conversations", padding=False
        )
    widgets: dict[str, gr.components.Component] = {}
    with gr.Sidebar(
        label=label("settings"), position="right", open=False, width=380, elem_id="llmchat-right"
    ):
        preset = gr.Dropdown(
            choices=[(p.label, p.id) for p in catalog.presets.values()],
            value=first.id,
            label=label("preset"),
            info=label("preset_info"),
            elem_id="llmchat-preset",
        )
        note = gr.Markdown(visible=False, elem_id="llmchat-preset-note")
        info = gr.Markdown(describe_preset(first), elem_id="llmchat-preset-info")
        # Drawn in the picker's own toolbar, which shows a plain string (its tooltip: llmchat.js).
        refresh = gr.Button("↻", size="sm", elem_id="llmchat-refresh")
        model = gr.Dropdown(
            choices=[(first.model, "")],
            value="",
            label=label("model"),
            info=" ",
            allow_custom_value=True,  # API clients may name a listed model; the service checks it
            elem_id="llmchat-model",
            buttons=[refresh],
        )
        for control in VISITOR_CONTROLS:
            if control.placement == "toolbar":
                widgets[control.name] = make_widget(control, first, elem_id=f"llmchat-{control.name}")
        with gr.Accordion(label("parameters"), open=False, elem_id="llmchat-parameters"):
            for control in VISITOR_CONTROLS:
                if control.name not in widgets:
                    widgets[control.name] = make_widget(control, first, elem_id=f"llmchat-{control.name}")
        with gr.Accordion(label("files"), open=False, elem_id="llmchat-files"):
            export_json = gr.DownloadButton(
                label("export_json"), size="sm", interactive=False, elem_id="llmchat-export-json"
            )
            export_md = gr.DownloadButton(
                label("export_markdown"), size="sm", interactive=False, elem_id="llmchat-export-md"
            )
            export_all = gr.Button(label("export_all"), size="sm", elem_id="llmchat-export-all")
            download_all = gr.DownloadButton(
                label("download_all"), size="sm", visible="hidden", elem_id="llmchat-download-all"
            )
            import_json = gr.UploadButton(
                label("import_json"),
                file_types=[".json"],
                file_count="single",
                size="sm",
                elem_id="llmchat-import",
            )
            # Gradio rebuilds every component's config for each new visitor, and UploadButton's
            # api_info (a pydantic JSON schema, built afresh each call) was half of that: ~1.7 ms
            # per visitor's first message. The schema never changes, so build it once.
            import_json.api_info = functools.cache(import_json.api_info)  # type: ignore[method-assign]
        import_status = gr.Markdown(visible=False, elem_id="llmchat-import-status")
        gr.Markdown(problems_markdown(catalog.problems), visible=bool(catalog.problems))
    controls = [widgets[control.name] for control in VISITOR_CONTROLS]
    return Parts(
        kept, conversation, preset, refresh, model, info, note, controls, new_chat,
        export_json, export_md, import_json, import_status, export_all, download_all,
    )  # fmt: skip


def _render_chat(parts: Parts, first: LoadedPreset) -> None:
    """The chat and the message box, with the hidden boxes the page's script talks through."""
    placeholder, examples = welcome(first, "en")
    with gr.Column(elem_id="llmchat-main"):
        with gr.Row(elem_id="llmchat-topbar", equal_height=True):
            gr.HTML(
                '<div class="llmchat-title" aria-live="polite"></div>', elem_id="llmchat-title", padding=False
            )
            parts.clear = gr.Button(
                label("clear"), size="sm", variant="secondary", scale=0, elem_id="llmchat-clear"
            )
        # The conversation's summary of its older turns, drawn by llmchat-summary.js (summary_note).
        gr.HTML('<div class="llmchat-summary-note"></div>', elem_id="llmchat-summary", padding=False)
        parts.chatbot = gr.Chatbot(
            show_label=False,
            height="100%",
            scale=1,
            buttons=["copy", "copy_all"],
            editable="user",
            feedback_options=("Like", "Dislike"),
            latex_delimiters=LATEX,
            placeholder=placeholder,
            examples=examples,
            elem_id="llmchat-chat",
        )
        # Why a file just attached was taken out of the box (llmchat.web.attach_check).
        parts.attach_note = gr.Markdown(visible=False, elem_id="llmchat-attach-note")
        parts.textbox = message_box(
            placeholder=label("placeholder"),
            show_label=False,
            submit_btn=True,
            stop_btn=False,
            file_count="multiple",
            sources=["upload"],
            autofocus=True,
            elem_id="llmchat-input",
        )
        # Filled by the gauge handler once the page has loaded (llmchat.web.context_gauge).
        parts.gauge = gr.HTML("", padding=False, elem_id="llmchat-context")
    hidden = {
        "doc": gr.Textbox(visible="hidden", elem_id="llmchat-doc"),
        "imports": gr.Textbox(visible="hidden", elem_id="llmchat-imports"),
        "action": gr.Textbox(visible="hidden", elem_id="llmchat-action"),
    }
    for name in ("open", "act", "save", "unclear"):
        hidden[name] = gr.Button(name, visible="hidden", elem_id=f"llmchat-{name}")
    hidden["pending"] = gr.State(None)
    hidden["cleared"] = gr.State(None)
    parts.hidden = hidden


def build_demo(
    catalog: PresetCatalog,
    default_preset: str,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    pool: ClientPool | None = None,
    resolver: ServerResolver | None = None,
    limits: VisitorLimits = DEFAULT_LIMITS,
    lang: str | None = None,
    max_answers_per_visitor: int = DEFAULT_PER_VISITOR,
    max_answers_per_address: int = DEFAULT_PER_ADDRESS,
) -> gr.Blocks:
    """Build the whole app. ``default_preset`` must be a key of ``catalog.presets``.

    ``lang`` ("en" or "ja", e.g. from ``--lang``) forces the page's language; otherwise the
    default preset's ``lang:`` does, and without either each visitor's browser decides.
    ``max_answers_per_*`` bound the answers one visitor streams at once (:mod:`llmchat.engine.fairness`).
    """
    first = catalog.presets[default_preset]
    forced = i18n.normalize_lang(lang) or i18n.normalize_lang(first.settings.lang)
    pool = pool or ClientPool()
    resolver = resolver or ServerResolver()
    models = ModelDirectory(pool, resolver)
    service = ChatService(
        catalog,
        limits=limits,
        upload_root=upload_root(),
        pool=pool,
        resolver=resolver,
        models=models,
        fair=FairShare(max_answers_per_visitor, max_answers_per_address),
    )
    page = Page(catalog, models, forced, limits, default_preset)
    chat = ChatPage(service, page)
    with ChatApp(title="llmchat", fill_height=True, fill_width=True, analytics_enabled=False) as demo:
        demo.llmchat_i18n = i18n.make_i18n(forced)
        demo.llmchat_limits = limits
        demo.llmchat_head = page_assets.head(forced)
        parts = _render_sidebars(catalog, first)
        _render_chat(parts, first)
        assert parts.textbox is not None
        wire_api(
            make_chat_function(service, page),
            parts.textbox,
            [parts.preset, *parts.controls, parts.model],
            concurrency,
        )

        def preset_values(preset_id: str) -> list[Any]:
            """Every control's value for a preset, as the page applies them when it is picked."""
            preset = catalog.get(preset_id)
            return [*widget_updates(preset), describe_preset(preset)]

        wire_events(demo, parts, page, chat, Conversations(page, chat), preset_values, concurrency)
        wire_gauge(parts, GaugeHandler(service, page), SummaryActions(service, page), concurrency)
        wire_attach_check(parts, AttachCheck(page))
        if forced:
            script = i18n.force_locale_js(forced)
            if script:
                demo.load(None, js=script, **PRIVATE)
    return demo
