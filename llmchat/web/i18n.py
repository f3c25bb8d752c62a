"""English and Japanese on the page: labels the browser translates, text the server renders.

Two mechanisms, because text comes from two places:

* **Labels** (fixed at build time) are ``gr.I18n`` keys. The browser translates them with the
  visitor's ``navigator.language`` — the same choice Gradio makes for its own strings — so a
  Japanese browser gets a Japanese page without a server round trip.
* **Server-side text** (chat notices, the model status line, import messages) is rendered by
  :mod:`llmchat.i18n` in the visitor's language, read from the request's ``Accept-Language`` (the
  browser sends its preferred language first, which is what ``navigator.language`` reports). API
  clients send none and get English, which is what scripts and the test suite expect.

``--lang`` (or the start preset's ``lang:``) forces one language for everyone: the I18n
catalogue then holds that language under every locale, server text ignores the header, and a
small script switches Gradio's own strings too (see :func:`force_locale_js`).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import gradio as gr
from gradio.i18n import I18nData

from llmchat.i18n import LANGS, Lang, accept_language, label_text, normalize_lang
from llmchat.i18n.labels import LABELS

__all__ = ["LANGS", "Lang", "force_locale_js", "label", "make_i18n", "normalize_lang", "request_lang", "text"]


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
    return label_text(key, lang, **params)


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
