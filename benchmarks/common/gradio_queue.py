"""A visitor's chat turn as the browser's Gradio client runs it: POST queue/join, read queue/data.

Benchmarks time answers at the bytes of Gradio's queue stream: every message is timestamped the
moment it arrives, the streamed diffs are applied as gradio_client does, and the text is rebuilt,
so both the final and the streamed text can be checked.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from benchmarks.common.bench_app import App


def answer_of(output: Any) -> str:
    """The answer text of a chat output: a string, or the messages without llmchat's titled notes."""
    if isinstance(output, str):
        return output
    if isinstance(output, (list, tuple)):
        texts = []
        for item in output:
            if isinstance(item, dict) and not (item.get("metadata") or {}).get("title"):
                content = item.get("content")
                if isinstance(content, str):
                    texts.append(content)
        return "".join(texts)
    return "" if output is None else str(output)


def chat_template(app: App) -> tuple[int, list[Any]]:
    """fn_index and the full input list (hidden state included) of the ``/chat`` endpoint."""
    from gradio_client import Client
    from gradio_client import utils as gc_utils

    client = Client(app.url, verbose=False)
    try:
        fn_index = client._infer_fn_index("/chat", None)
        endpoint = client.endpoints[fn_index]
        args = gc_utils.construct_args(endpoint.parameters_info, ("",), {})
        return fn_index, list(endpoint.insert_empty_state(*args))
    finally:
        client.close()


@dataclass
class Visit:
    """One visitor's answer, read straight off Gradio's queue stream (SSE)."""

    submitted: float
    first: float | None = None  # first message carrying answer text
    last: float | None = None  # the message that made the answer text what it finally was
    started: float | None = None  # ``process_starts``: the queue gave this visitor a worker
    done: float | None = None
    text: str = ""  # final output
    streamed: str = ""  # the text rebuilt from the streamed diffs
    updates: int = 0
    error: str = ""

    @property
    def ttft(self) -> float:
        return (self.first or self.done or float("inf")) - self.submitted


async def visit(
    http: httpx.AsyncClient, app_url: str, fn_index: int, template: list[Any], message: str
) -> Visit:
    """What the browser's Gradio client does: POST queue/join, then read queue/data (SSE).

    Every message is timestamped the moment its bytes arrive, so TTFT is not blurred by any
    polling. The streamed diffs are applied as gradio_client does, to check the streamed text too.
    """
    from gradio_client.utils import apply_diff

    session = uuid.uuid4().hex[:12]
    data = list(template)
    data[0] = message
    result = Visit(submitted=time.monotonic())
    current: Any = None
    seen_first_output = False
    try:
        join = await http.post(
            app_url + "gradio_api/queue/join",
            json={"data": data, "fn_index": fn_index, "session_hash": session, "trigger_id": None},
        )
        join.raise_for_status()
        async with http.stream(
            "GET", app_url + "gradio_api/queue/data", params={"session_hash": session}
        ) as r:
            buffer = b""
            async for chunk in r.aiter_bytes():
                now = time.monotonic()
                buffer += chunk
                while b"\n\n" in buffer:
                    event, buffer = buffer.split(b"\n\n", 1)
                    line = event.decode().strip()
                    if not line.startswith("data:"):
                        continue
                    msg = json.loads(line[5:])
                    kind = msg.get("msg")
                    if kind == "process_starts":
                        result.started = now
                    elif kind == "process_generating":
                        value = msg["output"]["data"][0]
                        before = answer_of(current)
                        current = apply_diff(current, value) if seen_first_output else value
                        seen_first_output = True
                        result.updates += 1
                        if answer_of(current) != before:
                            result.last = now
                        if result.first is None and answer_of(current):
                            result.first = now
                    elif kind == "process_completed":
                        result.done = now
                        if not msg.get("success", True):
                            result.error = str(msg.get("output", {}).get("error"))
                        result.text = answer_of(msg["output"].get("data", [None])[0])
                        result.streamed = answer_of(current)
                        if result.first is None and result.text:
                            result.first = now
                        return result
                    elif kind in ("close_stream", "unexpected_error", "queue_full"):
                        result.error = f"{kind}: {msg}"
                        return result
        result.error = result.error or "stream ended without process_completed"
    except Exception as exc:
        result.error = f"{type(exc).__name__}: {exc}"
    return result
