"""A conversation outside the running page: kept in the browser, exported, imported.

Three ways out and back in:

* **Browser storage** (``gr.BrowserState``): the Gradio history plus the settings, so a reload
  brings the conversation back. It comes back from the browser, so it is checked like any
  visitor input (:func:`restore`): only user/assistant messages, text, and attachments that are
  still in the upload folder.
* **Export JSON**: OpenAI messages (system prompt first, attachments as the model received them:
  text files inlined, images as ``data:`` URLs) plus the preset, model and every control's value
  (which controls, and where each is kept, comes from :mod:`llmchat.core.controls`).
* **Export Markdown** (written by the front end, in its reader's language): the same for people.

:func:`parse_import` reads an exported file (or a bare list of OpenAI messages) and either
returns a complete :class:`Snapshot` or raises :class:`ImportProblem` - never half of one, so
an invalid file changes nothing.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import mimetypes
import os
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from llmchat.core import controls
from llmchat.core.attachments import RequestFiles, image_type, is_uploaded
from llmchat.core.limits import DEFAULT_LIMITS, VisitorLimits
from llmchat.core.messages import Message, content_files, content_text, history_to_messages
from llmchat.core.presets import LoadedPreset, PresetCatalog
from llmchat.core.safe_markdown import safe_markdown, safe_message

FORMAT = "llmchat-conversation"
VERSION = 1
MAX_IMPORT_BYTES = DEFAULT_LIMITS.max_upload_bytes  # an Import is an upload
MAX_TEXT_CHARS = 1_000_000  # per message
MAX_HISTORY_MESSAGES = DEFAULT_LIMITS.max_history_messages
_IMAGE_SUFFIX = {"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "image/webp": ".webp"}


@dataclass(frozen=True)
class Settings:
    """The preset, model and controls a conversation was had with (the values the page shows).

    ``values`` holds every control a visitor sets (:data:`~llmchat.core.controls.VISITOR_CONTROLS`),
    checked; a file keeps each at the top level or under ``parameters`` as its ``stored`` says.
    """

    preset: str
    model: str  # "" = the preset's own
    values: dict[str, Any]

    @classmethod
    def of(cls, preset: LoadedPreset, model: str = "", **values: Any) -> Settings:
        """The preset's own values, with ``values`` instead where given (unchecked: for tests)."""
        own = {c.name: getattr(preset.settings, c.name) for c in controls.VISITOR_CONTROLS}
        return cls(preset.id, model, {**own, **values})

    def as_dict(self) -> dict[str, Any]:
        top = {c.name: self.values[c.name] for c in controls.VISITOR_CONTROLS if c.stored == "top"}
        parameters = {
            c.name: self.values[c.name] for c in controls.VISITOR_CONTROLS if c.stored == "parameters"
        }
        return {"preset": self.preset, **top, "model": self.model, "parameters": parameters}


@dataclass(frozen=True)
class Snapshot:
    """A conversation to show, and the settings to show with it (None: keep the current ones)."""

    history: list[dict[str, Any]]
    settings: Settings | None
    missing_preset: str | None = None  # the file named a preset this app does not have
    clamped: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # key -> (given, used instead)


class ImportProblem(Exception):
    """Why a file cannot be imported: a :data:`~llmchat.i18n.labels.LABELS` key and its values."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key, self.params = key, params


# --- browser storage ---------------------------------------------------------------------------


def _clean_block(block: Any, root: Path | None) -> Any:
    """One piece of a stored message's content, or None when it is not something we wrote.
    Text is made safe to show (:mod:`llmchat.core.safe_markdown`): the browser's copy is not trusted."""
    if isinstance(block, str):
        return safe_markdown(block[:MAX_TEXT_CHARS])
    if isinstance(block, dict) and block.get("type") == "text" and isinstance(block.get("text"), str):
        return {"type": "text", "text": safe_markdown(block["text"][:MAX_TEXT_CHARS])}
    files = content_files(block)
    if files and is_uploaded(files[0][0], root):
        path, name = files[0]
        # A kept conversation uses this upload: unused uploads are deleted by age (cache_sweep).
        with contextlib.suppress(OSError):
            os.utime(path)
        # With its type (guessed from its name here, not taken from the browser) an image is shown
        # as an image again after a reload, not as a file link.
        mime = mimetypes.guess_type(path)[0]
        return {"type": "file", "file": {"path": path, "orig_name": name, "mime_type": mime}}
    return None


def clean_history(
    value: Any, root: Path | None, limits: VisitorLimits = DEFAULT_LIMITS
) -> list[dict[str, Any]]:
    """A history from the browser, reduced to what llmchat itself puts there; junk is dropped.
    Attachments are kept only when they are in the upload folder ``root``.

    At most ``limits.max_history_messages`` messages and ``max_history_chars`` of text are kept,
    the newest ones.
    """
    if not isinstance(value, list):
        return []
    history: list[dict[str, Any]] = []
    chars = 0
    for message in reversed(value[-limits.max_history_messages :]):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            continue
        chars += len(content_text(message.get("content")))
        if chars > limits.max_history_chars:
            break
        content = message.get("content")
        blocks = content if isinstance(content, list) else [content]
        kept = [b for b in (_clean_block(block, root) for block in blocks) if b is not None]
        if not kept:
            continue
        clean: dict[str, Any] = {"role": message["role"], "content": kept}
        metadata = message.get("metadata")
        if isinstance(metadata, dict) and isinstance(metadata.get("title"), str) and metadata["title"]:
            meta: dict[str, Any] = {"title": safe_markdown(metadata["title"][:500])}
            if metadata.get("status") in ("pending", "done"):
                meta["status"] = "done"  # a stored "pending" spinner would spin forever
            if isinstance(metadata.get("duration"), int | float):
                meta["duration"] = float(metadata["duration"])
            clean["metadata"] = meta
        history.append(clean)
    history.reverse()
    return history


def stored(history: list[dict[str, Any]], settings: Settings) -> dict[str, Any]:
    """What the browser keeps for this visitor."""
    return {"format": FORMAT, "version": VERSION, "history": history, **settings.as_dict()}


def restore(
    value: Any, catalog: PresetCatalog, root: Path | None, limits: VisitorLimits = DEFAULT_LIMITS
) -> Snapshot | None:
    """The conversation the browser kept, checked; None when there is nothing usable."""
    if not isinstance(value, dict) or value.get("format") != FORMAT:
        return None
    history = clean_history(value.get("history"), root, limits)
    try:
        settings = settings_of_document(value, catalog)
    except ImportProblem:
        settings = None
    return Snapshot(history, settings) if history or settings else None


# --- export --------------------------------------------------------------------------------------


def export_files(root: Path | None, limits: VisitorLimits = DEFAULT_LIMITS) -> RequestFiles:
    """Attachments for an export: each file read once, and no more bytes than an Import takes,
    so every export can be imported again; what does not fit is named instead of embedded."""
    return RequestFiles(
        root,
        VisitorLimits(max_files=1_000, max_attachment_bytes=limits.max_upload_bytes // 2),
        over_limit_note=True,
    )


def openai_messages(
    history: list[dict[str, Any]], system_prompt: str, files: RequestFiles | None = None
) -> list[Message]:
    """The conversation as the model would receive it in chat mode (notes left out)."""
    messages = [{"role": "system", "content": system_prompt}] if system_prompt.strip() else []
    attach = (files or export_files(None)).history
    return messages + [m for m in history_to_messages(_closed(history), attach) if m.get("content") != ""]


def _closed(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The history with a trailing unanswered question kept (history_to_messages drops it)."""
    if history and history[-1].get("role") == "user":
        return [*history, {"role": "assistant", "content": ""}]
    return history


def export_json(messages: list[Message], settings: Settings, model_name: str) -> str:
    """``messages`` from :func:`openai_messages`."""
    document = {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **settings.as_dict(),
        "model": model_name,
        "messages": messages,
    }
    return json.dumps(document, ensure_ascii=False, indent=2)


# --- import --------------------------------------------------------------------------------------


def settings_of_document(
    document: dict[str, Any], catalog: PresetCatalog, clamped: dict[str, tuple[Any, Any]] | None = None
) -> Settings | None:
    """The settings of an exported or stored conversation, checked like the chat checks them.

    A value above the preset's own limit (Max tokens above ``max_tokens_limit``) is lowered to
    the limit (and recorded in ``clamped``): the file may come from another app or a hand, the
    server never gets more.
    """
    preset_id = document.get("preset")
    if not isinstance(preset_id, str) or preset_id not in catalog.presets:
        return None
    preset = catalog.presets[preset_id]
    given = document.get("parameters")
    given = given if isinstance(given, dict) else {}
    values: dict[str, Any] = {}
    for control in controls.VISITOR_CONTROLS:
        where = document if control.stored == "top" else given
        value = where.get(control.name, getattr(preset.settings, control.name))
        top = preset.limits.get(control.limited_by or "")
        if top is not None and isinstance(value, int | float) and not isinstance(value, bool) and value > top:
            if clamped is not None:
                clamped[control.name] = (value, top)
            value = top
        values[control.name] = value
    try:
        checked = controls.check(values, preset.limits, preset.id)
    except controls.ControlError as exc:
        raise ImportProblem("import_bad_parameters", detail=str(exc)) from None
    model = document.get("model")
    model = model if isinstance(model, str) and model != preset.model else ""
    return Settings(
        preset_id, model[:200], {c.name: getattr(checked, c.name) for c in controls.VISITOR_CONTROLS}
    )


def _save_image(url: str, index: int, folder: Path) -> dict[str, str]:
    """A ``data:`` image URL written into the upload folder, as a history file block."""
    header, _, payload = url.partition(",")
    try:
        data = base64.b64decode(payload, validate=True) if header.endswith(";base64") else b""
    except (binascii.Error, ValueError):
        data = b""
    mime = image_type(data[:16])
    if mime is None:
        raise ImportProblem("import_bad_image", index=index)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"image-{index}{_IMAGE_SUFFIX[mime]}"
    path.write_bytes(data)
    return {"path": str(path)}


def _content(message: dict[str, Any], index: int, folder: Path) -> Any:
    """An OpenAI message's content as Gradio history content."""
    content = message.get("content")
    if isinstance(content, str):
        return content[:MAX_TEXT_CHARS]
    if not isinstance(content, list):
        raise ImportProblem("import_bad_content", index=index)
    blocks: list[Any] = []
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            blocks.append(part["text"][:MAX_TEXT_CHARS])
        elif kind == "image_url" and message.get("role") == "user":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            if not isinstance(url, str):
                raise ImportProblem("import_bad_image", index=index)
            if url.startswith("data:"):
                blocks.insert(0, _save_image(url, index, folder))  # files first, as the chat shows them
            else:
                blocks.append(url)  # a remote image is never fetched: its link is kept as text
        else:
            raise ImportProblem("import_bad_content", index=index)
    if not blocks:
        raise ImportProblem("import_bad_content", index=index)
    return blocks


def load_json(data: bytes) -> Any:
    """An imported file's JSON (UTF-8, a BOM allowed), or :class:`ImportProblem`."""
    try:
        return json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ImportProblem("import_not_json", detail=str(exc).splitlines()[0][:120]) from None


def history_content(message: dict[str, Any], index: int, folder: Path) -> Any:
    """An OpenAI message's content as chat content, made safe to show (no image from another
    host, no form); its ``data:`` images are written under ``folder``."""
    return safe_message({"role": message.get("role"), "content": _content(message, index, folder)})["content"]


def parse_import(
    data: bytes, catalog: PresetCatalog, root: Path, max_bytes: int = MAX_IMPORT_BYTES
) -> Snapshot:
    """An exported conversation (or a bare list of OpenAI messages), checked completely. Its
    images are written under the upload folder ``root``, where the chat reads attachments."""
    if len(data) > max_bytes:
        raise ImportProblem("import_too_large", limit=f"{max_bytes / 1_000_000:g}")
    return parse_document(load_json(data), catalog, root)


def parse_document(document: Any, catalog: PresetCatalog, root: Path) -> Snapshot:
    """One exported conversation, already read as JSON (see :func:`parse_import`)."""
    if isinstance(document, list):
        document = {"messages": document}
    messages = document.get("messages") if isinstance(document, dict) else None
    if not isinstance(messages, list) or not messages:
        raise ImportProblem("import_not_conversation")
    if len(messages) > MAX_HISTORY_MESSAGES:
        raise ImportProblem("import_too_many", count=len(messages), limit=MAX_HISTORY_MESSAGES)
    folder = root / "llmchat-imports" / uuid.uuid4().hex
    history: list[dict[str, Any]] = []
    system_prompt: str | None = None
    for index, message in enumerate(messages, start=1):
        role = message.get("role") if isinstance(message, dict) else None
        if role == "system" and index == 1:
            system_prompt = content_text(_content(message, index, folder))
            continue
        if role not in ("user", "assistant"):
            raise ImportProblem("import_bad_role", index=index, role=str(role)[:20])
        # Shown in the chat: made safe; the system prompt above is not shown there and is kept as written.
        history.append({"role": role, "content": history_content(message, index, folder)})
    parameters = document.get("parameters")
    if system_prompt is not None and not (isinstance(parameters, dict) and "system_prompt" in parameters):
        document = {**document, "parameters": {**(parameters or {}), "system_prompt": system_prompt}}
    preset = document.get("preset")
    missing = preset if isinstance(preset, str) and preset not in catalog.presets else None
    clamped: dict[str, tuple[Any, Any]] = {}
    settings = settings_of_document(document, catalog, clamped)
    return Snapshot(history, settings, missing_preset=missing and missing[:80], clamped=clamped)
