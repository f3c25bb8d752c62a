"""English and Japanese for everything llmchat writes, with no front end attached.

- :mod:`llmchat.i18n.catalog`: notices, hints and the stats line, each sentence once per language;
- :mod:`llmchat.i18n.labels`: the page's own words (labels, placeholders, import messages);
- this module: choosing a language and putting a notice, a label or the stats into words.

The web page (:mod:`llmchat.web.i18n`) and the terminal client use the same functions.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal

from llmchat.core.notices import Notice
from llmchat.core.turn import Stats
from llmchat.i18n.catalog import NOTICES, STATS, Text
from llmchat.i18n.labels import LABELS

Lang = Literal["en", "ja"]
LANGS: tuple[Lang, ...] = ("en", "ja")

__all__ = [
    "LANGS",
    "Lang",
    "accept_language",
    "label_text",
    "normalize_lang",
    "notice_text",
    "phrase",
    "stats_line",
    "terminal_lang",
]


def normalize_lang(value: str | None) -> Lang | None:
    """``"ja-JP"`` → ``"ja"``; anything that is not English or Japanese → None."""
    if not value:
        return None
    primary = value.strip().lower().replace("_", "-").split("-")[0].split(".")[0]
    return primary if primary in LANGS else None  # type: ignore[return-value]


def accept_language(header: str | None) -> Lang:
    """The visitor's language from ``Accept-Language``: the most preferred entry decides.

    Only the first choice counts (like Gradio's frontend, which uses ``navigator.language``):
    a visitor who prefers French gets English here and English labels there, never a mix.
    """
    best: tuple[float, str] | None = None
    for item in (header or "").split(","):
        tag, _, params = item.strip().partition(";")
        if not tag:
            continue
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if best is None or quality > best[0]:
            best = (quality, tag)
    return normalize_lang(best[1] if best else None) or "en"


def terminal_lang(environ: Mapping[str, str] | None = None) -> Lang:
    """The terminal's language, from ``LC_ALL``, ``LC_MESSAGES`` or ``LANG`` (POSIX order)."""
    env = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if env.get(name):
            return normalize_lang(env[name]) or "en"
    return "en"


def _pick(text: Text, lang: Lang) -> str:
    return text.ja if lang == "ja" else text.en


def _values(params: Mapping[str, Any], lang: Lang) -> dict[str, Any]:
    return {key: phrase(value, lang) if isinstance(value, Notice) else value for key, value in params.items()}


def notice_text(notice: Notice, lang: Lang) -> tuple[str, str]:
    """A notice's title and body in ``lang``."""
    entry = NOTICES[notice.kind]
    values = _values(notice.params, lang)
    title = _pick(entry.title, lang).format(**values) if entry.title else ""
    body = _pick(entry.body, lang).format(**values) if entry.body else ""
    return title, body


def phrase(notice: Notice, lang: Lang) -> str:
    """A notice used as a value of another (a hint, a reason): its body alone."""
    return notice_text(notice, lang)[1]


def stats_line(stats: Stats, lang: Lang) -> str:
    """``⏱ 0.12 s to first token · 45.1 tokens/s · 12 prompt + 40 completion tokens``."""
    parts = [_pick(STATS["first_token"], lang).format(seconds=stats.first_token_seconds)]
    if stats.rate:
        parts.append(_pick(STATS["rate"], lang).format(mark="~" * stats.rate_estimated, rate=stats.rate))
    mark = "~" * stats.completion_estimated
    if stats.prompt_tokens:
        tokens = _pick(STATS["tokens"], lang).format(
            prompt_mark="~" * stats.prompt_estimated,
            prompt=stats.prompt_tokens,
            mark=mark,
            completion=stats.completion_tokens,
        )
    else:
        tokens = _pick(STATS["completion"], lang).format(mark=mark, completion=stats.completion_tokens)
    parts.append(tokens)
    return " · ".join(parts)


def label_text(key: str, lang: Lang, **params: Any) -> str:
    """One of the page's own words (:data:`~llmchat.i18n.labels.LABELS`), rendered for ``lang``."""
    template = LABELS[lang].get(key) or LABELS["en"][key]
    return template.format(**params) if params else template
