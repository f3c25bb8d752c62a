"""Running a turn through the chat service directly (no web page), as the page would show it."""

from __future__ import annotations

import asyncio
from typing import Any

from llmchat.engine.service import ChatService, TurnRequest
from llmchat.i18n import Lang
from llmchat.web import convert


def run_turn(
    service: ChatService,
    message: str,
    history: list[dict[str, Any]] | None = None,
    *,
    preset: str = "test-chat",
    lang: Lang = "en",
    files: list[str] | None = None,
    model: str = "",
    **controls: Any,
) -> list[Any]:
    """Every update of one turn, rendered as the chat shows it (a string or a list of messages)."""
    request = TurnRequest(
        message=message,
        preset=preset,
        files=files or [],
        history=history or [],
        controls=controls,
        model=model,
    )

    async def collect() -> list[Any]:
        return [convert.reply(view, lang) async for view in service.turn(request)]

    return asyncio.run(collect())
