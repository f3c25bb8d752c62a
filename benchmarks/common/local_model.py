"""SmolLM2 on a fresh ``llama_cpp.server``, started as llmchat's embedded default does."""

from __future__ import annotations

import contextlib
import time
from typing import Any


def start_embedded(stack: contextlib.ExitStack, name: str, n_ctx: int, threads: int | None) -> Any:
    """A fresh llama_cpp.server with SmolLM2, stopped when ``stack`` closes."""
    from llmchat.core.embedded_settings import EmbeddedSettings
    from llmchat.engine.embedded import EmbeddedServer

    settings = EmbeddedSettings(model="smollm2", n_ctx=n_ctx, n_threads=threads)  # None: every core
    server = EmbeddedServer(settings, name=name)
    began = time.monotonic()
    stack.callback(server.stop)
    server.start()
    print(
        f"  {name}: llama_cpp.server pid {server.pid}, ready in {time.monotonic() - began:.1f} s", flush=True
    )
    return server
