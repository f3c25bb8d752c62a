"""Markdown for the chat that cannot make the visitor's browser reach out.

Model output, server error text and imported conversations are shown by Gradio's Chatbot, which
renders Markdown (marked) and raw HTML and then runs a sanitiser that stops scripts but lets
``<img src=https://elsewhere/?q=...>``, ``![](https://elsewhere/...)``, forms, inputs and (sandboxed)
iframes through. A prompt-injected model could put the conversation into such a URL, or draw a
password form inside the chat. :func:`safe_markdown` rewrites the text before it reaches the page:

* Markdown images whose URL is not a ``data:image/...`` nor one of our own ``/gradio_api/file=``
  URLs become links (``[alt](url)``); an image that cannot be parsed (a reference, or half of one
  while the answer streams) loses its ``!`` (written ``\\!``), so it is never an image.
* Raw HTML outside code keeps only a few formatting tags, rebuilt with a few checked attributes;
  every other ``<`` that could open a tag is written ``&lt;`` and shows as text. A tag cut off at
  the end of a streamed answer is text until it is complete.
* Code is left alone where marked surely renders it as code. Where it might not (marked's inline
  rules differ from what a simple scanner sees), an inline code span holding HTML is written as
  ``<code>`` with its text escaped, which looks the same and is safe however it is parsed. After a
  fence whose end depends on list indentation, later fences are treated as text (escaped).
* ``` ```mermaid ``` blocks become plain code: Gradio inserts their text as raw HTML and mermaid
  renders HTML labels, so a diagram could carry a form or an image.

What Gradio itself does first is mirrored: ``$$...$$`` (the Chatbot's LaTeX delimiters) is cut out
before marked sees the text and is escaped by Gradio when put back, so those parts are left as they
are and the rest is scanned as marked will see it. The page's Content-Security-Policy
(:mod:`llmchat.web.csp`) stops loads from other hosts even if something gets through.

Pure text in, text out (no Gradio import); idempotent, so stored conversations can be cleaned again.
"""

from __future__ import annotations

import functools
import re
import threading
from collections import OrderedDict
from typing import Any

from llmchat.core.safe_html import BLOCK_TAGS, TAG_START, allowed_image, at_angle, kept_tag_at

__all__ = ["safe_markdown", "safe_message", "safe_reply"]

_IMAGE = re.compile(r"""!\[([^\[\]\\`]*)\]\(\s*(<[^<>\\]*>|[^\s()<>\\]*)(?:\s+("[^"\\]*"|'[^'\\]*'))?\s*\)""")
_LATEX = re.compile(r"\$\$[\s\S]+?\$\$")  # gr.Chatbot's default latex_delimiters, as Gradio finds them
_HIDDEN_LATEX = re.compile("\ue000([0-9]+)\ue001")
_INDENT = re.compile(r"( *)(\t*)( *)")
_FENCE = re.compile(r"(`{3,}|~{3,})(.*)")
_CONTAINER = re.compile(r"(?:[ \t]*(?:>|(?:[-*+]|[0-9]{1,9}[.)])(?=[ \t]|$)))*[ \t]*")
_TABLE_RULE = re.compile(r"[ \t>|:-]*")
_DEFINITION = re.compile(r"\[.*\]:")
# Where the scanner must look: an escape of something it acts on, a backtick run, "<" that could open
# a tag, "![", and (in tables) a cell boundary.
_SPECIAL = re.compile(r"\\[\\`<!|]|`+|<(?=[A-Za-z/!?])|!\[")
_SPECIAL_IN_TABLE = re.compile(r"\\[\\`<!|]|`+|<(?=[A-Za-z/!?])|!\[|\|")
_BACKTICKS = re.compile(r"`+")
_DANGER = re.compile(r"<[A-Za-z/!?]|!\[")
_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
_CODE_TEXT = {ord(c): f"&#{ord(c)};" for c in _PUNCTUATION - {"$"}} | {
    ord("&"): "&amp;",
    ord("<"): "&lt;",
    ord(">"): "&gt;",
}
_BEFORE_TRUSTED_SPAN = frozenset("(*_\"'")  # not "~": marked reads "~`" as text


def safe_markdown(text: str) -> str:
    """``text`` (Markdown meant for the chat) rewritten so that, rendered by Gradio, it loads
    nothing from another origin and shows no form, input, iframe, object or other active element."""
    if not isinstance(text, str) or not ("<" in text or "![" in text or "```mermaid" in text):
        return text
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\ue000" in text or "\ue001" in text:
        text = text.replace("\ue000", "\ufffd").replace("\ue001", "\ufffd")
    # A streamed answer only grows: go on from the last blank line of an earlier call's text.
    done = _RESUME.find(text)
    source, output = (done.source + "\n", done.output + "\n") if done else ("", "")
    scanner = _Scanner(done.state if done else None)
    rest = text[len(source) :]
    latex: list[str] = []
    if "$$" in rest:

        def hide(match: re.Match[str]) -> str:
            latex.append(match.group(0))
            return f"\ue000{len(latex) - 1}\ue001"

        rest = _LATEX.sub(hide, rest)

    def shown(lines: list[str]) -> str:
        joined = "\n".join(lines)
        return _HIDDEN_LATEX.sub(lambda m: latex[int(m.group(1))], joined) if latex else joined

    lines = rest.split("\n")
    out = scanner.run(lines, "|" in rest)
    if scanner.checkpoint is not None:
        index, state = scanner.checkpoint
        _RESUME.add(source + shown(lines[:index]), output + shown(out[:index]), state)
    return output + shown(out)


def safe_message(message: Any) -> Any:
    """One chat message (``{"role", "content", "metadata"}``) with its text and title made safe."""
    if not isinstance(message, dict):
        return message
    out = dict(message)
    content = message.get("content")
    if isinstance(content, str):
        out["content"] = safe_markdown(content)
    elif isinstance(content, list):
        out["content"] = [_safe_block(block) for block in content]
    metadata = message.get("metadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("title"), str):
        out["metadata"] = {**metadata, "title": safe_markdown(metadata["title"])}
    return out


def safe_reply(reply: Any) -> Any:
    """What the chat function yields (a string, or a list of messages), made safe."""
    if isinstance(reply, str):
        return safe_markdown(reply)
    if isinstance(reply, list):
        return [safe_message(message) for message in reply]
    return reply


def _safe_block(block: Any) -> Any:
    if isinstance(block, str):
        return safe_markdown(block)
    if isinstance(block, dict) and block.get("type") == "text" and isinstance(block.get("text"), str):
        return {**block, "text": safe_markdown(block["text"])}
    return block


def _indent(line: str) -> tuple[int, int]:
    """Columns of indentation as marked counts them (leading tabs are 4 spaces each), and where
    the line's content starts."""
    match = _INDENT.match(line)
    spaces, tabs, more = match.group(1), match.group(2), match.group(3)
    return len(spaces) + 4 * len(tabs) + len(more), match.end()


def _is_fence_line(line: str) -> bool:
    """Could marked see a code fence (opening or closing) in this line, in any container?"""
    rest = line[_CONTAINER.match(line).end() :]
    match = _FENCE.match(rest)
    return bool(match) and not (match.group(1)[0] == "`" and "`" in match.group(2))


def _escape_lt(text: str) -> str:
    return text.replace("<", "&lt;")


def _code_html(content: str) -> str:
    """An inline code span as HTML that renders like marked's own and stays text however parsed."""
    if content.strip(" ") and content.startswith(" ") and content.endswith(" "):
        content = content[1:-1]
    return "<code>" + content.translate(_CODE_TEXT) + "</code>"


def _starts_definition(line: str) -> bool:
    """A link definition, whose title marked lets run over several lines."""
    return _DEFINITION.match(line, _CONTAINER.match(line).end()) is not None  # type: ignore[union-attr]


def _starts_html_block(line: str) -> bool:
    """Would marked start an HTML block here, once the line's tags are filtered? Only an allowed
    tag can still open one: a block-level name, or any tag alone on its line."""
    start = _CONTAINER.match(line).end()
    if not line.startswith("<", start):
        return False
    kept = kept_tag_at(line, start)
    if kept is None:
        return False
    name = re.match(r"</?([a-z0-9]+)", kept[0]).group(1)  # type: ignore[union-attr]
    return name in BLOCK_TAGS or not line[kept[1] :].strip(" \t")


def _table_chunks(lines: list[str]) -> list[bool]:
    """For each line: is it in a run of non-blank lines that holds something like a table's
    delimiter row? Such lines are split into cells (at every ``|``) before inline parsing."""
    flags = [False] * len(lines)
    start = 0
    for end in range(len(lines) + 1):
        if end == len(lines) or not lines[end].strip(" \t"):
            if any(
                "-" in line and ("|" in line or ":" in line) and _TABLE_RULE.fullmatch(line)
                for line in lines[start:end]
            ):
                flags[start:end] = [True] * (end - start)
            start = end + 1
    return flags


_State = tuple[tuple[str, int, int] | None, bool, bool]


class _Scanner:
    """One pass over the lines: code fences (left alone), and everything else made safe."""

    def __init__(self, state: _State | None = None) -> None:
        self.fence: tuple[str, int, int] | None = None  # (character, run length, indentation)
        self.unsure = False  # a fence's end depended on list indentation: no fence is trusted after
        self.raw_html = False  # maybe inside an HTML block (or a definition): nothing is code
        if state is not None:
            self.fence, self.unsure, self.raw_html = state
        # Per paragraph (run of non-blank lines): can a code span found here be trusted to be one?
        self.paired = True  # every backtick run so far had its partner in the same cell
        self.bracket = False  # a "[" was seen: a link could swallow a backtick
        self.emphasis = False  # "*", "_" or "~" was seen: an emphasis could end inside a span
        # The last blank line (not the final line) before which no "$$" waits for its partner:
        # (lines up to and including it, the state after it), to go on from there next time.
        self.checkpoint: tuple[int, _State] | None = None

    def run(self, lines: list[str], tables: bool) -> list[str]:
        out: list[str] = []
        in_table = _table_chunks(lines) if tables else None
        dollars = False
        last = len(lines) - 1
        for index, line in enumerate(lines):
            if self.fence is not None and self._in_fence(line):
                out.append(line)
            elif not line.strip(" \t"):
                self.raw_html = False
                self._new_paragraph()
                out.append(line)
            else:
                out.append(self._line(line, bool(in_table and in_table[index])))
            if "$$" in line:
                dollars = True
            elif index < last and not dollars and not line.strip(" \t"):
                self.checkpoint = (index + 1, (self.fence, self.unsure, self.raw_html))
        return out

    def _line(self, line: str, table: bool) -> str:
        if "```mermaid" in line:
            line = line.replace("```mermaid", "``` mermaid")
        if ("```" in line or "~~~" in line) and _is_fence_line(line):
            fence = self._fence_opened_by(line)
            if fence is not None:
                # The info string too: on the last line, after a paragraph, marked reads no fence
                # (it wants a line break after one) and shows the line as text.
                line = self._inline(line, table)
                self.fence = fence
                self._new_paragraph()  # a fence ends the paragraph before it
                return line
            self.unsure = True
        if ("<" in line and _starts_html_block(line)) or ("]:" in line and _starts_definition(line)):
            self.raw_html = True
        return self._inline(line, table)

    def _fence_opened_by(self, line: str) -> tuple[str, int, int] | None:
        """The fence this line surely opens (character, run length, indentation), if any."""
        if self.unsure or self.raw_html:
            return None
        indent, start = _indent(line)
        match = _FENCE.match(line, start)
        if indent > 3 or match is None:
            return None
        return match.group(1)[0], len(match.group(1)), indent

    def _new_paragraph(self) -> None:
        self.paired, self.bracket, self.emphasis = True, False, False

    def _in_fence(self, line: str) -> bool:
        """Is this line still (surely) code? Ends the fence, or gives up on fences, if not."""
        char, length, opened_at = self.fence  # type: ignore[misc]
        if opened_at == 0 and char * length not in line:
            return True  # (the common case, quickly: no closing run, and no indentation to lose)
        if not line.strip(" \t"):
            return True
        indent, start = _indent(line)
        closes = line.startswith(char * length, start) and _closer(char, length).fullmatch(line, start)
        if closes and opened_at <= indent <= 3:
            self.fence = None
            return True
        if closes and indent <= opened_at + 3:
            # Whether this ends the fence depends on the list item it may be in (marked's list
            # rules differ from CommonMark's): from here on no fence is trusted, all is escaped.
            self.fence, self.unsure = None, True
            return False
        if indent >= opened_at:
            return True
        self.fence, self.unsure = None, True  # a less indented line may end a list item (and fence)
        return False

    def _note(self, text: str) -> None:
        """Plain text that marked will parse: remember what could change how a later span parses."""
        if "[" in text:
            self.bracket = True
        if "*" in text or "_" in text or "~" in text:
            self.emphasis = True

    def _trusted_span(self, line: str, opener: int, cell_start: int, content: str) -> bool:
        if not self.paired or self.bracket or (self.emphasis and any(c in content for c in "*_~")):
            return False
        before = opener
        while before > cell_start and not line[before - 1].isspace():
            before -= 1
        return all(c in _BEFORE_TRUSTED_SPAN for c in line[before:opener])

    def _inline(self, line: str, table: bool) -> str:
        out: list[str] = []
        n = len(line)
        done = 0  # line[:done] is in out
        noted = 0  # line[:noted] went through _note
        cell_start = 0
        special = _SPECIAL_IN_TABLE if table else _SPECIAL
        i = 0
        while True:
            match = special.search(line, i)
            if match is None:
                break
            j, i = match.start(), match.end()
            c = line[j]
            if c == "|":  # a table cell's start
                cell_start = i
            elif c == "\\":  # an escape: skipped whole, but for "\\<"
                if line[j + 1] == "<" and j + 2 < n and (line[j + 2] in TAG_START):
                    # A bare URL before it (a GFM autolink) may take the backslash: "&lt;" holds anyway.
                    out.append(line[done:j])
                    out.append("&lt;")
                    done = i
            elif c == "`":
                if self.raw_html:
                    continue  # in an HTML block backticks are plain text
                cell_end = line.find("|", i) if table else -1
                closer = _closing_run(line, i, n if cell_end < 0 else cell_end, i - j)
                if closer is None:
                    self.paired = False
                    continue
                content = line[i:closer]
                i = closer + (i - j)
                if not _DANGER.search(content):
                    continue
                self._note(line[noted:j])
                noted = i
                if self._trusted_span(line, j, cell_start, content):
                    continue
                out.append(line[done:j])
                out.append(_code_html(content))
                done = i
            elif c == "<":
                out.append(line[done:j])
                text, done = at_angle(line, j)
                out.append(text)
                i = done
            else:  # "![": an image, if its URL is ours
                image = _IMAGE.match(line, j)
                out.append(line[done:j])
                if image is not None and allowed_image(image.group(2)):
                    title = f" {_escape_lt(image.group(3))}" if image.group(3) else ""
                    out.append(f"![{_escape_lt(image.group(1))}]({image.group(2)}{title})")
                    done = i = image.end()
                elif image is not None and not (j > done and line[j - 1] == "!"):  # a link to it
                    out.append("[🖼️" if not image.group(1).strip() else "[")
                    done = i
                else:  # not an image we can read (a reference, or half of one): never an image
                    out.append("\\![")  # (also after a "!", which a bare "[" would make an image)
                    done = i
        out.append(line[done:])
        self._note(line[noted:])
        return "".join(out)


@functools.lru_cache(maxsize=64)
def _closer(char: str, length: int) -> re.Pattern[str]:
    """marked's closing fence: the opening run (or longer), any of ~ and `, then spaces."""
    return re.compile(rf"{re.escape(char)}{{{length},}}[~`]* *")


def _closing_run(line: str, start: int, end: int, length: int) -> int | None:
    """Where the code span opened by ``length`` backticks ends (a run of exactly as many)."""
    for run in _BACKTICKS.finditer(line, start, end):
        if run.end() - run.start() == length:
            return run.start()
    return None


class _Done:
    """A text already made safe up to a blank line, and the scanner's state there."""

    __slots__ = ("output", "source", "state")

    def __init__(self, source: str, output: str, state: _State) -> None:
        self.source, self.output, self.state = source, output, state


class _ResumeCache:
    """The texts made safe lately, up to their last blank line, so that the next update of a
    streamed answer (the same text, longer) is scanned from there, not from the start.

    Shared by every answer in the process and sized for as many answers streaming at once as the
    app runs (``--concurrency``, 128 by default; an answer's thinking is a text of its own): with
    room for only 64, 100 answers streaming together pushed each other out and every update was
    a full scan again (6x the CPU). Entries are found by their first characters, not by trying
    each one. Bounded in entries and characters; the least recently used go first.
    """

    KEY = 200  # characters that pick an entry; every entry's text is longer (MIN_CHARS)
    MIN_CHARS = 2_000  # shorter texts are scanned in no time: not kept

    def __init__(self, entries: int = 320, chars: int = 8_000_000) -> None:
        self.entries, self.chars = entries, chars
        # first KEY characters -> the texts starting with them (most recent first)
        self._groups: OrderedDict[str, list[_Done]] = OrderedDict()
        self._count = self._size = 0
        self._lock = threading.Lock()

    def find(self, text: str) -> _Done | None:
        key = text[: self.KEY]
        best = None
        with self._lock:
            for item in self._groups.get(key, ()):
                size = len(item.source)
                if (
                    size < len(text)
                    and (best is None or size > len(best.source))
                    and text[size] == "\n"
                    and text.startswith(item.source)
                ):
                    best = item
            if best is not None:
                self._groups.move_to_end(key)
        return best

    def add(self, source: str, output: str, state: _State) -> None:
        if len(source) < self.MIN_CHARS:
            return
        key = source[: self.KEY]
        with self._lock:
            kept = [_Done(source, output, state)]
            for item in self._groups.pop(key, ()):
                if source.startswith(item.source):  # an earlier update of the same answer
                    self._forget(item)
                else:
                    kept.append(item)
            self._groups[key] = kept
            self._count += 1
            self._size += len(source) + len(output)
            while self._count > self.entries or self._size > self.chars:
                _, oldest = self._groups.popitem(last=False)
                for item in oldest:
                    self._forget(item)

    def _forget(self, item: _Done) -> None:
        self._count -= 1
        self._size -= len(item.source) + len(item.output)

    def clear(self) -> None:
        with self._lock:
            self._groups.clear()
            self._count = self._size = 0


_RESUME = _ResumeCache()
