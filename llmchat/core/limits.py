"""How much work one visitor's request may cause: the bounds every front end enforces.

A share link or a public Space hands the app to strangers, so each bound is on what one request
can make the app read, hold in memory, write or send upstream — not on what an honest visitor
needs, which is far less. Every default can be changed with a flag and an environment variable
(see :mod:`llmchat.settings` and README's "Security" section).
"""

from __future__ import annotations

from dataclasses import dataclass

MB = 1_000_000


@dataclass(frozen=True)
class VisitorLimits:
    """Per-request bounds. Sizes are in bytes; every file a request refers to counts.

    ``max_attachment_bytes`` counts each reference to a file: a history that names one 1 MB image
    30 times asks the app to send 30 MB upstream, whatever it costs to read the file (once).
    ``max_upload_bytes`` bounds one uploaded file (Gradio's ``max_file_size``), and with it an
    Import and an export, so that every export can be imported again.
    """

    max_message_chars: int = 100_000
    max_history_messages: int = 2_000
    max_history_chars: int = 4_000_000  # text of the whole conversation (~1M tokens, past any window)
    max_files: int = 10  # per message, the current one and each earlier one
    max_attachment_bytes: int = 20 * MB  # all attachments one request refers to
    max_upload_bytes: int = 10 * MB
    keep_uploads_seconds: float = 24 * 3600.0  # uploads unused this long are deleted

    def __post_init__(self) -> None:
        for name in (
            "max_message_chars",
            "max_history_messages",
            "max_history_chars",
            "max_files",
            "max_attachment_bytes",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.max_upload_bytes < 1000 or self.keep_uploads_seconds < 60:
            raise ValueError("max_upload_bytes must be at least 1000 and keep_uploads_seconds at least 60")


DEFAULT_LIMITS = VisitorLimits()
