"""The Gradio page: preset picker and mode above the chat, sampling controls in an accordion.

Only preset ids, labels and sampling values ever reach the browser. Server addresses and keys stay
in the server-side :class:`~llmchat.presets.PresetCatalog`; the chat function looks the preset up
by id on every turn, so a visitor cannot point the app at another server.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from llmchat.chat import MAX_MESSAGE_CHARS, make_chat_fn
from llmchat.client import ClientPool
from llmchat.presets import LoadedPreset, PresetCatalog
from llmchat.servers import ServerResolver

MODE_CHOICES = [("Chat — sends the conversation", "chat"), ("QA — one question at a time", "qa")]
PLACEHOLDER = "Ask a question"


def describe_preset(preset: LoadedPreset) -> str:
    """The short line under the picker: what the preset is and which model it asks."""
    parts = [f"**{preset.label}** · model `{preset.model}`"]
    if preset.settings.description:
        parts.append(preset.settings.description)
    return " — ".join(parts)


def problems_markdown(problems: list[str]) -> str:
    if not problems:
        return ""
    lines = "\n".join(f"- `{line}`" for line in problems)
    return f"⚠️ Some presets could not be loaded and were skipped:\n{lines}"


def seed_text(seed: int | None) -> str:
    return "" if seed is None else str(seed)


def preset_values(preset: LoadedPreset) -> list[Any]:
    """Every control's value for a preset, in the order of the controls."""
    s = preset.settings
    return [
        s.mode,
        s.system_prompt,
        s.temperature,
        s.top_p,
        gr.update(value=s.max_tokens, maximum=preset.slider_max_tokens),
        s.frequency_penalty,
        s.presence_penalty,
        seed_text(s.seed),
        s.show_stats,
        describe_preset(preset),
    ]


def build_demo(
    catalog: PresetCatalog,
    default_preset: str,
    *,
    concurrency: int = 64,
    pool: ClientPool | None = None,
    resolver: ServerResolver | None = None,
    max_message_chars: int = MAX_MESSAGE_CHARS,
) -> gr.Blocks:
    """Build the whole app. ``default_preset`` must be a key of ``catalog.presets``."""
    first = catalog.presets[default_preset]
    s = first.settings
    with gr.Blocks(title="llmchat", fill_height=True, analytics_enabled=False) as demo:
        with gr.Row(equal_height=False):
            preset = gr.Dropdown(
                choices=[(p.label, p.id) for p in catalog.presets.values()],
                value=first.id,
                label="Preset",
                scale=3,
            )
            mode = gr.Radio(MODE_CHOICES, value=s.mode, label="Mode", scale=3)
            clear = gr.Button("🗑️ Clear chat", scale=0, min_width=140, variant="secondary", size="md")
        info = gr.Markdown(describe_preset(first))
        gr.Markdown(problems_markdown(catalog.problems), visible=bool(catalog.problems))

        system_prompt = gr.Textbox(s.system_prompt, label="System prompt", lines=2, render=False)
        temperature = gr.Slider(0, 2, value=s.temperature, step=0.01, label="Temperature", render=False)
        top_p = gr.Slider(0, 1, value=s.top_p, step=0.01, label="Top P", render=False)
        max_tokens = gr.Slider(
            1, first.slider_max_tokens, value=s.max_tokens, step=1, label="Max tokens", render=False
        )
        frequency_penalty = gr.Slider(
            -2, 2, value=s.frequency_penalty, step=0.01, label="Frequency penalty", render=False
        )
        presence_penalty = gr.Slider(
            -2, 2, value=s.presence_penalty, step=0.01, label="Presence penalty", render=False
        )
        # A text box, not gr.Number: an empty Number has no default for API clients.
        seed = gr.Textbox(
            seed_text(s.seed), label="Seed", placeholder="empty = random", max_lines=1, render=False
        )
        show_stats = gr.Checkbox(s.show_stats, label="Show answer stats", render=False)
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

        chat = gr.ChatInterface(
            make_chat_fn(catalog, pool, resolver, max_message_chars),
            chatbot=gr.Chatbot(label="llmchat", scale=1, height="60vh", buttons=["copy", "copy_all"]),
            textbox=gr.Textbox(placeholder=PLACEHOLDER, show_label=False, submit_btn=True, stop_btn=True),
            additional_inputs=[preset, *controls],
            additional_inputs_accordion=gr.Accordion("Parameters", open=False, render=False),
            editable=True,
            api_name="chat",
            concurrency_limit=concurrency,
            fill_height=True,
        )

        preset.change(
            lambda preset_id: preset_values(catalog.get(preset_id)),
            inputs=preset,
            outputs=[*controls, info],
            api_name="preset_values",
            queue=False,
        )
        clear.click(
            lambda: ([], [], []),
            outputs=[chat.chatbot, chat.chatbot_state, chat.chatbot_value],
            api_visibility="private",
            queue=False,
        )
    return demo
