"""The page's event handlers: the model picker, keeping the conversation in the browser,
export and import. :mod:`llmchat.web.app` lays the page out and wires these to its components.

Every handler that writes text for people takes the ``gr.Request`` to answer in the visitor's
language; every value that comes from the browser (the kept conversation, an imported file, the
picked model) is checked here or in :mod:`llmchat.core.conversation_file` before it is used.
"""

from __future__ import annotations

import atexit
import hashlib
import inspect
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import gradio as gr

from llmchat.core import controls
from llmchat.core import conversation_file as conversations
from llmchat.core.conversation_file import ImportProblem, Settings, Snapshot
from llmchat.core.limits import DEFAULT_LIMITS, VisitorLimits
from llmchat.core.presets import LoadedPreset, PresetCatalog
from llmchat.engine.models import ModelDirectory, choices
from llmchat.web import i18n
from llmchat.web.controls_ui import values_of, widget_updates, with_control_parameters
from llmchat.web.export import export_markdown
from llmchat.web.i18n import Lang, label, request_lang
from llmchat.web.uploads import upload_root

# Outputs that show a conversation: chatbot, its state and value, preset, the controls, info, model.
SHOWN = 3 + 1 + len(controls.VISITOR_CONTROLS) + 2
EXPORT_TTL = 600.0  # seconds an export file is kept for its download button


def describe_preset(preset: LoadedPreset) -> str:
    """The short line under the picker: the preset and its model (same in every language)."""
    parts = [f"**{preset.label}** · `{preset.model}`"]
    if preset.settings.description:
        parts.append(preset.settings.description)
    return " — ".join(parts)


def settings_of(preset: LoadedPreset, model: str, widgets: list[Any]) -> Settings:
    """The widgets' values as :class:`Settings`, to keep: each checked, and the preset's own
    value kept instead of one that is not valid (a half-typed seed, say)."""
    values = {**preset.control_values(), **values_of(widgets)}
    for _ in controls.VISITOR_CONTROLS:
        try:
            checked = controls.check(values, preset.limits, preset.id)
            break
        except controls.ControlError as exc:
            for name, *_ in exc.problems:
                values[name] = getattr(preset.settings, name)
    else:
        checked = controls.check(preset.control_values(), preset.limits, preset.id)
    return Settings(
        preset.id, model or "", {c.name: getattr(checked, c.name) for c in controls.VISITOR_CONTROLS}
    )


class Page:
    """The page's event handlers; one instance per app, shared by every visitor."""

    def __init__(
        self,
        catalog: PresetCatalog,
        models: ModelDirectory,
        forced: Lang | None,
        limits: VisitorLimits = DEFAULT_LIMITS,
    ) -> None:
        self.catalog = catalog
        self.models = models
        self.forced = forced
        self.limits = limits
        self.exports = Path(tempfile.mkdtemp(prefix="llmchat-exports-"))
        atexit.register(shutil.rmtree, self.exports, ignore_errors=True)

    def _sweep_exports(self) -> None:
        """Remove the export files of visitors who have not changed their conversation for a while
        (their download buttons were refreshed since, or the tab is gone)."""
        cutoff = time.time() - EXPORT_TTL
        for folder in self.exports.iterdir():
            try:
                if folder.stat().st_mtime < cutoff:
                    shutil.rmtree(folder, ignore_errors=True)
            except OSError:
                continue

    def lang(self, request: gr.Request | None) -> Lang:
        return request_lang(request, self.forced)

    async def _picker(self, preset_id: str, current: str, lang: Lang, refresh: bool) -> dict[str, Any]:
        """The picker for a preset: its choices, the status line, and the kept or reset value."""
        preset = self.catalog.get(preset_id)
        listing = await self.models.listing(preset, refresh=refresh)
        if listing.local:
            status = i18n.text("status_local_idle" if listing.online is None else "status_local_ready", lang)
        elif not listing.online:
            status = i18n.text("status_offline", lang)
        elif len(listing.models) == 1:
            status = i18n.text("status_online_one", lang)
        else:
            status = i18n.text("status_online", lang, count=len(listing.models))
        options = choices(preset, listing, preset.model)
        value = current if current in {v for _, v in options} else ""
        return gr.update(choices=options, value=value, info=status)

    async def model_picker(self, preset_id: str, current: str, request: gr.Request) -> dict[str, Any]:
        """The picker after the page loads or a conversation is imported: keeps a valid pick."""
        return await self._picker(preset_id, current, self.lang(request), refresh=False)

    async def refresh_models(self, preset_id: str, current: str, request: gr.Request) -> dict[str, Any]:
        """The 🔄 button: ask the server again, whatever is cached."""
        return await self._picker(preset_id, current, self.lang(request), refresh=True)

    async def preset_models(self, preset_id: str, request: gr.Request) -> dict[str, Any]:
        """Another preset was picked: its own model, and its server's list."""
        return await self._picker(preset_id, "", self.lang(request), refresh=False)

    def persist_handler(self) -> Any:
        """:meth:`persist` with a signature naming each control (Gradio reads it to pass the
        request, and the widgets' values in order)."""

        def persist(history: list[dict[str, Any]], preset_id: str, *rest: Any) -> list[Any]:
            return self.persist(history, preset_id, *rest)

        positional = inspect.Parameter.POSITIONAL_OR_KEYWORD
        before = [inspect.Parameter("history", positional), inspect.Parameter("preset_id", positional)]
        after = [
            inspect.Parameter("model", positional),
            inspect.Parameter("request", positional, annotation=gr.Request),
        ]
        return with_control_parameters(persist, before, after)

    def persist(self, history: list[dict[str, Any]], preset_id: str, *rest: Any) -> list[Any]:
        """After every change of the conversation: keep it in the browser, refresh the exports.

        ``rest`` is the controls' widgets (in ``VISITOR_CONTROLS`` order), the model, the request.
        """
        *widgets, model, request = rest
        # ChatInterface blanks the placeholder while it answers and never puts it back.
        placeholder = gr.update(placeholder=str(label("placeholder")))
        preset = self.catalog.presets.get(preset_id)
        if preset is None:
            return [gr.skip(), gr.skip(), gr.skip(), placeholder]
        settings = settings_of(preset, model, widgets)
        # The page sends the conversation it shows; like any visitor input it is checked and
        # bounded (attachments only from the upload folder, text and size limits).
        root = upload_root()
        history = conversations.clean_history(history or [], root, self.limits)
        self._sweep_exports()
        if not history:
            empty = gr.DownloadButton(value=None, interactive=False)
            return [conversations.stored([], settings), empty, empty, placeholder]
        model_name = settings.model or preset.model
        folder = self.exports / hashlib.sha256(str(request.session_hash).encode()).hexdigest()[:24]
        folder.mkdir(exist_ok=True)
        folder.touch()  # its age says when this visitor last changed the conversation
        files = conversations.export_files(root, self.limits)
        messages = conversations.openai_messages(history, settings.values["system_prompt"], files)
        as_json = folder / "llmchat-conversation.json"
        as_json.write_text(conversations.export_json(messages, settings, model_name), encoding="utf-8")
        as_md = folder / "llmchat-conversation.md"
        markdown = export_markdown(messages, settings, preset.label, model_name, self.lang(request))
        as_md.write_text(markdown, encoding="utf-8")
        return [
            conversations.stored(history, settings),
            gr.DownloadButton(value=str(as_json), interactive=True),
            gr.DownloadButton(value=str(as_md), interactive=True),
            placeholder,
        ]

    def _apply(self, snapshot: Snapshot) -> list[Any]:
        """Outputs that show a snapshot: chat (x3), preset, controls + info, model."""
        history = snapshot.history
        settings = snapshot.settings
        if settings is None:
            return [history, history, history, *[gr.skip()] * (SHOWN - 3)]
        preset = self.catalog.presets[settings.preset]
        shown = widget_updates(preset, settings.values)
        return [history, history, history, preset.id, *shown, describe_preset(preset), settings.model]

    def restore(self, value: Any) -> list[Any]:
        """On page load: the conversation this browser kept, if any."""
        snapshot = conversations.restore(value, self.catalog, upload_root(), self.limits)
        if snapshot is None:
            return [gr.skip()] * SHOWN
        return self._apply(snapshot)

    def import_file(self, file: str | None, request: gr.Request) -> list[Any]:
        """A file from Import JSON: everything it holds, or nothing and a message why."""
        lang = self.lang(request)
        if not file:
            return [*[gr.skip()] * SHOWN, gr.skip()]
        name = Path(file).name.replace("`", "'")[:120]
        limit = self.limits.max_upload_bytes
        try:
            if Path(file).stat().st_size > limit:  # checked before reading it into memory
                raise ImportProblem("import_too_large", limit=f"{limit / 1_000_000:g}")
            data = Path(file).read_bytes()
            snapshot = conversations.parse_import(data, self.catalog, upload_root(), limit)
        except ImportProblem as exc:
            reason = i18n.text(exc.key, lang, **exc.params)
            failed = i18n.text("import_failed", lang, name=name, reason=reason)
            return [*[gr.skip()] * SHOWN, gr.update(value=failed, visible=True)]
        except OSError as exc:
            reason = i18n.text("import_not_json", lang, detail=type(exc).__name__)
            failed = i18n.text("import_failed", lang, name=name, reason=reason)
            return [*[gr.skip()] * SHOWN, gr.update(value=failed, visible=True)]
        message = i18n.text("imported", lang, count=len(snapshot.history), name=name)
        if snapshot.missing_preset:
            message += " " + i18n.text("import_preset_missing", lang, preset=snapshot.missing_preset)
        for key, (given, used) in snapshot.clamped.items():
            message += " " + i18n.text("import_clamped", lang, name=key, given=given, used=used)
        return [*self._apply(snapshot), gr.update(value=message, visible=True)]
