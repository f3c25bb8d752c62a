"""Separate a reasoning model's thinking from its answer while the text streams in.

Models such as DeepSeek-R1 and Qwen3 write ``<think>…</think>`` before the answer; some servers
instead send the thinking in a separate ``reasoning_content`` (or ``reasoning``) delta field. A tag
can arrive split across chunks (``"<thi"`` then ``"nk>"``), so the splitter holds back any tail
that could still become a tag, and releases it as soon as it cannot.
"""

from __future__ import annotations

OPEN_TAG = "<think>"
CLOSE_TAG = "</think>"


def _partial_tag_len(text: str, tag: str) -> int:
    """Length of the longest suffix of ``text`` that is a proper prefix of ``tag``."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:size]):
            return size
    return 0


class ThinkSplitter:
    """Feed answer text piece by piece; get back (thinking, answer) pieces as soon as they are known."""

    def __init__(self) -> None:
        self._pending = ""
        self._thinking = False
        self._seen_text = False  # a <think> only opens thinking before any answer text
        self._skip_space = False  # drop the line breaks that follow a tag, however they arrive

    @property
    def thinking(self) -> bool:
        return self._thinking

    def feed(self, piece: str) -> tuple[str, str]:
        self._pending += piece
        thought, answer = [], []
        while self._pending:
            if self._skip_space:
                self._pending = self._pending.lstrip()
                if not self._pending:
                    break
                self._skip_space = False
            if self._thinking:
                end = self._pending.find(CLOSE_TAG)
                if end >= 0:
                    thought.append(self._pending[:end])
                    self._pending = self._pending[end + len(CLOSE_TAG) :]
                    self._thinking = False
                    self._skip_space = True
                    continue
                keep = _partial_tag_len(self._pending, CLOSE_TAG)
                thought.append(self._pending[: len(self._pending) - keep])
                self._pending = self._pending[len(self._pending) - keep :]
                break
            if not self._seen_text:
                stripped = self._pending.lstrip()
                if stripped.startswith(OPEN_TAG):
                    self._pending = stripped[len(OPEN_TAG) :]
                    self._thinking = True
                    self._skip_space = True
                    continue
                if OPEN_TAG.startswith(stripped):  # could still become "<think>"
                    break
            self._seen_text = True
            answer.append(self._pending)
            self._pending = ""
        return "".join(thought), "".join(answer)

    def flush(self) -> tuple[str, str]:
        """At the end of the stream: whatever is held back is what it is."""
        rest, self._pending = self._pending, ""
        return (rest, "") if self._thinking else ("", rest)
