"""The ``/chat`` API endpoint for ``gradio_client`` users, as ``gr.ChatInterface`` made it.

The page no longer uses ``gr.ChatInterface`` (it keeps a tree of variants, :mod:`llmchat.web.chat_page`),
but scripts written against it keep working: same endpoint name, same parameters in the same
order (the message, then the preset, every control by name, the model), same answers (a string,
or a list of messages when llmchat adds anything), and one ``Client`` is one conversation — its
history is kept in the API session's state, as ChatInterface kept it.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from contextlib import aclosing
from functools import wraps
from typing import Any

import gradio as gr

from llmchat.core.attachments import split_message
from llmchat.engine.fairness import visitor
from llmchat.engine.service import ChatService, TurnRequest
from llmchat.web import convert
from llmchat.web.controls_ui import values_of, with_control_parameters
from llmchat.web.handlers import Page


def make_chat_function(service: ChatService, page: Page) -> Any:
    """The chat function: ``(message, history, preset, <controls...>, model, request)``.

    Its parameters are the ``/chat`` API's parameters, named after the controls
    (:func:`~llmchat.web.controls_ui.with_control_parameters`), so ``gradio_client`` callers
    pass ``temperature=…`` by name as before.
    """

    async def chat(
        message: Any, history: list[dict[str, Any]], preset: str, *rest: Any
    ) -> AsyncIterator[Any]:
        *widgets, model, request = rest
        text, files = split_message(message)
        session, address = visitor(request)
        turn = TurnRequest(
            message=text,
            preset=preset,
            files=files,
            history=history or [],
            controls=values_of(widgets),
            model=model or "",
            session=session,
            address=address,
        )
        lang = page.lang(request)
        async for view in service.turn(turn):
            yield convert.reply(view, lang)

    positional = inspect.Parameter.POSITIONAL_OR_KEYWORD
    before = [
        inspect.Parameter("message", positional, annotation=str | dict[str, Any]),
        inspect.Parameter("history", positional, annotation=list[dict[str, Any]]),
        inspect.Parameter("preset", positional, annotation=str),
    ]
    after = [
        inspect.Parameter("model", positional, default="", annotation=str),
        inspect.Parameter("request", positional, default=None, annotation=gr.Request | None),
    ]
    chat.__doc__ = (
        'One turn: the message (text, or {"text", "files"}) and every control; `model` empty means '
        "the preset's model. Yields the growing answer."
    )
    return with_control_parameters(chat, before, after)


def _as_messages(message: Any, role: str) -> list[dict[str, Any]]:
    """What ChatInterface appended to its history for a message or a reply (see its
    ``_message_as_message_dict``): files as ``{"path": ...}`` blocks, then the text."""
    if isinstance(message, list):
        return [{**m, "role": role} if isinstance(m, dict) else {"role": role, "content": m} for m in message]
    if isinstance(message, dict) and "content" in message:
        return [{**message, "role": role}]
    if isinstance(message, dict):
        text, files = split_message(message)
        content: list[Any] = [{"path": path} for path in files]
        if text:
            content.append(text)
        return [{"role": role, "content": content}]
    return [{"role": role, "content": message}]


def wire_api(
    chat: Any, textbox: gr.MultimodalTextbox, inputs: list[gr.components.Component], concurrency: int
) -> None:
    """Register ``/chat``: ``chat`` from :func:`make_chat_function`, the message box, and the
    preset, controls and model components (``inputs``) whose values an API call names."""

    @wraps(chat)
    async def api(
        message: Any, history: list[dict[str, Any]] | None, *args: Any
    ) -> AsyncIterator[tuple[Any, Any]]:
        history = list(history or [])
        asked = [*history, *_as_messages(message, "user")]
        generator = chat(message, list(history), *args)
        async with aclosing(generator):
            answered = False
            async for reply in generator:
                answered = True
                yield reply, [*asked, *_as_messages(reply, "assistant")]
            if not answered:
                yield None, asked

    history = gr.State([])
    response = gr.JSON(visible=False)
    button = gr.Button("API", visible=False)
    button.click(
        api,
        [textbox, history, *inputs],
        [response, history],
        api_name="chat",
        concurrency_limit=concurrency,
        postprocess=False,
    )
