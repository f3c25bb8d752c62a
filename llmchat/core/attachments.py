"""Files a visitor attaches: text inlined into the message, images sent as ``image_url`` parts.

Text files (any name, as long as the bytes are UTF-8) become a fenced block headed by the file
name, so every model can read them and the conversation stays a plain string for servers that
do not accept content lists. Images (PNG, JPEG, WebP, GIF, recognised by their bytes) become
``data:`` URLs, which every vision-capable OpenAI-style server accepts without fetching
anything. Files are re-read from the upload folder on every turn (the history only holds their
paths), and only from there: a history restored from the browser or an imported file could
otherwise name any file on the machine, such as a preset holding an API key. The front end says
which folder that is (the web page: Gradio's upload folder); without one, no file is read.
"""

from __future__ import annotations

import base64
import codecs
import contextlib
import os
import re
from pathlib import Path
from typing import Any

from llmchat.core.limits import DEFAULT_LIMITS, MB, VisitorLimits
from llmchat.core.notices import Notice, NoticeError

MAX_TEXT_BYTES = 200_000  # per text file: about 50,000 tokens, more than most context windows
MAX_IMAGE_BYTES = 10_000_000  # per image (OpenAI accepts up to 20 MB; data URLs grow by a third)
MAX_FILES = DEFAULT_LIMITS.max_files  # per message

Part = dict[str, Any]

IMAGE_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".jpe", ".webp", ".gif"}
FENCE_LANGUAGES = {
    ".py": "python", ".md": "markdown", ".json": "json", ".csv": "csv", ".tsv": "tsv",
    ".js": "javascript", ".ts": "typescript", ".html": "html", ".css": "css", ".yaml": "yaml",
    ".yml": "yaml", ".toml": "toml", ".sh": "bash", ".sql": "sql", ".xml": "xml", ".rs": "rust",
    ".go": "go", ".java": "java", ".c": "c", ".h": "c", ".cpp": "cpp", ".rb": "ruby", ".ini": "ini",
}  # fmt: skip


class AttachmentError(NoticeError):
    """A file that cannot be sent; ``notice`` tells the visitor why."""

    def __init__(self, notice_kind: str, /, **params: Any) -> None:
        super().__init__(Notice(notice_kind, **params))


def is_uploaded(path: str | os.PathLike[str], root: Path | None) -> bool:
    """True for an existing file inside the upload folder ``root`` (symlinks resolved)."""
    if root is None:
        return False
    try:
        resolved = Path(path).resolve()
    except (OSError, RuntimeError, ValueError):
        return False
    return resolved.is_file() and resolved.is_relative_to(root)


def display_name(path: str, name: str | None = None) -> str:
    """The name the visitor knows the file by (Gradio keeps it as the file's basename)."""
    return (name or Path(path).name or "file").replace("`", "'")[:200]


def split_message(message: Any) -> tuple[str, list[str]]:
    """``(text, file paths)`` of what the chat function received.

    A string from an old API client, or the MultimodalTextbox's ``{"text", "files"}``, where a
    file is a path or a ``{"path": ...}`` dict (gradio_client's ``handle_file``).
    """
    if message is None:
        return "", []
    if isinstance(message, str):
        return message, []
    if isinstance(message, dict):
        text = message.get("text")
        files: list[str] = []
        for item in message.get("files") or []:
            path = item.get("path") if isinstance(item, dict) else item
            if isinstance(path, str | os.PathLike) and str(path):
                files.append(str(path))
        return (text if isinstance(text, str) else ""), files
    return str(message), []


def image_type(data: bytes) -> str | None:
    """The MIME type of an image we can send, from its first bytes (never from its name)."""
    for magic, mime in IMAGE_MAGIC:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def text_block(name: str, text: str) -> str:
    """A file's text as a fenced block under its name; the fence outgrows any fence inside."""
    longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=2)
    fence = "`" * (longest + 1)
    language = FENCE_LANGUAGES.get(Path(name).suffix.lower(), "")
    return f"{name}:\n{fence}{language}\n{text.rstrip()}\n{fence}"


def _size_error(name: str, size: int, kind: str, limit: int) -> AttachmentError:
    return AttachmentError(
        "file_too_large", name=name, size=f"{size / 1000:,.0f}", kind=Notice(kind), limit=f"{limit // 1000:,}"
    )


def _read(path: str, shown: str, root: Path | None, limit: int = MAX_IMAGE_BYTES + 1) -> tuple[bytes, int]:
    """The first ``limit`` bytes of an uploaded file (by default one byte over the image limit)
    and its size."""
    if not is_uploaded(path, root):
        raise AttachmentError("file_unreadable", name=shown)
    try:
        size = Path(path).stat().st_size
        with Path(path).open("rb") as handle:
            data = handle.read(limit)
    except OSError:
        raise AttachmentError("file_unreadable", name=shown) from None
    # Deleting unused uploads goes by modification time (llmchat.web.cache_sweep): a file in use stays.
    with contextlib.suppress(OSError):
        os.utime(path)
    return data, size


def _check(path: str, shown: str, data: bytes, size: int) -> tuple[str | None, str]:
    """``(image MIME type, "")`` for an image, ``(None, text)`` for a text file; raises
    :class:`AttachmentError` for anything else. ``data`` may be the file's first bytes only
    (``len(data) < size``): the check at attach time reads no more than a text file may hold,
    and a character cut at the end of that prefix is not taken for invalid UTF-8."""
    mime = image_type(data[:16])
    if mime is not None:
        if size > MAX_IMAGE_BYTES:
            raise _size_error(shown, size, "kind_images", MAX_IMAGE_BYTES)
        return mime, ""
    if Path(path).suffix.lower() in IMAGE_SUFFIXES:
        raise AttachmentError("not_image", name=shown)
    if size > MAX_TEXT_BYTES:
        raise _size_error(shown, size, "kind_text_files", MAX_TEXT_BYTES)
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    try:
        text = decoder.decode(data[:MAX_TEXT_BYTES], final=len(data) >= size)
    except UnicodeDecodeError as exc:
        raise AttachmentError("not_text", name=shown, position=exc.start + 1) from None
    if "\x00" in text:  # UTF-16 and binaries decode "successfully" with NULs in between
        raise AttachmentError("not_text", name=shown, position=text.index(chr(0)) + 1)
    return None, text


def _to_part(path: str, shown: str, data: bytes, size: int) -> Part:
    mime, text = _check(path, shown, data, size)
    if mime is not None:
        url = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
        return {"type": "image_url", "image_url": {"url": url}}
    return {"type": "text", "text": text_block(shown, text)}


def check_attached(path: str, root: Path | None, *, text_only_model: str | None = None) -> None:
    """The check of a file when it is attached, before anything is sent: the same rules as
    :func:`read_part` (which still runs when the message is sent: a forged request skips this),
    on at most the first ``MAX_TEXT_BYTES + 1`` bytes. ``text_only_model``: the name of the model
    when it is known to read text only, so that an image is refused now rather than sent for
    nothing (None: it may read images; the answer explains if it did not). Raises
    :class:`AttachmentError` with the reason."""
    shown = display_name(path)
    data, size = _read(path, shown, root, MAX_TEXT_BYTES + 1)
    mime, _ = _check(path, shown, data, size)
    if mime is not None and text_only_model is not None:
        raise AttachmentError("images_text_only", name=shown, model=text_only_model)


def read_part(path: str, root: Path | None, name: str | None = None) -> Part:
    """One attachment as an OpenAI content part; raises :class:`AttachmentError` with the reason."""
    shown = display_name(path, name)
    data, size = _read(path, shown, root)
    return _to_part(path, shown, data, size)


def _mb(size: int) -> str:
    """``20 MB``, ``20.5 MB``: one decimal, none when it is zero."""
    return f"{size / MB:,.1f}".removesuffix(".0")


class LimitExceeded(AttachmentError):
    """A request refers to more files or bytes than :class:`~llmchat.core.limits.VisitorLimits` allow.

    Unlike a missing earlier attachment (which becomes a short note), this stops the request.
    """


class RequestFiles:
    """The attachments of one request: each file read at most once, every reference counted.

    A request may name files twice: in its message and in the history, which comes from the
    visitor (browser storage, an import, or the API) and may name one upload any number of times.
    Reading each file once bounds the app's reads; counting every reference against
    ``max_attachment_bytes`` bounds what is built in memory and sent upstream.
    """

    def __init__(
        self, root: Path | None, limits: VisitorLimits = DEFAULT_LIMITS, *, over_limit_note: bool = False
    ) -> None:
        self.root = root  # the upload folder; files elsewhere are never read
        self.limits = limits
        self.over_limit_note = over_limit_note  # exports name what does not fit instead of failing
        self.total_bytes = 0
        self._read: dict[str, tuple[Part | None, int, AttachmentError | None]] = {}

    def _count(self, files: list[tuple[str, str | None]]) -> None:
        if len(files) > self.limits.max_files:
            raise LimitExceeded("too_many_files", count=len(files), limit=self.limits.max_files)

    def _part(self, path: str, name: str | None) -> Part:
        shown = display_name(path, name)
        key = str(path)
        if key not in self._read:
            try:
                data, size = _read(path, shown, self.root)
                if self.total_bytes + size > self.limits.max_attachment_bytes:
                    raise self._over(size)
                self._read[key] = (_to_part(path, shown, data, size), size, None)
            except LimitExceeded:
                raise
            except AttachmentError as exc:
                self._read[key] = (None, 0, exc)
        part, size, error = self._read[key]
        if error is not None:
            raise error
        if self.total_bytes + size > self.limits.max_attachment_bytes:
            raise self._over(size)
        self.total_bytes += size
        assert part is not None
        return part

    def _over(self, size: int) -> LimitExceeded:
        total = self.total_bytes + size
        return LimitExceeded(
            "attachments_too_large", total=_mb(total), limit=_mb(self.limits.max_attachment_bytes)
        )

    def message(self, files: list[str]) -> list[Part]:
        """The current message's attachments, in order; the first problem stops the message."""
        pairs = [(path, None) for path in files]
        self._count(pairs)
        return [self._part(path, name) for path, name in pairs]

    def history(self, files: list[tuple[str, str | None]]) -> list[Part]:
        """An earlier message's attachments. A file that went away (Gradio's cache was cleared,
        the app restarted elsewhere) becomes a short note; a limit stops the request."""
        self._count(files)
        parts = []
        for path, name in files:
            try:
                parts.append(self._part(path, name))
            except LimitExceeded:
                if not self.over_limit_note:
                    raise
                parts.append({"type": "text", "text": f"[{display_name(path, name)}: left out, too large]"})
            except AttachmentError:
                parts.append(
                    {"type": "text", "text": f"[{display_name(path, name)}: attachment no longer available]"}
                )
        return parts


def has_images(messages: list[dict[str, Any]]) -> bool:
    """True when any message carries an ``image_url`` part."""
    return any(
        isinstance(part, dict) and part.get("type") == "image_url"
        for message in messages
        if isinstance(message.get("content"), list)
        for part in message["content"]
    )
