"""A turn (:class:`~llmchat.core.turn.TurnView`) drawn on a terminal, as it streams.

The answer goes to stdout and nothing else does, so ``llmchat ask ... > answer.txt`` keeps just
the answer. Everything llmchat adds goes to stderr in the terminal's language: notices (a
title line, the body indented), the model's "thinking" (each line prefixed with ``│``), the stats.

How a turn ended decides the exit status (:meth:`TerminalView.status`):

- ``FAILED`` (1): no answer came and a notice says why — every notice kind counts except the
  ones that only say what is happening (:data:`PROGRESS_KINDS`: starting the local model,
  waiting for the server, older turns left out, the Max tokens limit reached, an empty answer);
  in the catalogue these are the ``⚠️`` titles;
- ``FAILED`` too when an answer came but was cut off (``cut_off``, ``✂️``): what was printed is
  not the whole answer;
- 0 otherwise, an answer that stopped at Max tokens included (its notice says so).
"""

from __future__ import annotations

from typing import TextIO

from llmchat.core.notices import Notice
from llmchat.core.turn import TurnView
from llmchat.i18n import Lang, notice_text, stats_line

FAILED = 1
# Notices that say what is happening, not that the turn failed.
PROGRESS_KINDS = frozenset(
    {
        "starting_local",
        "waiting",
        "fair_waiting",
        "history_trimmed",
        "max_tokens_reached",
        "empty_answer",
        "window_learned",
        "history_summarized",
        "summarizing",
        "summary_partial",
        "summary_used",
        "summary_nothing",  # the page's Summarize older turns, which had nothing to do
    }
)
# Notices that say the answer printed is not the whole answer.
INCOMPLETE_KINDS = frozenset({"cut_off", "interrupted"})  # interrupted: a page reloaded mid-answer
THINKING_PREFIX = "│ "


class TerminalView:
    """Writes each new part of the views a turn yields; ``finish()`` ends the lines."""

    def __init__(self, out: TextIO, err: TextIO, lang: Lang) -> None:
        self.out, self.err, self.lang = out, err, lang
        self._view: TurnView | None = None
        self._before = self._after = self._thinking = self._answer = 0
        self._thinking_open = False  # the last thinking line has no line break yet
        self._answer_ended = False  # the answer's line break is written
        self._last: TurnView | None = None

    def show(self, view: TurnView) -> None:
        """Write what ``view`` has that was not written yet."""
        if view is not self._view:  # the service's first views are notices only, then the answer's
            self._end_thinking()
            self._view = view
            self._before = self._after = self._thinking = self._answer = 0
            self._answer_ended = False
        self._last = view
        for notice in view.before[self._before :]:
            self._notice(notice)
        self._before = len(view.before)
        if len(view.thinking) > self._thinking:
            self._write_thinking(view.thinking[self._thinking :])
            self._thinking = len(view.thinking)
        if len(view.answer) > self._answer:
            self._end_thinking()
            self.out.write(view.answer[self._answer :])
            self.out.flush()
            self._answer = len(view.answer)
        if len(view.after) > self._after:
            self._end_answer()
            for notice in view.after[self._after :]:
                self._notice(notice)
            self._after = len(view.after)

    def finish(self) -> int:
        """End the output (stats last) and return the exit status."""
        self._end_thinking()
        self._end_answer()
        view = self._last
        if view is not None and view.stats is not None:
            self.err.write(stats_line(view.stats, self.lang) + "\n")
        self.err.flush()
        return self.status()

    def status(self) -> int:
        view = self._last
        if view is None:
            return FAILED
        kinds = {notice.kind for notice in view.notices}
        if kinds & INCOMPLETE_KINDS:
            return FAILED
        if not view.answer and kinds - PROGRESS_KINDS:
            return FAILED
        return 0

    def _notice(self, notice: Notice) -> None:
        title, body = notice_text(notice, self.lang)
        lines = [title] if title else []
        lines += ["  " + line if line else "" for line in body.splitlines()]
        self.err.write("\n".join(lines) + "\n")
        self.err.flush()

    def _write_thinking(self, text: str) -> None:
        if self._thinking == 0:
            self.err.write(notice_text(Notice("thinking"), self.lang)[0] + "\n")
        for piece in text.splitlines(keepends=True):
            if not self._thinking_open:
                self.err.write(THINKING_PREFIX)
            self.err.write(piece)
            self._thinking_open = not piece.endswith("\n")
        self.err.flush()

    def _end_thinking(self) -> None:
        if self._thinking_open:
            self.err.write("\n")
            self._thinking_open = False

    def _end_answer(self) -> None:
        view = self._view
        if view is not None and view.answer and not view.answer.endswith("\n") and not self._answer_ended:
            self.out.write("\n")
            self.out.flush()
            self._answer_ended = True
