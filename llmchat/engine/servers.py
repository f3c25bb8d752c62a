"""Which server answers a preset: the one at its ``base_url``, or the local model it embeds.

A preset with an ``embedded:`` section uses its ``base_url`` when something answers there (a
server the user started by hand), and otherwise starts ``llama_cpp.server`` as a child process.
Presets with the same ``embedded:`` settings share one child.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading

import httpx

from llmchat.core.notices import Notice, NoticeError
from llmchat.core.presets import LoadedPreset
from llmchat.core.redaction import redact_text
from llmchat.engine.embedded import EmbeddedError, EmbeddedServer, EmbeddedSettings
from llmchat.engine.http import PROBES, SingleFlight

log = logging.getLogger(__name__)

PROBE_TIMEOUT = 2.0


class LocalModelError(NoticeError):
    """The local model cannot serve; ``notice`` says why, for the chat."""


class ServerResolver:
    """Maps presets to a reachable base URL, starting embedded models on demand."""

    def __init__(self) -> None:
        self._servers: dict[str, EmbeddedServer] = {}
        self._lock = threading.Lock()

    def embedded_server(self, settings: EmbeddedSettings) -> EmbeddedServer:
        key = settings.model_dump_json()
        with self._lock:
            server = self._servers.get(key)
            if server is None:
                server = self._servers[key] = EmbeddedServer(settings, name=settings.model)
            return server

    def needs_start(self, preset: LoadedPreset) -> bool:
        """True when answering this preset may first have to start its local model."""
        embedded = preset.settings.embedded
        return embedded is not None and not self.embedded_server(embedded).is_running()

    async def resolve(self, preset: LoadedPreset) -> LoadedPreset:
        """The preset with the base URL to use now (an embedded model is started if needed)."""
        embedded = preset.settings.embedded
        if embedded is None:
            return preset
        if preset.settings.base_url and await _answers(preset.base_url):
            return preset
        server = self.embedded_server(embedded)
        try:
            base_url = await server.ensure_running()
        except EmbeddedError as exc:
            notice = Notice("local_failed", detail=redact_text(str(exc), preset.secrets))
            raise LocalModelError(notice) from None
        return dataclasses.replace(preset, base_url=base_url)

    def died(self, preset: LoadedPreset) -> Notice | None:
        """If this preset's local model has died, a notice with the end of its log."""
        embedded = preset.settings.embedded
        if embedded is None:
            return None
        server = self.embedded_server(embedded)
        if server.pid is None or server.is_running():  # never started, or alive
            return None
        tail = server.log_tail(15)
        return Notice("local_stopped", log=tail)

    def start_in_background(self, preset: LoadedPreset) -> None:
        """Warm up a preset's local model while the UI starts, so the first answer is quick."""
        embedded = preset.settings.embedded
        if embedded is None:
            return
        server = self.embedded_server(embedded)

        def start() -> None:
            try:
                server.start()
            except EmbeddedError as exc:
                log.warning("the local model could not start: %s", str(exc).splitlines()[0])

        threading.Thread(target=start, name="llmchat-warmup", daemon=True).start()


async def _answers(base_url: str) -> bool:
    """Whether a server answers at ``base_url``: only the status counts, the body is never read.

    Asked before every turn of such a preset, through the shared client; turns that arrive while
    the check is on its way take its answer.
    """
    return await _CHECKS.run(base_url, lambda: _check(base_url))


async def _check(base_url: str) -> bool:
    try:
        async with PROBES.client().stream(
            "GET", base_url.rstrip("/") + "/models", timeout=PROBE_TIMEOUT
        ) as response:
            return response.status_code < 500
    except (httpx.HTTPError, asyncio.TimeoutError):
        return False


_CHECKS = SingleFlight()
