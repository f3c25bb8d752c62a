"""Request building: what the server receives for a given history and set of controls."""

from __future__ import annotations

from pathlib import Path

from llmchat.core import controls
from llmchat.core.messages import build_messages, build_request, history_to_messages
from llmchat.core.presets import LoadedPreset, load_preset

VISITOR = {
    "system_prompt": "SYS",
    "temperature": 0.3,
    "top_p": 0.9,
    "max_tokens": 77.0,  # as a slider sends it
    "frequency_penalty": 0.5,
    "presence_penalty": -0.5,
    "seed": "42",  # as the Seed box holds it
}


def values(preset: LoadedPreset, **changes: object) -> object:
    """The controls of a turn as the chat service checks them: the visitor's over the preset's."""
    return controls.check({**preset.control_values(), **VISITOR, **changes}, preset.limits, preset.id)


def gradio_message(role: str, text: str, **extra: object) -> dict:
    """History as Gradio 6 hands it to the chat function: content is a list of blocks."""
    return {"role": role, "content": [{"type": "text", "text": text}], **extra}


HISTORY = [
    gradio_message("user", "first"),
    gradio_message("assistant", "answer one"),
    gradio_message("user", "second"),
    gradio_message("assistant", "answer two"),
]


def test_chat_mode_sends_system_prompt_then_history_then_question() -> None:
    assert build_messages("chat", "SYS", HISTORY, "third") == [
        {"role": "system", "content": "SYS"},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "answer one"},
        {"role": "user", "content": "second"},
        {"role": "assistant", "content": "answer two"},
        {"role": "user", "content": "third"},
    ]


def test_qa_mode_sends_only_system_prompt_and_question() -> None:
    assert build_messages("qa", "SYS", HISTORY, "third") == [
        {"role": "system", "content": "SYS"},
        {"role": "user", "content": "third"},
    ]


def test_empty_system_prompt_is_left_out() -> None:
    assert build_messages("qa", "  ", [], "q") == [{"role": "user", "content": "q"}]


def test_notes_and_unanswered_questions_are_not_sent() -> None:
    history = [
        gradio_message("user", "failed question"),
        gradio_message("assistant", "Nothing answers", metadata={"title": "⚠️ Cannot reach"}),
        gradio_message("user", "ok question"),
        gradio_message("assistant", "partial"),
        gradio_message("assistant", "cut off note", metadata={"title": "✂️ The answer was cut off"}),
    ]
    assert history_to_messages(history) == [
        {"role": "user", "content": "ok question"},
        {"role": "assistant", "content": "partial"},
    ]


def test_plain_string_content_is_accepted() -> None:
    history = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    assert history_to_messages(history) == history


def test_request_carries_every_control_value(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("model: m1\ntop_k: 40\nmin_p: 0.05\nstop: ['###']\nextra_body: {mirostat: 2}\n")
    preset = load_preset(path, environ={})
    body = build_request(preset, values(preset), [{"role": "user", "content": "q"}])
    assert body == {
        "model": "m1",
        "messages": [{"role": "user", "content": "q"}],
        "stream": True,
        "temperature": 0.3,
        "top_p": 0.9,
        "max_tokens": 77,
        "frequency_penalty": 0.5,
        "presence_penalty": -0.5,
        "seed": 42,
        "stop": ["###"],
        "extra_body": {"top_k": 40, "min_p": 0.05, "mirostat": 2},
    }


def test_no_seed_means_no_seed_key(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("")
    preset = load_preset(path, environ={})
    body = build_request(preset, values(preset, seed=""), [])
    assert "seed" not in body and "extra_body" not in body and "stop" not in body
