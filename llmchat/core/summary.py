"""A summary in place of the turns that no longer fit (preset ``overflow: summarize``), as data.

When the context budget leaves out older turns, the model can be given a summary of them
instead of nothing. This module is the pure part: what the summary is (:class:`Summary`, which
a front end shows as an editable note and may send back edited), how the server is asked for
one (:func:`summary_request`), and how it goes into the prompt (:func:`with_summary`). Asking,
reusing and extending it is :mod:`llmchat.engine.summary`.

Why it goes into the system message: the prompt's beginning must stay byte-identical between
cuts for the server's prompt cache, and a second system message or an invented user turn breaks
chat templates that want one system message first and strictly alternating turns after it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

MAX_SUMMARY_CHARS = 8000  # a summary llmchat keeps, shows or accepts back
SUMMARY_RESERVE = 256  # tokens kept for the summary when deciding where to cut
SUMMARY_TEMPERATURE = 0.2  # low: a summary should say what was said, not invent
MAX_CHUNK_CHARS = 200_000  # of conversation sent in one summary request (the window bounds it first)

Lang = Literal["en", "ja"]


class Summary(BaseModel):
    """A summary of the first ``covers`` messages of a conversation's history.

    ``fingerprint`` identifies those messages: a summary sent back with a conversation whose
    start has changed since (a retry, an edit, another conversation) is not used.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: StrictStr = Field(min_length=1, max_length=MAX_SUMMARY_CHARS)
    covers: StrictInt = Field(ge=1, le=1_000_000)
    fingerprint: StrictStr = Field(pattern=r"^[0-9a-f]{32}$")


def summary_reserve(window: int) -> int:
    """Tokens kept for the summary: 256, or an eighth of a small window."""
    return min(SUMMARY_RESERVE, window // 8)


def fingerprint(messages: Sequence[dict[str, Any]]) -> str:
    """A short hash of messages (roles and contents) that tells whether a summary is theirs."""
    data = json.dumps(
        [[m.get("role"), m.get("content")] for m in messages], ensure_ascii=False, sort_keys=True
    )
    return hashlib.sha256(data.encode("utf-8", "replace")).hexdigest()[:32]


_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff66-\uff9f]")
_LETTERS = re.compile(r"[A-Za-z\u3040-\u30ff\u3400-\u9fff\uff66-\uff9f]")


def conversation_lang(texts: Sequence[str]) -> Lang:
    """``"ja"`` when a fifth of the letters are Japanese, else ``"en"`` (the summary request's
    own words; it asks for the conversation's language either way)."""
    sample = "".join(texts)[-20_000:]
    letters = len(_LETTERS.findall(sample))
    return "ja" if letters and len(_JAPANESE.findall(sample)) * 5 >= letters else "en"


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, dict) and part.get("type") == "text":
                parts.append(str(part.get("text", "")))
            elif isinstance(part, dict):
                parts.append("[image]")
        return "\n".join(parts)
    return ""


_WORDS = {
    "en": {
        "user": "User",
        "assistant": "Assistant",
        "task": (
            "You write summaries of conversations. Summarize the conversation below for someone who "
            "will continue it: keep the facts, names, numbers, decisions, the user's wishes and any "
            "open questions; leave out greetings. At most {words} words. Write in the language the "
            "conversation is written in. Reply with the summary only."
        ),
        "extend": (
            "You write summaries of conversations. Below is the summary so far and the conversation "
            "that followed it. Write one summary of both for someone who will continue the "
            "conversation: keep the facts, names, numbers, decisions, the user's wishes and any open "
            "questions. At most {words} words. Write in the language the conversation is written in. "
            "Reply with the summary only."
        ),
        "so_far": "Summary so far:",
        "then": "The conversation that followed:",
        "header": "Summary of the earlier part of this conversation (those messages are not shown):",
    },
    "ja": {
        "user": "ユーザー",
        "assistant": "アシスタント",
        "task": (
            "あなたは会話の要約を書きます。以下の会話を、続きを話す人のために要約してください。"
            "事実・名前・数値・決まったこと・ユーザーの希望・未解決の質問は残し、あいさつは省きます。"
            "{chars}文字以内で、会話と同じ言語で書き、要約だけを返してください。"
        ),
        "extend": (
            "あなたは会話の要約を書きます。以下は、これまでの要約と、その後の会話です。"
            "両方をまとめた一つの要約を、続きを話す人のために書いてください。"
            "事実・名前・数値・決まったこと・ユーザーの希望・未解決の質問を残します。"
            "{chars}文字以内で、会話と同じ言語で書き、要約だけを返してください。"
        ),
        "so_far": "これまでの要約:",
        "then": "その後の会話:",
        "header": "この会話の前半の要約（それらのメッセージは表示されていません）:",
    },
}


def summary_request(
    previous: str, messages: Sequence[dict[str, Any]], max_tokens: int
) -> tuple[list[dict[str, str]], Lang]:
    """The messages asking for a summary of ``messages`` (extending ``previous`` when given), and
    the language they are worded in."""
    lang = conversation_lang([previous, *(_text_of(m.get("content")) for m in messages)])
    words = _WORDS[lang]
    lines = []
    for message in messages:
        who = words["user"] if message.get("role") == "user" else words["assistant"]
        lines.append(f"{who}: {_text_of(message.get('content'))}")
    transcript = "\n\n".join(lines)[-MAX_CHUNK_CHARS:]
    size = {"words": max(20, max_tokens * 2 // 3), "chars": max(40, max_tokens)}
    if previous:
        task = words["extend"].format(**size)
        content = f"{words['so_far']}\n{previous}\n\n{words['then']}\n{transcript}"
    else:
        task, content = words["task"].format(**size), transcript
    return [{"role": "system", "content": task}, {"role": "user", "content": content}], lang


def with_summary(system_prompt: str | None, text: str) -> str:
    """The system message's content: the system prompt (if any), then the summary under a header
    in the summary's own language."""
    block = f"{_WORDS[conversation_lang([text])]['header']}\n{text}"
    return f"{system_prompt}\n\n{block}" if system_prompt else block


_THINK = re.compile(r"<think>.*?(?:</think>|$)", re.DOTALL)


def clean_summary(text: str) -> str:
    """A model's reply as a summary: reasoning (``<think>``) removed, whitespace trimmed, bounded."""
    return _THINK.sub("", text).strip()[:MAX_SUMMARY_CHARS]


def shorten(text: str, tokens: int, limit: int) -> str:
    """``text`` cut so that it takes about ``limit`` tokens when it takes ``tokens`` (deterministic:
    the same summary is always cut the same way, so the prompt stays byte-identical)."""
    if tokens <= limit:
        return text
    keep = max(1, len(text) * limit * 9 // (tokens * 10))
    return text[:keep].rstrip() + "…"
