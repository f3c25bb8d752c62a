"""Files checked when they are attached to the message box, not only when the message is sent.

A binary file, or an image for a model known to read text only, would be refused anyway when the
message is sent (:mod:`llmchat.engine.service` still checks: a forged request skips the page), but
the visitor would learn it only after typing a question and pressing Send. Here each file is
checked as soon as it is in the box, with the same rules (:func:`llmchat.core.attachments.check_attached`,
which reads a bounded prefix of each); the refused files leave the box, the text and the other
files stay, and a note above the box says why, in the visitor's language.

Gradio 6's MultimodalTextbox has no upload event, so this listens to the box's change, which also
fires for every key typed (one small request at a time: ``always_last``, like the context gauge):
a file is read once (its verdict is remembered by path, size and modification time), and a box
without files is answered at once, reading nothing.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import gradio as gr

from llmchat.core.attachments import AttachmentError, check_attached, split_message
from llmchat.core.safe_markdown import safe_markdown
from llmchat.i18n import notice_text
from llmchat.web.handlers import Page
from llmchat.web.uploads import upload_root

MAX_REMEMBERED = 1024  # verdicts kept, the oldest forgotten first


class AttachCheck:
    """The message box's change handler; one per app, shared by every visitor."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self._seen: OrderedDict[tuple[Any, ...], AttachmentError | None] = OrderedDict()
        self._lock = threading.Lock()

    def _verdict(self, path: str, root: Path, text_only: str | None) -> AttachmentError | None:
        """The file's check, read from the disk once per version of the file."""
        try:
            stat = Path(path).stat()
            key: tuple[Any, ...] = (path, stat.st_size, stat.st_mtime_ns, text_only)
        except (OSError, ValueError):
            key = (path, None, None, text_only)
        with self._lock:
            if key in self._seen:
                self._seen.move_to_end(key)
                return self._seen[key]
        try:
            check_attached(path, root, text_only_model=text_only)
            verdict = None
        except AttachmentError as exc:
            verdict = exc
        with self._lock:
            self._seen[key] = verdict
            while len(self._seen) > MAX_REMEMBERED:
                self._seen.popitem(last=False)
        return verdict

    def text_only_model(self, preset_id: str, model: str) -> str | None:
        """The model's name when it is known to read text only; None when it may read images."""
        preset = self.page.catalog.presets.get(preset_id)
        if preset is None or preset.reads_images(model or "") is not False:
            return None
        return model or preset.model

    def check(self, message: Any, preset_id: Any, model: Any, request: gr.Request) -> list[Any]:
        """``[message box, note]``: the box without the refused files (untouched when none is
        refused), and the note saying why (hidden when nothing was refused)."""
        text, files = split_message(message)
        if not files:
            return [gr.skip(), gr.skip()]
        text_only = self.text_only_model(str(preset_id or ""), model if isinstance(model, str) else "")
        root = upload_root()
        kept: list[str] = []
        refused: list[str] = []
        lang = self.page.lang(request)
        # At most as many files as a message may carry are read; a message with more is refused
        # as a whole when it is sent.
        for index, path in enumerate(files):
            if index >= self.page.limits.max_files:
                kept.append(path)
                continue
            error = self._verdict(path, root, text_only)
            if error is None:
                kept.append(path)
            else:
                title, body = notice_text(error.notice, lang)
                refused.append(f"**{title}**  \n{body}")
        if not refused:
            return [gr.skip(), gr.skip()]
        note = safe_markdown("\n\n".join(refused))
        return [{"text": text, "files": kept}, gr.update(value=note, visible=True)]
