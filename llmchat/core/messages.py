"""Turn what the visitor sees (history, controls) into the exact body sent to the server.

Pure functions, no I/O: the whole request is decided here, so tests can check it without a
server, and the app can log or show it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel

from llmchat.core import controls
from llmchat.core.presets import LoadedPreset

Mode = Literal["chat", "qa"]
Message = dict[str, Any]
Part = dict[str, Any]  # an OpenAI content part: {"type": "text", ...} or {"type": "image_url", ...}
Content = str | list[Part]
# Turns the attachments of an earlier turn, (path, name) pairs, into content parts. The caller
# supplies it (llmchat.core.attachments.RequestFiles.history) so that this module stays free of I/O.
Attach = Callable[[list[tuple[str, str | None]]], list[Part]]
# Control characters no model needs (NUL, escape sequences...) that some servers reject, and lone
# UTF-16 surrogates, which JSON can carry ("\ud800") but UTF-8 cannot encode: the request to the
# server would fail to serialise.
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATES = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """Text safe to send: control characters dropped, lone surrogates replaced by U+FFFD (�)."""
    return _SURROGATES.sub("\ufffd", _CONTROL_CHARS.sub("", text))


def is_note(message: Message) -> bool:
    """True for messages llmchat adds itself (errors, "cut off" marks): never sent to the model.

    Notes are the chat messages that carry a ``metadata`` title; Gradio shows them as a titled box.
    """
    metadata = message.get("metadata") or {}
    return bool(metadata.get("title"))


def content_text(content: Any) -> str:
    """The text of a Gradio message ``content``: a string, or (Gradio 6) a list of blocks."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        if content.get("type") == "text":
            return str(content.get("text", ""))
        return ""
    if isinstance(content, list):  # Gradio's blocks are flat: a nested list is not text
        return "".join(content_text(part) for part in content if not isinstance(part, list))
    return ""  # a tuple is a file (Gradio's older form), a dict without "text" a file or component


def content_files(content: Any) -> list[tuple[str, str | None]]:
    """The attachments in a Gradio message ``content``: ``(path, name)`` pairs, in order.

    Gradio 6 keeps a multimodal turn as a list mixing text and files, in two shapes: the
    Chatbot's ``{"type": "file", "file": {"path", "orig_name"}}`` blocks (browser sessions), and
    the ``{"path": ...}`` dicts ChatInterface appends for API sessions. A tuple is Gradio's older
    single-file form.
    """
    if isinstance(content, tuple):
        return [(str(content[0]), None)] if content and isinstance(content[0], str) else []
    if isinstance(content, dict):
        if content.get("type") == "file" or "file" in content:
            file = content.get("file")
            if isinstance(file, dict) and isinstance(file.get("path"), str):
                name = file.get("orig_name")
                return [(file["path"], name if isinstance(name, str) else None)]
            return []
        if isinstance(content.get("path"), str) and content.get("type") in (None, "file"):
            name = content.get("orig_name")
            return [(content["path"], name if isinstance(name, str) else None)]
        return []
    if isinstance(content, list):
        return [pair for part in content for pair in content_files(part)]
    return []


def compose_content(text: str, parts: list[Part]) -> Content:
    """One user turn: inlined text files, then the typed text; images as parts after it.

    Without images the content stays a plain string, which every server accepts.
    """
    texts = [str(p.get("text", "")) for p in parts if p.get("type") == "text"]
    images = [p for p in parts if p.get("type") != "text"]
    body = "\n\n".join(t for t in [*texts, text] if t)
    if not images:
        return body
    return [{"type": "text", "text": body}, *images] if body else images


def history_to_messages(history: list[Message], attach: Attach | None = None) -> list[Message]:
    """Convert the visible conversation into OpenAI messages.

    Leaves out llmchat's own notes, and user turns that never got an answer (an error happened
    and the visitor moved on): the model never saw those answered, and chat templates such as
    llama-2's require user and assistant turns to alternate. A user turn's attachments are
    converted by ``attach``; without it they are left out.
    """
    turns: list[Message] = []
    for message in history:
        role = message.get("role")
        if role not in ("user", "assistant") or is_note(message):
            continue
        content = message.get("content")
        text = clean_text(content_text(content))
        if role == "assistant":
            if turns and turns[-1]["role"] == "assistant":
                turns[-1]["content"] += text
            elif turns:
                turns.append({"role": "assistant", "content": text})
            continue
        files = content_files(content) if attach else []
        parts = attach(files) if attach and files else []
        user = {"role": "user", "content": compose_content(text, parts)}
        if turns and turns[-1]["role"] == "user":
            turns[-1] = user  # the earlier one was never answered
        else:
            turns.append(user)
    if turns and turns[-1]["role"] == "user":
        turns.pop()
    return turns


def build_messages(
    mode: Mode, system_prompt: str, history: list[Message], message: Content, attach: Attach | None = None
) -> list[Message]:
    """System prompt first (when set), then the history in chat mode only, then the question."""
    messages: list[Message] = []
    if system_prompt.strip():
        messages.append({"role": "system", "content": system_prompt})
    if mode == "chat":
        messages.extend(history_to_messages(history, attach))
    messages.append({"role": "user", "content": message})
    return messages


def build_request(preset: LoadedPreset, values: BaseModel, messages: list[Message]) -> dict[str, Any]:
    """Keyword arguments for ``chat.completions.create``: exactly what the controls showed.

    ``values`` are checked control values (:func:`llmchat.core.controls.check`); which of them are
    sent, and where, is each control's own ``send``. The preset's ``extra_body`` goes last.
    """
    body: dict[str, Any] = {"model": preset.model, "messages": messages, "stream": True}
    body.update(controls.request_fields(values))
    if preset.settings.extra_body:
        body["extra_body"] = {**body.get("extra_body", {}), **preset.settings.extra_body}
    return body
