"""The page's settings handlers: the model picker, the preset's description, welcome and the
note when a preset switch changes values. :mod:`llmchat.web.app` lays the page out and wires
these to its components; the chat is :mod:`llmchat.web.chat_page`, the saved conversations
:mod:`llmchat.web.conversations`.

Every handler that writes text for people takes the ``gr.Request`` to answer in the visitor's
language; every value that comes from the browser (the picked model) is checked before it is used.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import gradio as gr

from llmchat.core import controls
from llmchat.core.conversation_file import Settings
from llmchat.core.limits import DEFAULT_LIMITS, VisitorLimits
from llmchat.core.presets import LoadedPreset, PresetCatalog
from llmchat.core.safe_markdown import safe_markdown
from llmchat.engine.models import ModelDirectory, choices
from llmchat.web import i18n
from llmchat.web.controls_ui import values_of
from llmchat.web.i18n import Lang, request_lang

EXPORT_TTL = 600.0  # seconds an export file is kept for its download button
MAX_EXAMPLES = 4


def describe_preset(preset: LoadedPreset, lang: Lang = "en") -> str:
    """The short line under the picker: the preset, its model and its description, in ``lang``."""
    parts = [f"**{preset.label_in(lang)}** · `{preset.model}`"]
    description = preset.description_in(lang)
    if description:
        parts.append(description)
    return safe_markdown(" — ".join(parts))


def preset_choices(catalog: PresetCatalog, lang: Lang) -> list[tuple[str, str]]:
    """The preset picker's choices, named in ``lang``."""
    return [(p.label_in(lang), p.id) for p in catalog.presets.values()]


def welcome(preset: LoadedPreset, lang: Lang) -> tuple[str, list[dict[str, str]]]:
    """The empty chat's welcome (Markdown) and example prompts, the preset's own or the page's."""
    s = preset.settings
    title = (s.welcome_ja if lang == "ja" else "") or s.welcome or i18n.text("welcome", lang)
    examples = (s.examples_ja if lang == "ja" else []) or s.examples
    if not examples:
        examples = [i18n.text(f"example_{n}", lang) for n in range(1, 4)]
    prompts = [{"text": text, "display_text": text} for text in examples[:MAX_EXAMPLES]]
    hint = i18n.text("welcome_hint", lang)
    return safe_markdown(f"### {title}\n\n{hint}"), prompts


def _shown(control: controls.Control, value: Any, lang: Lang) -> str:
    if control.name == "mode" and value in control.choices:
        return i18n.text(f"mode_{value}", lang).split(" ")[0]
    return "–" if value in (None, "") else str(value)


def _same(control: controls.Control, a: Any, b: Any) -> bool:
    if control.widget == "slider" and isinstance(a, int | float) and isinstance(b, int | float):
        return abs(float(a) - float(b)) < 1e-9
    return a == b or (a in (None, "") and b in (None, ""))


def switch_note(shown: dict[str, Any], old: LoadedPreset | None, preset: LoadedPreset, lang: Lang) -> str:
    """The one line that says which values the visitor set a preset switch replaced (empty: none).

    ``shown``: the controls as they were; ``old``: the preset they came from (a value that is not
    that preset's own is one the visitor set). A value the new preset keeps is not mentioned.
    """
    changed = []
    for control in controls.VISITOR_CONTROLS:
        before = shown.get(control.name)
        after = control.to_widget(getattr(preset.settings, control.name))
        own = control.to_widget(getattr(old.settings, control.name)) if old is not None else after
        if _same(control, before, after) or _same(control, before, own):
            continue
        name = i18n.text(control.label, lang)
        if control.kind == "text" or control.widget == "checkbox":
            changed.append(i18n.text("note_replaced", lang, name=name))
        else:
            changed.append(f"{name} {_shown(control, before, lang)} → {_shown(control, after, lang)}")
    if not changed:
        return ""
    return i18n.text("note_switched", lang, preset=preset.label_in(lang), changes=" · ".join(changed))


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
        default_preset: str | None = None,
    ) -> None:
        self.catalog = catalog
        self.default_preset = default_preset or next(iter(catalog.presets))
        self.shown_controls = controls.VISITOR_CONTROLS
        self.models = models
        self.forced = forced
        self.limits = limits
        self.exports = Path(tempfile.mkdtemp(prefix="llmchat-exports-"))
        atexit.register(shutil.rmtree, self.exports, ignore_errors=True)

    def sweep_exports(self) -> None:
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

    def preset_switched(self, conversation: Any, preset_id: str, *rest: Any) -> Any:
        """A preset was picked: a note naming the values the visitor had set that it replaced.
        ``rest``: the controls as they were (Gradio reads the inputs when the event fires, before
        the new preset's values are shown), the request. The preset they came from is the one
        the conversation was last kept with (the page's default for a new one)."""
        *widgets, request = rest
        preset = self.catalog.presets.get(preset_id)
        if preset is None:
            return gr.skip()
        settings = getattr(conversation, "settings", None)
        old = self.catalog.presets.get(settings.preset if settings else self.default_preset)
        note = switch_note(values_of(widgets), old, preset, self.lang(request))
        return gr.update(value=note, visible=bool(note))

    def describe(self, preset_id: str, request: gr.Request) -> Any:
        """The preset's line, in the visitor's language."""
        preset = self.catalog.presets.get(preset_id)
        return gr.skip() if preset is None else describe_preset(preset, self.lang(request))
