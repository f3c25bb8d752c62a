"""Which raw HTML the chat may show: a few formatting tags, rebuilt with a few checked attributes.

:mod:`llmchat.core.safe_markdown` finds where in Markdown text marked would read HTML; this module says
what each ``<...>`` there becomes. Anything not listed here is shown as text (``&lt;``), so forms,
inputs, buttons, frames, objects, media, styles, SVG and images from other hosts never reach the
page. Attributes are dropped unless listed; link targets must be web, mail, in-page or our own
paths (checked after entity decoding, as the browser reads them); an image's source must be a
``data:`` image or one of our own ``/gradio_api/file=`` URLs, else the whole tag shows as text.
"""

from __future__ import annotations

import functools
import html
import re

ALLOWED_TAGS = frozenset(
    [
        "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "details", "dl", "dt",
        "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol",
        "p", "q", "s", "small", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td",
        "tfoot", "th", "thead", "tr", "u", "ul",
    ]
)  # fmt: skip
_ATTRIBUTES: dict[str, frozenset[str]] = {
    "a": frozenset({"href", "title"}),
    "abbr": frozenset({"title"}),
    "img": frozenset({"src", "alt", "title", "width", "height"}),
    "td": frozenset({"align", "colspan", "rowspan"}),
    "th": frozenset({"align", "colspan", "rowspan"}),
    "ol": frozenset({"start"}),
    "details": frozenset({"open"}),
}
_NUMBER_ATTRIBUTES = frozenset({"width", "height", "colspan", "rowspan", "start"})
# Tag names that start an HTML block wherever they open a line (CommonMark / marked "type 6").
BLOCK_TAGS = frozenset(
    [
        "address", "article", "aside", "base", "basefont", "blockquote", "body", "caption", "center",
        "col", "colgroup", "dd", "details", "dialog", "dir", "div", "dl", "dt", "fieldset", "figcaption",
        "figure", "footer", "form", "frame", "frameset", "h1", "h2", "h3", "h4", "h5", "h6", "head",
        "header", "hr", "html", "iframe", "legend", "li", "link", "main", "menu", "menuitem", "meta",
        "nav", "noframes", "ol", "optgroup", "option", "p", "param", "search", "section", "summary",
        "table", "tbody", "td", "tfoot", "th", "thead", "title", "tr", "track", "ul",
    ]
)  # fmt: skip
TAG_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz/!?")  # after "<": maybe a tag
_SAFE_IMAGE = re.compile(
    r"data:image/(?:png|jpeg|jpg|gif|webp);base64,[A-Za-z0-9+/=]+|/gradio_api/file=[A-Za-z0-9._~%/=+:,-]+"
)
_SAFE_HREF = re.compile(r"(?:https?:|mailto:|#|/(?![/\\]))", re.IGNORECASE)
_ATTRIBUTE = r"""\s+[A-Za-z_:][A-Za-z0-9_.:-]*(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?"""
_OPEN_TAG = re.compile(rf"<([A-Za-z][A-Za-z0-9-]*)((?:{_ATTRIBUTE})*)\s*/?>")
_CLOSE_TAG = re.compile(r"</([A-Za-z][A-Za-z0-9-]*)\s*>")
_ATTRIBUTES_OF = re.compile(r"""\s+([A-Za-z_:][A-Za-z0-9_.:-]*)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s"'=<>`]+))?""")
_AUTOLINK = re.compile(  # marked's: <scheme:...> or <e-mail address>
    r"<(?:([A-Za-z][A-Za-z0-9+.-]{1,31}):[^\s\x00-\x1f<>]*"
    r"|[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*)>"
)
_LINK_SCHEMES = ("http", "https", "mailto")


def allowed_image(url: str) -> bool:
    """May the chat show an image from ``url`` (a Markdown destination, ``<...>`` or bare)?"""
    url = url[1:-1] if url.startswith("<") and url.endswith(">") else url
    return bool(_SAFE_IMAGE.fullmatch(url))


def at_angle(line: str, index: int) -> tuple[str, int]:
    """What the ``<`` at ``line[index]`` (followed by one of :data:`TAG_START`) becomes, and where
    the scan goes on: a web or mail autolink as it is, an allowed tag rebuilt, else ``&lt;``."""
    end = line.find(">", index)
    if end > 0:
        candidate = line[index : end + 1]
        if '"' not in candidate and "'" not in candidate:  # then a tag can only end at this ">"
            kept = _angle(candidate)
            return ("&lt;", index + 1) if kept is None else (kept, end + 1)
    autolink = _AUTOLINK.match(line, index)
    if autolink is not None and (autolink.group(1) or "mailto").lower() in _LINK_SCHEMES:
        return autolink.group(0), autolink.end()
    kept_tag = kept_tag_at(line, index)
    return ("&lt;", index + 1) if kept_tag is None else kept_tag


def kept_tag_at(line: str, index: int) -> tuple[str, int] | None:
    """The allowed tag starting at ``line[index]`` (a ``<``), rebuilt, and where it ends."""
    closing = line.startswith("</", index)
    match = (_CLOSE_TAG if closing else _OPEN_TAG).match(line, index)
    if match is None:
        return None
    rebuilt = _rebuild_tag(match.group(0), closing)
    return None if rebuilt is None else (rebuilt, match.end())


@functools.lru_cache(maxsize=4096)
def _angle(candidate: str) -> str | None:
    """:func:`at_angle` for ``<...>`` without quotes (cached: answers repeat their tags)."""
    autolink = _AUTOLINK.fullmatch(candidate)
    if autolink is not None:
        return candidate if (autolink.group(1) or "mailto").lower() in _LINK_SCHEMES else None
    kept = kept_tag_at(candidate, 0)
    return kept[0] if kept is not None and kept[1] == len(candidate) else None


@functools.lru_cache(maxsize=4096)
def _rebuild_tag(tag: str, closing: bool) -> str | None:
    """An allowed tag rebuilt with its checked attributes only; None when it must show as text."""
    match = (_CLOSE_TAG if closing else _OPEN_TAG).match(tag)
    name = match.group(1).lower()  # type: ignore[union-attr]
    if name not in ALLOWED_TAGS:
        return None
    if closing:
        return f"</{name}>"
    kept: list[str] = []
    allowed = _ATTRIBUTES.get(name, frozenset())
    has_src = False
    for attribute in _ATTRIBUTES_OF.finditer(match.group(2)):  # type: ignore[union-attr]
        key, raw = attribute.group(1).lower(), attribute.group(2)
        if key not in allowed:
            continue
        if key == "open":
            kept.append(" open")
            continue
        if raw is None:
            continue
        value = html.unescape(raw[1:-1] if raw[0] in "\"'" else raw)
        plain = re.sub(r"[\x00-\x20\x7f]", "", value)  # as the browser reads a URL
        if key == "href":
            if not _SAFE_HREF.match(plain) or "\\" in plain:
                continue
            value = plain
        elif key == "src":
            if not _SAFE_IMAGE.fullmatch(plain):
                return None
            has_src, value = True, plain
        elif key in _NUMBER_ATTRIBUTES:
            if not re.fullmatch(r"[0-9]{1,4}", value.strip()):
                continue
            value = value.strip()
        elif key == "align" and value.strip().lower() not in ("left", "right", "center"):
            continue
        kept.append(f' {key}="{html.escape(value)}"')
    if name == "img" and not has_src:
        return None
    return f"<{name}{''.join(kept)}>"
