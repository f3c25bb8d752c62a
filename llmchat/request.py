"""Turn what the visitor sees (history, controls) into the exact body sent to the server.

Pure functions, no I/O: the whole request is decided here, so tests can check it without a
server, and the app can log or show it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from llmchat.presets import LoadedPreset

Mode = Literal["chat", "qa"]
Message = dict[str, Any]


@dataclass(frozen=True)
class SamplingParams:
    """The values of the Parameters accordion at send time."""

    system_prompt: str
    temperature: float
    top_p: float
    max_tokens: int
    frequency_penalty: float
    presence_penalty: float
    seed: int | None

    @classmethod
    def from_preset(cls, preset: LoadedPreset) -> SamplingParams:
        s = preset.settings
        return cls(
            system_prompt=s.system_prompt,
            temperature=float(s.temperature),
            top_p=float(s.top_p),
            max_tokens=s.max_tokens,
            frequency_penalty=float(s.frequency_penalty),
            presence_penalty=float(s.presence_penalty),
            seed=s.seed,
        )


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
    if isinstance(content, list | tuple):
        return "".join(content_text(part) for part in content)
    return ""


def history_to_messages(history: list[Message]) -> list[Message]:
    """Convert the visible conversation into OpenAI messages.

    Leaves out llmchat's own notes, and user turns that never got an answer (an error happened
    and the visitor moved on): the model never saw those answered, and chat templates such as
    llama-2's require user and assistant turns to alternate.
    """
    turns: list[Message] = []
    for message in history:
        role = message.get("role")
        if role not in ("user", "assistant") or is_note(message):
            continue
        text = content_text(message.get("content"))
        if role == "assistant":
            if turns and turns[-1]["role"] == "assistant":
                turns[-1]["content"] += text
            elif turns:
                turns.append({"role": "assistant", "content": text})
            continue
        if turns and turns[-1]["role"] == "user":
            turns[-1] = {"role": "user", "content": text}  # the earlier one was never answered
        else:
            turns.append({"role": "user", "content": text})
    if turns and turns[-1]["role"] == "user":
        turns.pop()
    return turns


def build_messages(mode: Mode, system_prompt: str, history: list[Message], message: str) -> list[Message]:
    """System prompt first (when set), then the history in chat mode only, then the question."""
    messages: list[Message] = []
    if system_prompt.strip():
        messages.append({"role": "system", "content": system_prompt})
    if mode == "chat":
        messages.extend(history_to_messages(history))
    messages.append({"role": "user", "content": message})
    return messages


def build_request(preset: LoadedPreset, params: SamplingParams, messages: list[Message]) -> dict[str, Any]:
    """Keyword arguments for ``chat.completions.create``: exactly what the controls showed."""
    s = preset.settings
    body: dict[str, Any] = {
        "model": preset.model,
        "messages": messages,
        "stream": True,
        "temperature": params.temperature,
        "top_p": params.top_p,
        "max_tokens": params.max_tokens,
        "frequency_penalty": params.frequency_penalty,
        "presence_penalty": params.presence_penalty,
    }
    if params.seed is not None:
        body["seed"] = params.seed
    if s.stop:
        body["stop"] = list(s.stop)
    extra: dict[str, Any] = {
        key: value
        for key, value in (("top_k", s.top_k), ("min_p", s.min_p), ("repeat_penalty", s.repeat_penalty))
        if value is not None
    }
    extra.update(s.extra_body)
    if extra:
        body["extra_body"] = extra
    return body
