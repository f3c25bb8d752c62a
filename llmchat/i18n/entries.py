"""The shapes of llmchat's wording: a sentence in each language, and a notice's title and body.

Kept apart from the catalogues so that each catalogue module (one per part of llmchat that finds
problems) can stay small and import these without importing the others.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Text:
    en: str
    ja: str


@dataclass(frozen=True)
class Entry:
    title: Text | None = None
    body: Text | None = None


RETRY_JA = "再試行してください"
TOO_LONG = Text("⚠️ Conversation too long", "⚠️ 会話が長すぎます")


def join_catalogues(*parts: dict[str, Entry]) -> dict[str, Entry]:
    """The parts as one catalogue; a kind in two parts is a mistake that would hide one sentence."""
    joined: dict[str, Entry] = {}
    for part in parts:
        for kind, entry in part.items():
            if kind in joined:
                raise ValueError(f"notice kind {kind!r} is in two catalogue modules")
            joined[kind] = entry
    return joined
