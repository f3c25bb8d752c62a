"""Calling the app's event handlers over raw HTTP, as a script imitating the page would.

gradio_client only calls documented endpoints; a hostile visitor can call any handler the page
calls, by its number (``fn_index``) through the queue. These helpers do exactly that.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx


def fn_index(url: str, api_name: str) -> int:
    """The index of the handler the page knows by ``api_name`` (listed in ``/config``)."""
    config = httpx.get(url + "config", timeout=10).json()
    for dependency in config["dependencies"]:
        if dependency.get("api_name") == api_name:
            return int(dependency["id"])
    raise KeyError(api_name)


def upload(url: str, path: Path) -> str:
    """Upload a file like the page's paperclip does; returns the path on the server."""
    with path.open("rb") as file:
        response = httpx.post(url + "gradio_api/upload", files={"files": (path.name, file)}, timeout=30)
    response.raise_for_status()
    return str(response.json()[0])


def call(url: str, index: int, data: list[Any], session: str | None = None, timeout: float = 60) -> Any:
    """Run handler ``index`` through the queue in ``session``; its final output data."""
    session = session or uuid.uuid4().hex
    body = {"data": data, "fn_index": index, "session_hash": session, "event_data": None, "trigger_id": None}
    return _queued(url, body, session, timeout)


def run(url: str, index: int, data: list[Any], session: str | None = None, timeout: float = 60) -> Any:
    """Run handler ``index`` that the page calls without the queue (``queue=False``)."""
    body = {"data": data, "fn_index": index, "session_hash": session or uuid.uuid4().hex}
    response = httpx.post(url + "gradio_api/run/predict", json=body, timeout=timeout)
    response.raise_for_status()
    return response.json()["data"]


def call_by_name(url: str, api_name: str, params: dict[str, Any], timeout: float = 60) -> Any:
    """A documented endpoint over plain HTTP (Gradio's ``/call/v2``), keyword parameters, the body
    sent as ASCII JSON so that it may carry what a client library would refuse to encode."""
    response = httpx.post(
        f"{url}gradio_api/call/v2/{api_name}",
        content=json.dumps(params),
        headers={"content-type": "application/json"},
        timeout=timeout,
    )
    response.raise_for_status()
    event_id = response.json()["event_id"]
    last: Any = None
    event = ""
    with httpx.stream("GET", f"{url}gradio_api/call/{api_name}/{event_id}", timeout=timeout) as events:
        for line in events.iter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                if event == "error":
                    raise RuntimeError(line[5:].strip())
                last = json.loads(line[5:])
                if event == "complete":
                    return last[0] if isinstance(last, list) and last else last
    raise RuntimeError(f"the event stream ended without a result (last: {last!r})")


# --- the page's own chat, as its script and events drive it --------------------------------------


def preset_widgets(url: str, preset: str, **controls: Any) -> list[Any]:
    """The values the page's controls show for ``preset`` (``/preset_values``), with ``controls``
    instead where given, in the order the page's handlers take them."""
    from llmchat.core.controls import VISITOR_CONTROLS

    outputs = run(url, fn_index(url, "preset_values"), [preset])
    values = [o.get("value") if isinstance(o, dict) and o.get("__type__") == "update" else o for o in outputs]
    return [controls.get(c.name, value) for c, value in zip(VISITOR_CONTROLS, values, strict=False)]


def page_open(url: str, session: str, document: dict[str, Any]) -> list[Any]:
    """Open a conversation in ``session`` as the page does when one is picked in the list (the
    browser sends its kept document)."""
    return run(url, fn_index(url, "open"), [json.dumps(document), None], session)


def page_send(url: str, session: str, message: Any, preset: str = "test-chat", **controls: Any) -> list[Any]:
    """Send ``message`` from the page's message box in ``session``: [chatbot messages, document, box]."""
    run(url, fn_index(url, "_take"), [message], session)
    widgets = preset_widgets(url, preset, **controls)
    return call(url, fn_index(url, "send"), [None, None, preset, *widgets, ""], session)


def page_event(url: str, session: str, name: str, event_data: Any, preset: str = "test-chat") -> list[Any]:
    """A turn the page starts from the chat (``retry``, ``edit``) with Gradio's event data."""
    widgets = preset_widgets(url, preset)
    body = {
        "data": [None, None, preset, *widgets, ""],
        "fn_index": fn_index(url, name),
        "session_hash": session,
        "event_data": event_data,
        "trigger_id": None,
    }
    return _queued(url, body, session)


def page_action(url: str, session: str, action: dict[str, Any]) -> list[Any]:
    """An action of the page's script (←/→, feedback, rename) on the open conversation."""
    return run(url, fn_index(url, "act"), [json.dumps(action), None], session)


def _queued(url: str, body: dict[str, Any], session: str, timeout: float = 60) -> Any:
    joined = httpx.post(url + "gradio_api/queue/join", json=body, timeout=timeout)
    joined.raise_for_status()
    with httpx.stream(
        "GET", url + "gradio_api/queue/data", params={"session_hash": session}, timeout=timeout
    ) as events:
        for line in events.iter_lines():
            if line.startswith("data:"):
                message = json.loads(line[5:])
                if message.get("msg") == "process_completed":
                    output = message.get("output") or {}
                    if not message.get("success", True):
                        raise RuntimeError(output.get("error") or "the handler failed")
                    return output.get("data")
    raise RuntimeError("the event stream ended without a result")


def last_reply(chat: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The messages after the last question in the page's chat, with their text as strings (the
    shape of a ``/chat`` reply, for :mod:`tests.replies`)."""
    from llmchat.core.messages import content_text

    start = max((i for i, m in enumerate(chat) if m.get("role") == "user"), default=-1) + 1
    return [{**m, "content": content_text(m.get("content"))} for m in chat[start:]]
