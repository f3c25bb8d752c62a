"""The Gradio page: preset, model and mode above the chat, sampling controls in an accordion,
export and import under it.

Only preset ids, labels, model names and sampling values ever reach the browser. Server
addresses and keys stay in the server-side :class:`~llmchat.core.presets.PresetCatalog`; the chat
function looks the preset up by id on every turn and re-checks the picked model, so a visitor
cannot point the app at another server or send the server a model name of their own.

Labels are ``gr.I18n`` keys translated in the browser; everything the server writes (notices,
the model status, import messages) is rendered in the visitor's language (:mod:`llmchat.web.i18n`).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import gradio as gr
from gradio.components.multimodal_textbox import MultimodalData
from pydantic import model_validator
from starlette.middleware import Middleware

from llmchat.core.attachments import upload_root
from llmchat.core.limits import DEFAULT_LIMITS, VisitorLimits
from llmchat.core.messages import Mode
from llmchat.core.presets import PresetCatalog
from llmchat.core.safe_markdown import safe_reply
from llmchat.engine.chat import Reply, make_chat_fn
from llmchat.engine.errors import Notice
from llmchat.engine.fairness import DEFAULT_PER_ADDRESS, DEFAULT_PER_VISITOR, FairShare, visitor
from llmchat.engine.models import ModelDirectory
from llmchat.engine.servers import ServerResolver
from llmchat.engine.stream import ClientPool
from llmchat.web import csp, i18n
from llmchat.web.cache_sweep import CacheSweeper
from llmchat.web.handlers import Page, describe_preset, preset_values, seed_text
from llmchat.web.i18n import label
from llmchat.web.route_guard import PrivateRouteGuard

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
_IMAGE_REFUSAL_WORDS = ("image", "vision", "multimodal", "multi-modal")
_HTTP_400 = "⚠️ The server rejected the request (HTTP 400)"


class _MessageData(MultimodalData):
    """The message box's data, which also accepts a plain string (text-only API clients)."""

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        return {"text": value, "files": []} if isinstance(value, str) else value


def message_box(**kwargs: Any) -> gr.MultimodalTextbox:
    """Gradio's MultimodalTextbox whose data model also takes a plain string, so that
    ``client.predict("hello", api_name="/chat")`` goes on working as before attachments.

    The data model is set on the instance: subclassing a component would make Gradio write a
    ``.pyi`` stub next to this module at import time.
    """
    box = gr.MultimodalTextbox(**kwargs)
    box.data_model = _MessageData
    return box


class ChatApp(gr.Blocks):
    """``gr.Blocks`` that brings its own launch settings, whoever launches it (the CLI, the
    tests, ``gradio gradio_app.py``, Spaces): translations, the Content-Security-Policy
    (:mod:`llmchat.web.csp`), the upload size limit, the guard of the page's private handlers, and
    the sweep of unused uploads."""

    llmchat_i18n: gr.I18n | None = None
    llmchat_limits: VisitorLimits = DEFAULT_LIMITS
    llmchat_sweeper: CacheSweeper | None = None

    def page_only_names(self) -> set[str]:
        """API names of the handlers only the page itself calls: every one not in the API docs
        (ours are private; ChatInterface's own are "undocumented")."""
        return {str(fn.api_name) for fn in self.fns.values() if fn.api_visibility != "public"}

    def logged_out(self, cookies: dict[str, str]) -> bool:
        """True when the app requires a login (``--auth``) and these cookies hold none; the same
        check as Gradio's own ``login_check``."""
        app = getattr(self, "server_app", None)
        if app is None or app.auth is None or app.auth_dependency is not None:
            return False
        token = cookies.get(f"access-token-{app.cookie_id}") or cookies.get(
            f"access-token-unsecure-{app.cookie_id}"
        )
        return app.tokens.get(token) is None

    def launch(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("i18n", self.llmchat_i18n)
        kwargs.setdefault("max_file_size", self.llmchat_limits.max_upload_bytes)
        # Gradio's run history page (/gradio_api/runs) records API calls in the browser: a chat
        # keeps its own conversations, so it is off.
        kwargs.setdefault("run_history", False)
        app_kwargs = dict(kwargs.get("app_kwargs") or {})
        guard = Middleware(PrivateRouteGuard, private_names=self.page_only_names, logged_out=self.logged_out)
        app_kwargs["middleware"] = [*app_kwargs.get("middleware", []), guard]
        kwargs["app_kwargs"] = app_kwargs
        if self.llmchat_sweeper is None:
            self.llmchat_sweeper = CacheSweeper(Path(upload_root()), self.llmchat_limits.keep_uploads_seconds)
        self.llmchat_sweeper.start()
        return super().launch(*args, **csp.launch_options(kwargs))

    def close(self, *args: Any, **kwargs: Any) -> Any:
        if self.llmchat_sweeper is not None:
            self.llmchat_sweeper.stop()
        return super().close(*args, **kwargs)


def problems_markdown(problems: list[str]) -> str:
    if not problems:
        return ""
    lines = "\n".join(f"- `{line}`" for line in problems)
    return f"{label('presets_skipped')}\n{lines}"


def explain_image_refusal(reply: Reply) -> Reply:
    """A server's HTTP 400 about images becomes a notice saying what to do about it."""
    if not isinstance(reply, list):
        return reply
    out = []
    for message in reply:
        title = (message.get("metadata") or {}).get("title")
        body = message.get("content")
        if title == _HTTP_400 and isinstance(body, str):
            said = body.split("\n\n")[0]
            if any(word in said.lower() for word in _IMAGE_REFUSAL_WORDS):
                title, text = i18n.english_notice("images_refused", said=said)
                message = Notice(title, text).as_message()
        out.append(message)
    return out


def _browser_secret(catalog: PresetCatalog) -> str:
    """BrowserState encrypts with a secret that the page itself receives, so it protects
    nothing; a stable one per installation just lets a kept conversation outlive a restart."""
    folders = sorted({str(p.path.parent.resolve()) for p in catalog.presets.values()})
    return hashlib.sha256(("llmchat:" + "|".join(folders)).encode()).hexdigest()[:32]


def build_demo(
    catalog: PresetCatalog,
    default_preset: str,
    *,
    concurrency: int = 64,
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
    s = first.settings
    forced = i18n.normalize_lang(lang) or i18n.normalize_lang(getattr(s, "lang", None))
    pool = pool or ClientPool()
    resolver = resolver or ServerResolver()
    models = ModelDirectory(pool, resolver)
    page = Page(catalog, models, forced, limits)
    inner = make_chat_fn(catalog, pool, resolver, limits, models)
    fair = FairShare(max_answers_per_visitor, max_answers_per_address)

    async def chat(
        message: str | dict[str, Any],
        history: list[dict[str, Any]],
        preset: str,
        mode: Mode,
        system_prompt: str,
        temperature: float,
        top_p: float,
        max_tokens: int,
        frequency_penalty: float,
        presence_penalty: float,
        seed: str | int | None,
        show_stats: bool = True,
        model: str = "",
        request: gr.Request | None = None,
    ) -> AsyncIterator[Reply]:
        """One turn: the message (text, or {"text", "files"}) and every control; `model` empty
        means the preset's model. Yields the growing answer, made safe to show (no image from
        another host, no form: :mod:`llmchat.core.safe_markdown`)."""
        lang = page.lang(request)
        answer = functools.partial(
            inner, message, history, preset, mode, system_prompt, temperature, top_p, max_tokens,
            frequency_penalty, presence_penalty, seed, show_stats, model,
        )  # fmt: skip
        async for reply in fair.take_turn(fair.limits(*visitor(request)), answer):
            yield safe_reply(i18n.translate_reply(explain_image_refusal(reply), lang))

    with ChatApp(title="llmchat", fill_height=True, analytics_enabled=False) as demo:
        demo.llmchat_i18n = i18n.make_i18n(forced)
        demo.llmchat_limits = limits
        kept = gr.BrowserState(None, storage_key=STORAGE_KEY, secret=_browser_secret(catalog))
        with gr.Row(equal_height=False):
            preset = gr.Dropdown(
                choices=[(p.label, p.id) for p in catalog.presets.values()],
                value=first.id,
                label=label("preset"),
                info=label("preset_info"),
                scale=3,
                elem_id="llmchat-preset",
            )
            # In the picker's own toolbar: asks the server for its models again.
            refresh = gr.Button("🔄", size="sm")
            model = gr.Dropdown(
                choices=[(first.model, "")],
                value="",
                label=label("model"),
                info=" ",
                allow_custom_value=True,  # API clients may name a listed model; chat() checks it
                scale=3,
                elem_id="llmchat-model",
                buttons=[refresh],
            )
            mode_choices = [(label("mode_chat"), "chat"), (label("mode_qa"), "qa")]
            mode = gr.Radio(mode_choices, value=s.mode, label=label("mode"), scale=3, elem_id="llmchat-mode")
            clear = gr.Button(
                label("clear"),
                scale=0,
                min_width=140,
                variant="secondary",
                size="md",
                elem_id="llmchat-clear",
            )
        info = gr.Markdown(describe_preset(first))
        gr.Markdown(problems_markdown(catalog.problems), visible=bool(catalog.problems))

        system_prompt = gr.Textbox(s.system_prompt, label=label("system_prompt"), lines=2, render=False)
        temperature = gr.Slider(
            0, 2, value=s.temperature, step=0.01, label=label("temperature"), render=False
        )
        top_p = gr.Slider(0, 1, value=s.top_p, step=0.01, label=label("top_p"), render=False)
        max_tokens = gr.Slider(
            1, first.slider_max_tokens, value=s.max_tokens, step=1, label=label("max_tokens"), render=False
        )
        frequency_penalty = gr.Slider(
            -2, 2, value=s.frequency_penalty, step=0.01, label=label("frequency_penalty"), render=False
        )
        presence_penalty = gr.Slider(
            -2, 2, value=s.presence_penalty, step=0.01, label=label("presence_penalty"), render=False
        )
        # A text box, not gr.Number: an empty Number has no default for API clients.
        seed = gr.Textbox(
            seed_text(s.seed),
            label=label("seed"),
            placeholder=label("seed_placeholder"),
            max_lines=1,
            render=False,
        )
        show_stats = gr.Checkbox(s.show_stats, label=label("show_stats"), render=False)
        controls = [
            mode,
            system_prompt,
            temperature,
            top_p,
            max_tokens,
            frequency_penalty,
            presence_penalty,
            seed,
            show_stats,
        ]

        chat_ui = gr.ChatInterface(
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
            additional_inputs=[preset, *controls, model],
            additional_inputs_accordion=gr.Accordion(label("parameters"), open=False, render=False),
            editable=True,
            api_name="chat",
            concurrency_limit=concurrency,
            fill_height=True,
        )
        with gr.Row():
            export_json = gr.DownloadButton(
                label("export_json"), size="sm", interactive=False, scale=0, elem_id="llmchat-export-json"
            )
            export_md = gr.DownloadButton(
                label("export_markdown"), size="sm", interactive=False, scale=0, elem_id="llmchat-export-md"
            )
            import_json = gr.UploadButton(
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
            import_json.api_info = functools.cache(import_json.api_info)  # type: ignore[method-assign]
        import_status = gr.Markdown(visible=False, elem_id="llmchat-import-status")

        conversation = [chat_ui.chatbot, chat_ui.chatbot_state, chat_ui.chatbot_value]
        shown = [*conversation, preset, *controls, info, model]
        private: dict[str, Any] = {"api_visibility": "private"}

        # .input, not .change: restoring a conversation sets the preset without resetting controls.
        preset.input(
            lambda preset_id: preset_values(catalog.get(preset_id)),
            inputs=preset,
            outputs=[*controls, info],
            api_name="preset_values",
            queue=False,
        ).then(page.preset_models, inputs=preset, outputs=model, **private)
        refresh.click(page.refresh_models, inputs=[preset, model], outputs=model, **private)
        clear.click(lambda: ([], [], []), outputs=conversation, queue=False, **private)
        # Keep the conversation (browser storage, export files) once it has settled: the chat's
        # change event fires for every streamed piece, so the browser waits until nothing has
        # changed for a moment and no answer is streaming, then presses a hidden button.
        # (ChatInterface's chatbot_state would be the natural trigger, but it is set with
        # queue=False, and Gradio fires no change event for those.)
        save = gr.Button("save", visible="hidden", elem_id="llmchat-save")
        save.click(
            page.persist,
            inputs=[chat_ui.chatbot, preset, *controls, model],
            outputs=[kept, export_json, export_md, chat_ui.textbox],
            concurrency_limit=None,
            show_progress="hidden",
            **private,
        )
        chat_ui.chatbot.change(None, js=SAVE_WHEN_SETTLED_JS, **private)
        demo.load(page.restore, inputs=kept, outputs=shown, queue=False, **private).then(
            page.model_picker, inputs=[preset, model], outputs=model, **private
        )
        import_json.upload(
            page.import_file, inputs=import_json, outputs=[*shown, import_status], **private
        ).then(page.model_picker, inputs=[preset, model], outputs=model, **private)
        if forced:
            script = i18n.force_locale_js(forced)
            if script:
                demo.load(None, js=script, **private)
    return demo
