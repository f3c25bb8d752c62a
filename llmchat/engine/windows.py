"""Ask a server for its context window, in every place one may say it (see :mod:`llmchat.core.windows`).

Tried in order, each through the process's pooled client with a short timeout and a bounded
read, until one answers with a believable window: llama.cpp's ``/props``, the ``/v1/models``
entry of the preset's model (vLLM and hosted APIs), LM Studio's ``/api/v0/models``, LiteLLM's
``/model/info``, Ollama's ``/api/show``. A server that has none of them costs five small
requests a minute (:data:`llmchat.engine.budget.PROBE_TTL`), made by one turn while the others
wait for its answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx

from llmchat.core import server_data, windows
from llmchat.core.redaction import display_url
from llmchat.engine.http import HttpPool

log = logging.getLogger(__name__)

PROBE_TIMEOUT = 3.0


def root_of(base_url: str) -> str:
    """The server's root: ``http://host:8080/v1`` → ``http://host:8080``."""
    return base_url.removesuffix("/").removesuffix("/v1")


async def _ask(
    http: HttpPool, method: str, url: str, headers: dict[str, str], json: Any = None
) -> bytes | None:
    try:
        async with http.client().stream(
            method, url, headers=headers, json=json, timeout=PROBE_TIMEOUT
        ) as response:
            if response.status_code != 200:
                return None
            return await server_data.read_body(response, server_data.MAX_PROBE_BYTES)
    except (httpx.HTTPError, server_data.ReplyTooLarge):
        return None


async def probe_window(http: HttpPool, base_url: str, headers: dict[str, str], model: str) -> int | None:
    """The context window the server at ``base_url`` states for ``model``, or None."""
    root = root_of(base_url)
    probes: list[tuple[str, str, Any, Callable[[bytes], int | None]]] = [
        ("GET", root + "/props", None, server_data.context_window),
        ("GET", base_url.removesuffix("/") + "/models", None, lambda b: windows.models_window(b, model)),
        ("GET", root + "/api/v0/models", None, lambda b: windows.models_window(b, model)),
        ("GET", root + "/model/info", None, lambda b: windows.litellm_window(b, model)),
        ("POST", root + "/api/show", {"model": model}, windows.ollama_window),
    ]
    for method, url, body, read in probes:
        reply = await _ask(http, method, url, headers, body)
        window = read(reply) if reply is not None else None
        if window is not None:
            log.info(
                "context window of %s at %s: %d tokens (%s)",
                model,
                display_url(base_url),
                window,
                url[len(root) :],
            )
            return window
    log.info("%s states no usable context window for %s: it stays unknown", display_url(base_url), model)
    return None
