"""The page's own scripts and style sheet (``assets/llmchat.js``, ``assets/llmchat-page.js``,
``assets/llmchat.css``), and the theme's fonts.

Gradio has no component for a list of saved conversations, for ←/→ between answer variants or for
a muted stats line that Copy leaves out, so the page's script draws them: ``llmchat.js`` keeps the
conversations and draws the list, ``llmchat-page.js`` the rest (see their headers for what and
why). They get their words in both languages and their limits from :func:`head`, which
:class:`~llmchat.web.chat_app.ChatApp` puts into the page's ``<head>``.

Fonts: the default theme loads Source Sans Pro from Google in weights 400 and 600 only, so bold
Latin text fell back to another font, and Japanese came from whatever the browser found. The
theme here uses the system's own UI fonts, which have real bold faces and cover Japanese
(Hiragino, Yu Gothic, Noto Sans CJK), and loads nothing from another host.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import gradio as gr

from llmchat.core.tree_file import MAX_CONVERSATIONS
from llmchat.i18n import LANGS
from llmchat.i18n.labels import LABELS
from llmchat.web.i18n import Lang

ASSETS = Path(__file__).parent / "assets"
MAX_STORED_CHARS = 4_000_000  # all conversations together, in this browser's local storage
SANS = [
    "ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "Roboto", "Noto Sans", "Helvetica Neue",
    "Arial", "Hiragino Sans", "Hiragino Kaku Gothic ProN", "Yu Gothic UI", "Meiryo", "Noto Sans JP",
    "Noto Sans CJK JP", "sans-serif",
]  # fmt: skip
MONO = [
    "ui-monospace",
    "SFMono-Regular",
    "Menlo",
    "Consolas",
    "DejaVu Sans Mono",
    "Noto Sans Mono CJK JP",
    "monospace",
]
# Gradio's own words that stay English on a Japanese page (written into its components, or
# missing from its Japanese catalogue); the script puts these into the buttons' tooltips and labels.
GRADIO_JA = {
    "Copy message": "メッセージをコピー",
    "Copied message": "コピーしました",
    "Copy conversation": "会話をコピー",
    "Copied conversation": "コピーしました",
    "Click to upload or drop files": "クリックまたはドロップでファイルを添付",
    "Upload a file": "ファイルを添付",
    "Submit": "送信",
    "Stop": "停止",
    "Like": "いいね",
    "Dislike": "よくないね",
    "Clear": "クリア",
    "Remove": "削除",
    "Download": "ダウンロード",
}


def theme() -> gr.themes.Base:
    return gr.themes.Default(font=SANS, font_mono=MONO)


def script_labels() -> dict[str, dict[str, str]]:
    """The words the script uses, in both languages."""
    keys = [key for key in LABELS["en"] if key.startswith("js_")] + [
        "conversations",
        "settings",
        "new_chat",
        "refresh_models_tip",
    ]
    return {lang: {key: LABELS[lang][key] for key in keys} for lang in LANGS}


@cache
def _asset(name: str) -> str:
    return (ASSETS / name).read_text(encoding="utf-8")


def head(forced: Lang | None) -> str:
    """``<head>`` content: the style sheet, the script's settings, the script."""
    config = {
        "forced": forced,
        "labels": script_labels(),
        "maxConversations": MAX_CONVERSATIONS,
        "maxChars": MAX_STORED_CHARS,
        "gradioJa": GRADIO_JA,
    }
    settings = json.dumps(config, ensure_ascii=False).replace("</", "<\\/")
    return (
        f"<style>{_asset('llmchat.css')}{_asset('llmchat-summary.css')}</style>\n"
        f"<script>window.llmchatConfig = {settings};</script>\n"
        f"<script>{_asset('llmchat.js')}</script>\n"
        f"<script>{_asset('llmchat-page.js')}</script>\n"
        f"<script>{_asset('llmchat-summary.js')}</script>"
    )
