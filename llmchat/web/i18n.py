"""English and Japanese for everything llmchat itself says: labels, placeholders, notices.

Two mechanisms, because text comes from two places:

* **Labels** (fixed at build time) are ``gr.I18n`` keys. The browser translates them with the
  visitor's ``navigator.language`` — the same choice Gradio makes for its own strings — so a
  Japanese browser gets a Japanese page without a server round trip.
* **Server-side text** (chat notices, the model status line, import messages) is rendered in
  the visitor's language, read from the request's ``Accept-Language`` (the browser sends its
  preferred language first, which is what ``navigator.language`` reports). API clients send
  none and get English, which is what scripts and the test suite expect.

``--lang`` (or the start preset's ``lang:``) forces one language for everyone: the I18n
catalogue then holds that language under every locale, server text ignores the header, and a
small script switches Gradio's own strings too (see :func:`force_locale_js`).

Notices are built in English by :mod:`llmchat.engine.errors` and :mod:`llmchat.engine.chat`; each one is
translated here by matching its English template (:data:`NOTICES`), so the English text stays
the single source and a notice whose wording changed is shown in English rather than wrongly.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import gradio as gr
from gradio.i18n import I18nData

from llmchat.i18n.notices import FRAGMENTS, LABELS, NOTICES, STATS_PARTS, Template

Lang = Literal["en", "ja"]
LANGS: tuple[Lang, ...] = ("en", "ja")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_MAX_MATCHED_BODY = 20_000  # longer bodies (logs) keep their English text; matching them is not worth it


def normalize_lang(value: str | None) -> Lang | None:
    """``"ja-JP"`` → ``"ja"``; anything that is not English or Japanese → None."""
    if not value:
        return None
    primary = value.strip().lower().replace("_", "-").split("-")[0]
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


def request_lang(request: gr.Request | None, forced: Lang | None = None) -> Lang:
    """The language for server-side text in this request."""
    if forced:
        return forced
    headers = getattr(request, "headers", None)
    return accept_language(headers.get("accept-language") if headers is not None else None)


def label(key: str) -> I18nData:
    """A label translated in the browser; ``key`` must be in :data:`LABELS`."""
    if key not in LABELS["en"]:
        raise KeyError(key)
    return I18nData(f"llmchat_{key}")


def text(key: str, lang: Lang, **params: Any) -> str:
    """A label's text rendered on the server (for values that change after the page loads)."""
    template = LABELS[lang].get(key) or LABELS["en"][key]
    return template.format(**params) if params else template


def make_i18n(forced: Lang | None = None) -> gr.I18n:
    """The catalogue for ``launch(i18n=...)``; with ``forced``, that language under every locale."""
    catalogues = {lang: {f"llmchat_{k}": v for k, v in LABELS[lang].items()} for lang in LANGS}
    if forced:
        # Browsers in any other locale fall back to "en", so "en" holds the forced language too.
        return gr.I18n(**dict.fromkeys(LANGS, catalogues[forced]))
    return gr.I18n(**catalogues)


@lru_cache(maxsize=1)
def _gradio_locale_module() -> str | None:
    """The file name of Gradio's frontend module that exports ``changeLocale`` (None if not found)."""
    assets = Path(gr.__file__).parent / "templates" / "frontend" / "assets"
    found = [p.name for p in assets.glob("core-*.js") if "as changeLocale" in p.read_text(errors="ignore")]
    return found[0] if len(found) == 1 else None


def force_locale_js(lang: Lang) -> str | None:
    """JavaScript for ``demo.load(js=...)`` that switches Gradio's own strings to ``lang``.

    Gradio picks its locale from ``navigator.language`` and has no setting for it; its settings
    panel switches language by calling ``changeLocale`` from one of its modules. We import that
    same module (same URL, so the same instance) and call it. If a future Gradio renames it, the
    script is skipped: llmchat's own labels are still forced by :func:`make_i18n`.
    """
    module = _gradio_locale_module()
    if module is None:
        return None
    return (
        "async () => {"
        ' const entry = document.querySelector(\'script[type="module"][src*="assets/index-"]\');'
        " if (!entry) return;"
        f" try {{ const m = await import(new URL({module!r}, entry.src).href);"
        f" m.changeLocale({lang!r}); }} catch (e) {{ console.warn('llmchat: cannot set the locale', e); }}"
        "}"
    )


# --- notices ----------------------------------------------------------------------------------


@lru_cache(maxsize=512)
def _pattern(template: str) -> re.Pattern[str]:
    """An English template such as ``"HTTP {status}"`` as a regex with one group per field."""
    parts: list[str] = []
    last = 0
    for match in _PLACEHOLDER.finditer(template):
        parts.append(re.escape(template[last : match.start()]))
        parts.append(f"(?P<{match.group(1)}>.*?)")
        last = match.end()
    parts.append(re.escape(template[last:]))
    return re.compile("".join(parts), re.DOTALL)


def _match(template: str, value: str) -> dict[str, str] | None:
    found = _pattern(template).fullmatch(value)
    return found.groupdict() if found else None


def _render(template: str, values: dict[str, str], lang: Lang) -> str:
    """Fill a translated template; each value is itself translated if it is a known fragment."""
    return _PLACEHOLDER.sub(lambda m: translate_fragment(values.get(m.group(1), ""), lang), template)


def translate_fragment(value: str, lang: Lang) -> str:
    """A piece of a notice (a hint, a reason) in ``lang``; unknown text is returned unchanged."""
    if lang == "en":
        return value
    for fragment in FRAGMENTS:
        values = _match(fragment.en, value)
        if values is not None:
            return _render(fragment.ja, values, lang)
    return value


def translate_notice(
    title: str, body: str, lang: Lang, key: str | None = None, params: dict[str, Any] | None = None
) -> tuple[str, str]:
    """A notice's title and body in ``lang``. What no template matches stays in English.

    With ``key`` (a :data:`NOTICES` key) and its ``params``, the text is rendered from the
    catalogue without matching: the way for notice producers to say exactly what they mean.
    """
    if lang == "en":
        return title, body
    if key is not None:
        found = next((n for n in NOTICES if n.key == key), None)
        if found is not None:
            values = {k: str(v) for k, v in (params or {}).items()}
            ja_body = _render(found.bodies[0].ja, values, lang) if found.bodies else body
            return _render(found.title.ja, values, lang), ja_body
    if title.startswith("⏱"):
        return translate_stats(title, lang), body
    for notice in NOTICES:
        values = _match(notice.title.en, title)
        if values is None:
            continue
        new_title = _render(notice.title.ja, values, lang)
        if len(body) <= _MAX_MATCHED_BODY:
            for template in notice.bodies:
                body_values = _match(template.en, body)
                if body_values is not None:
                    return new_title, _render(template.ja, body_values, lang)
        return new_title, body
    return title, body


def translate_stats(line: str, lang: Lang) -> str:
    """The stats line ("⏱ 0.12 s to first token · 45.1 tokens/s · …"), part by part."""
    if lang == "en":
        return line
    out = []
    for part in line.split(" · "):
        for template in STATS_PARTS:
            values = _match(template.en, part)
            if values is not None:
                part = _render(template.ja, values, lang)
                break
        out.append(part)
    return " · ".join(out)


def translate_message(message: dict[str, Any], lang: Lang) -> dict[str, Any]:
    """A chat message with its llmchat notice (a ``metadata`` title) translated; others unchanged.

    A notice may name its catalogue entry in ``metadata["_key"]`` / ``["_params"]``; those two
    are removed here in every language (they are for us, not for Gradio or API clients).
    """
    metadata = message.get("metadata") or {}
    title = metadata.get("title")
    key, params = metadata.get("_key"), metadata.get("_params")
    if key is not None or params is not None:
        metadata = {k: v for k, v in metadata.items() if k not in ("_key", "_params")}
        message = {**message, "metadata": metadata}
    if lang == "en" or not isinstance(title, str) or not title:
        return message
    body = message.get("content")
    text = body if isinstance(body, str) else ""
    new_title, new_body = translate_notice(
        title, text, lang, key if isinstance(key, str) else None, params if isinstance(params, dict) else None
    )
    translated = {**message, "metadata": {**metadata, "title": new_title}}
    if isinstance(body, str):
        translated["content"] = new_body
    return translated


def translate_reply(reply: Any, lang: Lang) -> Any:
    """What the chat function yields (a string, or a list of messages) with notices translated."""
    if not isinstance(reply, list):
        return reply
    return [translate_message(m, lang) if isinstance(m, dict) else m for m in reply]


def english_notice(key: str, **params: Any) -> tuple[str, str]:
    """Title and body of one of llmchat's own notices (see :data:`NOTICES`), in English."""
    for notice in NOTICES:
        if notice.key == key:
            body = notice.bodies[0].en
            fields = {k: str(v) for k, v in params.items()}
            return notice.title.en.format(**fields), body.format(**fields)
    raise KeyError(key)


__all__ = [
    "LANGS",
    "Lang",
    "Template",
    "accept_language",
    "english_notice",
    "force_locale_js",
    "label",
    "make_i18n",
    "normalize_lang",
    "request_lang",
    "text",
    "translate_fragment",
    "translate_message",
    "translate_notice",
    "translate_reply",
    "translate_stats",
]
