"""The Gradio page: preset, model and mode above the chat, the other controls in an accordion,
export and import under it.

Only preset ids, labels, model names and control values ever reach the browser. Server
addresses and keys stay in the server-side :class:`~llmchat.core.presets.PresetCatalog`; every
turn goes through :class:`~llmchat.engine.service.ChatService`, which looks the preset up by id
and re-checks the controls and the picked model, so a visitor cannot point the app at another
server, send a model name of their own, or go past a preset's limits.

Labels are ``gr.I18n`` keys translated in the browser; what the server writes (notices, the
model status, import messages) is rendered in the visitor's language (:mod:`llmchat.i18n`).
"""

from __future__ import annotations

import functools
import hashlib
import inspect
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import gradio as gr

from llmchat.core.controls import VISITOR_CONTROLS
from llmchat.core.limits import DEFAULT_LIMITS, VisitorLimits
from llmchat.core.presets import LoadedPreset, PresetCatalog
from llmchat.engine.fairness import DEFAULT_PER_ADDRESS, DEFAULT_PER_VISITOR, FairShare, visitor
from llmchat.engine.models import ModelDirectory
from llmchat.engine.servers import ServerResolver
from llmchat.engine.service import ChatService, TurnRequest
from llmchat.engine.stream import ClientPool
from llmchat.settings import DEFAULT_CONCURRENCY
from llmchat.web import convert, i18n
from llmchat.web.chat_app import ChatApp, message_box, problems_markdown
from llmchat.web.controls_ui import make_widget, values_of, widget_updates, with_control_parameters
from llmchat.web.handlers import Page, describe_preset
from llmchat.web.i18n import label
from llmchat.web.uploads import upload_root

STORAGE_KEY = "llmchat-conversation"
SAVE_DELAY_MS = 400
SAVE_WHEN_SETTLED_JS = f"""() => {{
    const later = () => {{
        clearTimeout(window.llmchatSaveTimer);
        window.llmchatSaveTimer = setTimeout(() => {{
            if (document.querySelector("#llmchat-input .stop-button")) return later();  // answering
            document.getElementById("llmchat-save")?.click();
        }}, {SAVE_DELAY_MS});
    }};
    later();
}}"""
PRIVATE: dict[str, Any] = {"api_visibility": "private"}


def _browser_secret(catalog: PresetCatalog) -> str:
    """BrowserState encrypts with a secret that the page itself receives, so it protects
    nothing; a stable one per installation just lets a kept conversation outlive a restart."""
    folders = sorted({str(p.path.parent.resolve()) for p in catalog.presets.values()})
    return hashlib.sha256(("llmchat:" + "|".join(folders)).encode()).hexdigest()[:32]


@dataclass
class _Parts:
    """The page's components that events connect."""

    kept: gr.BrowserState
    preset: gr.Dropdown
    refresh: gr.Button
    model: gr.Dropdown
    clear: gr.Button
    info: gr.Markdown
    controls: list[gr.components.Component]  # one widget per VISITOR_CONTROLS entry, in order
    chat: gr.ChatInterface | None = None
    export_json: gr.DownloadButton | None = None
    export_md: gr.DownloadButton | None = None
    import_json: gr.UploadButton | None = None
    import_status: gr.Markdown | None = None


def make_chat_function(service: ChatService, page: Page) -> Any:
    """The ChatInterface function: ``(message, history, preset, <controls...>, model, request)``.

    Its parameters are the ``/chat`` API's parameters, named after the controls
    (:func:`~llmchat.web.controls_ui.with_control_parameters`), so ``gradio_client`` callers
    pass ``temperature=…`` by name as before.
    """

    async def chat(
        message: Any, history: list[dict[str, Any]], preset: str, *rest: Any
    ) -> AsyncIterator[Any]:
        *widgets, model, request = rest
        text, files = _split_message(message)
        session, address = visitor(request)
        turn = TurnRequest(
            message=text,
            preset=preset,
            files=files,
            history=history or [],
            controls=values_of(widgets),
            model=model or "",
            session=session,
            address=address,
        )
        lang = page.lang(request)
        async for view in service.turn(turn):
            yield convert.reply(view, lang)

    positional = inspect.Parameter.POSITIONAL_OR_KEYWORD
    before = [
        inspect.Parameter("message", positional, annotation=str | dict[str, Any]),
        inspect.Parameter("history", positional, annotation=list[dict[str, Any]]),
        inspect.Parameter("preset", positional, annotation=str),
    ]
    after = [
        inspect.Parameter("model", positional, default="", annotation=str),
        inspect.Parameter("request", positional, default=None, annotation=gr.Request | None),
    ]
    chat.__doc__ = (
        'One turn: the message (text, or {"text", "files"}) and every control; `model` empty means '
        "the preset's model. Yields the growing answer."
    )
    return with_control_parameters(chat, before, after)


def _split_message(message: Any) -> tuple[str, list[str]]:
    """``(text, file paths)``: a string from a text-only API client, or the multimodal box's
    ``{"text", "files"}`` where a file is a path or a ``{"path": ...}`` dict (``handle_file``)."""
    if message is None:
        return "", []
    if isinstance(message, str):
        return message, []
    if isinstance(message, dict):
        text = message.get("text")
        files = []
        for item in message.get("files") or []:
            path = item.get("path") if isinstance(item, dict) else item
            if isinstance(path, str) and path:
                files.append(path)
        return (text if isinstance(text, str) else ""), files
    return str(message), []


def _render_header(catalog: PresetCatalog, first: LoadedPreset) -> _Parts:
    """Preset, model, mode and Clear above the chat; the preset's description and problems."""
    kept = gr.BrowserState(None, storage_key=STORAGE_KEY, secret=_browser_secret(catalog))
    widgets: dict[str, gr.components.Component] = {}
    with gr.Row(equal_height=False):
        preset = gr.Dropdown(
            choices=[(p.label, p.id) for p in catalog.presets.values()],
            value=first.id,
            label=label("preset"),
            info=label("preset_info"),
            scale=3,
            elem_id="llmchat-preset",
        )
        refresh = gr.Button("🔄", size="sm")  # in the picker's own toolbar: asks the server again
        model = gr.Dropdown(
            choices=[(first.model, "")],
            value="",
            label=label("model"),
            info=" ",
            allow_custom_value=True,  # API clients may name a listed model; the service checks it
            scale=3,
            elem_id="llmchat-model",
            buttons=[refresh],
        )
        for control in VISITOR_CONTROLS:
            if control.placement == "toolbar":
                widgets[control.name] = make_widget(
                    control, first, scale=3, elem_id=f"llmchat-{control.name}"
                )
        clear = gr.Button(
            label("clear"), scale=0, min_width=140, variant="secondary", size="md", elem_id="llmchat-clear"
        )
    info = gr.Markdown(describe_preset(first))
    gr.Markdown(problems_markdown(catalog.problems), visible=bool(catalog.problems))
    for control in VISITOR_CONTROLS:
        if control.name not in widgets:  # rendered by ChatInterface, in the Parameters accordion
            widgets[control.name] = make_widget(control, first, render=False)
    controls = [widgets[control.name] for control in VISITOR_CONTROLS]
    return _Parts(kept, preset, refresh, model, clear, info, controls)


def _render_chat(parts: _Parts, chat: Any, concurrency: int) -> None:
    parts.chat = gr.ChatInterface(
        chat,
        multimodal=True,
        chatbot=gr.Chatbot(
            label="llmchat", scale=1, height="60vh", buttons=["copy", "copy_all"], elem_id="llmchat-chat"
        ),
        textbox=message_box(
            placeholder=label("placeholder"),
            show_label=False,
            submit_btn=True,
            stop_btn=True,
            file_count="multiple",
            sources=["upload"],
            elem_id="llmchat-input",
        ),
        additional_inputs=[parts.preset, *parts.controls, parts.model],
        additional_inputs_accordion=gr.Accordion(label("parameters"), open=False, render=False),
        editable=True,
        api_name="chat",
        concurrency_limit=concurrency,
        fill_height=True,
    )


def _render_footer(parts: _Parts) -> None:
    """Export and import under the chat."""
    with gr.Row():
        parts.export_json = gr.DownloadButton(
            label("export_json"), size="sm", interactive=False, scale=0, elem_id="llmchat-export-json"
        )
        parts.export_md = gr.DownloadButton(
            label("export_markdown"), size="sm", interactive=False, scale=0, elem_id="llmchat-export-md"
        )
        parts.import_json = gr.UploadButton(
            label("import_json"),
            file_types=[".json"],
            file_count="single",
            size="sm",
            scale=0,
            elem_id="llmchat-import",
        )
        # Gradio rebuilds every component's config for each new visitor, and UploadButton's
        # api_info (a pydantic JSON schema, built afresh each call) was half of that: ~1.7 ms per
        # visitor's first message. The schema never changes, so build it once.
        parts.import_json.api_info = functools.cache(parts.import_json.api_info)  # type: ignore[method-assign]
    parts.import_status = gr.Markdown(visible=False, elem_id="llmchat-import-status")


def _wire_events(demo: gr.Blocks, parts: _Parts, page: Page, catalog: PresetCatalog) -> None:
    chat = parts.chat
    assert chat is not None and parts.import_json is not None
    conversation = [chat.chatbot, chat.chatbot_state, chat.chatbot_value]
    shown = [*conversation, parts.preset, *parts.controls, parts.info, parts.model]
    picker = {"inputs": [parts.preset, parts.model], "outputs": parts.model, **PRIVATE}

    def preset_values(preset_id: str) -> list[Any]:
        """Every control's value for a preset, as the page applies them when it is picked."""
        preset = catalog.get(preset_id)
        return [*widget_updates(preset), describe_preset(preset)]

    # .input, not .change: restoring a conversation sets the preset without resetting controls.
    parts.preset.input(
        preset_values,
        inputs=parts.preset,
        outputs=[*parts.controls, parts.info],
        api_name="preset_values",
        queue=False,
    ).then(page.preset_models, inputs=parts.preset, outputs=parts.model, **PRIVATE)
    parts.refresh.click(page.refresh_models, **picker)
    parts.clear.click(lambda: ([], [], []), outputs=conversation, queue=False, **PRIVATE)
    # Keep the conversation (browser storage, export files) once it has settled: the chat's
    # change event fires for every streamed piece, so the browser waits until nothing has
    # changed for a moment and no answer is streaming, then presses a hidden button.
    # (ChatInterface's chatbot_state would be the natural trigger, but it is set with
    # queue=False, and Gradio fires no change event for those.)
    save = gr.Button("save", visible="hidden", elem_id="llmchat-save")
    save.click(
        page.persist_handler(),
        inputs=[chat.chatbot, parts.preset, *parts.controls, parts.model],
        outputs=[parts.kept, parts.export_json, parts.export_md, chat.textbox],
        concurrency_limit=None,
        show_progress="hidden",
        **PRIVATE,
    )
    chat.chatbot.change(None, js=SAVE_WHEN_SETTLED_JS, **PRIVATE)
    demo.load(page.restore, inputs=parts.kept, outputs=shown, queue=False, **PRIVATE).then(
        page.model_picker, **picker
    )
    parts.import_json.upload(
        page.import_file, inputs=parts.import_json, outputs=[*shown, parts.import_status], **PRIVATE
    ).then(page.model_picker, **picker)


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
    page = Page(catalog, models, forced, limits)
    with ChatApp(title="llmchat", fill_height=True, analytics_enabled=False) as demo:
        demo.llmchat_i18n = i18n.make_i18n(forced)
        demo.llmchat_limits = limits
        parts = _render_header(catalog, first)
        _render_chat(parts, make_chat_function(service, page), concurrency)
        _render_footer(parts)
        _wire_events(demo, parts, page, catalog)
        if forced:
            script = i18n.force_locale_js(forced)
            if script:
                demo.load(None, js=script, **PRIVATE)
    return demo
