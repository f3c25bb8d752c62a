"""What llmchat tells a visitor, as data: a kind and its values, put into words at the edge.

The code that finds a problem knows *what* happened (the server at this address refused the key,
with this text); it does not know who reads about it, in which language, or in what form (a
titled box in the page, a line on a terminal's stderr). So it creates a :class:`Notice`; the
front end renders it from the catalogue (:mod:`llmchat.i18n`) in its reader's language.

A value may itself be a :class:`Notice` (a hint, a reason): it is rendered in the same language.
Text that comes from elsewhere (a server's own message, a file name) is a plain string and is
shown as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any


class Notice:
    """One notice: ``kind`` is its catalogue key, ``params`` the values its sentences name."""

    __slots__ = ("kind", "params")

    def __init__(self, kind: str, /, **params: Any) -> None:
        self.kind = kind
        self.params: Mapping[str, Any] = MappingProxyType(params)

    def __repr__(self) -> str:
        values = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"Notice({self.kind!r}{', ' if values else ''}{values})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Notice):
            return False
        return (self.kind, dict(self.params)) == (other.kind, dict(other.params))

    def __hash__(self) -> int:
        return hash(self.kind)


class NoticeError(Exception):
    """An exception that carries the notice to show for it (e.g. a file that cannot be sent)."""

    def __init__(self, notice: Notice) -> None:
        super().__init__(notice.kind)
        self.notice = notice


def left_out(count: int, window: int, kept: int, *, summarized: bool = False) -> Notice:
    """The notice for ``count`` older messages a turn did not send (``summarized``: sent as a
    summary instead), ``kept`` later ones sent with it; "the last 0 messages" would read oddly,
    so what the model still sees is a phrase of its own."""
    if summarized:
        sees = Notice("sees_summary_and_last", kept=kept) if kept else Notice("sees_summary_and_message")
    else:
        sees = Notice("sees_last", kept=kept) if kept else Notice("sees_message_only")
    kind = "history_summarized" if summarized else "history_trimmed"
    return Notice(kind, count=count, window=window, kept=kept, sees=sees)
