"""A conversation as Markdown, for people to read, in the visitor's language (Export Markdown)."""

from __future__ import annotations

from llmchat.core import controls
from llmchat.core.conversation_file import Settings
from llmchat.core.messages import Message
from llmchat.i18n import Lang, label_text


def export_markdown(
    messages: list[Message],
    settings: Settings,
    preset_label: str,
    model_name: str,
    lang: Lang,
    title: str = "",
) -> str:
    """``messages`` from :func:`llmchat.core.conversation_file.openai_messages` (the branch on
    screen: Markdown is for reading, one answer per question); the system prompt and the
    controls' values are taken from ``settings``."""
    values = settings.values
    heading = " ".join(title.split()) or label_text("md_title", lang)
    lines = [f"# {heading}", ""]
    lines.append(label_text("md_settings", lang, preset=preset_label, model=model_name, mode=values["mode"]))
    shown = [
        f"{control.name} {values[control.name]}"
        for control in controls.VISITOR_CONTROLS
        if control.widget == "slider" or control.kind == "seed"
        if values[control.name] is not None
    ]
    lines += ["", " · ".join(shown), ""]
    if values["system_prompt"].strip():
        lines += [f"**{label_text('md_system', lang)}:** {values['system_prompt']}", ""]
    for message in messages:
        if message["role"] == "system":
            continue
        who = label_text("md_user" if message["role"] == "user" else "md_assistant", lang)
        icon = "🧑" if message["role"] == "user" else "🤖"
        content = message["content"]
        if isinstance(content, list):
            content = "\n\n".join(
                p.get("text", "") if p.get("type") == "text" else label_text("md_image", lang)
                for p in content
            )
        lines += ["---", "", f"### {icon} {who}", "", content, ""]
    return "\n".join(lines)
