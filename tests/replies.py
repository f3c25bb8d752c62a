"""Reading the chat function's replies as a gradio_client caller gets them.

A reply is the answer as a string, or a list of messages in which llmchat's own parts (notes,
thinking, stats) carry a ``metadata`` title.
"""

from __future__ import annotations

from typing import Any


def _is_titled(message: dict[str, Any]) -> bool:
    return bool((message.get("metadata") or {}).get("title"))


def notes_of(reply: Any) -> dict[str, str]:
    """Title -> content of llmchat's own parts of a reply."""
    if isinstance(reply, str):
        return {}
    return {m["metadata"]["title"]: m["content"] for m in reply if _is_titled(m)}


def answer_of(reply: Any) -> str:
    """The model's answer in a reply, without llmchat's own parts."""
    if isinstance(reply, str):
        return reply
    return "".join(m["content"] for m in reply if not _is_titled(m))
