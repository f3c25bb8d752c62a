"""Delete uploads nobody uses any more from Gradio's file cache.

Every file a visitor attaches, every image of an imported conversation and every export a
download button offers is a file in Gradio's cache folder, and Gradio never deletes them unless
``delete_cache`` is set. That setting goes by age since creation and empties the whole cache at
each restart, which would break the attachments of conversations that browsers keep and bring
back after a reload or a restart.

So llmchat sweeps by *last use* instead: reading an attachment for a turn, and restoring or
importing a conversation that names it, set the file's modification time to now
(:mod:`llmchat.core.attachments`, :mod:`llmchat.core.conversation_file`). A file unused for
``keep_seconds`` is deleted; a kept conversation opened at least that often keeps its files.
Copies of exports (Gradio copies a download button's file into its cache) are only needed
until they are downloaded, so they go after ``EXPORT_TTL``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)

EXPORT_NAMES = frozenset({"llmchat-conversation.json", "llmchat-conversation.md"})
EXPORT_TTL = 600.0
SWEEP_INTERVAL = 600.0


def sweep(folder: Path, keep_seconds: float, now: float | None = None) -> int:
    """Delete files under ``folder`` unused for ``keep_seconds`` (exports: ``EXPORT_TTL``).

    Returns how many files were deleted. Empty folders left behind are removed too.
    """
    now = time.time() if now is None else now
    deleted = 0
    for root, dirs, files in os.walk(folder, topdown=False):
        for name in files:
            path = Path(root) / name
            ttl = EXPORT_TTL if name in EXPORT_NAMES else keep_seconds
            try:
                if now - path.stat().st_mtime > ttl:
                    path.unlink()
                    deleted += 1
            except OSError:
                continue
        for name in dirs:
            with contextlib.suppress(OSError):
                (Path(root) / name).rmdir()  # only succeeds when empty
    return deleted


class CacheSweeper:
    """A daemon thread that sweeps one folder every ``interval`` seconds until stopped."""

    def __init__(self, folder: Path, keep_seconds: float, interval: float = SWEEP_INTERVAL) -> None:
        self.folder = folder
        self.keep_seconds = keep_seconds
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="llmchat-cache-sweep", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.folder.is_dir():
                try:
                    deleted = sweep(self.folder, self.keep_seconds)
                except Exception:  # a sweep must never take the app down
                    log.exception("sweeping %s failed", self.folder)
                    deleted = 0
                if deleted:
                    log.info("deleted %d unused files from %s", deleted, self.folder)
            self._stop.wait(self.interval)
