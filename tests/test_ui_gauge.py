"""The context gauge under the message box, in a real browser: its figures are the test server's
tokenizer's count of what a send then sends (English and Japanese), ``~`` when estimated,
hidden (a note whose tooltip says why) when the window is unknown, and a warning when sending
would leave older messages out."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from llmchat.core.notices import Notice
from llmchat.i18n import phrase
from llmchat.testing.openai_server import OpenAITestServer
from tests.browser import (  # noqa: F401 - the *_fixture names are fixtures (browser, open_page)
    ARTIFACTS,
    BOT,
    INPUT,
    Page,
    browser_fixture,
    open_page_fixture,
    wait_for_bodies,
)
from tests.conftest import launch_app
from tests.test_gauge import SYSTEM, by_estimate, by_tokenizer

pytestmark = pytest.mark.browser
GAUGE = "#llmchat-context .llmchat-gauge"


def gauge_text(page: Page, pattern: str) -> str:
    """Wait until the gauge's text matches ``pattern`` (a regex); return it."""
    page.wait_for_function(
        "(p) => new RegExp(p).test(document.querySelector('#llmchat-context')?.innerText || '')",
        arg=pattern,
    )
    return page.locator("#llmchat-context").inner_text()


def expect_gauge(page: Page, text: str) -> None:
    gauge_text(page, "^" + re.escape(text) + "$")


def body_tokens(body: dict) -> int:
    return by_tokenizer([m["content"] for m in body["messages"]])


def test_counted_by_the_servers_tokenizer_as_a_send_sends_it(
    server: OpenAITestServer, fresh_app_url: str, open_page: Callable[..., Page]
) -> None:
    server.tokenizer, server.n_ctx = "llama.cpp", 2048
    page = open_page(fresh_app_url)
    expect_gauge(page, f"{by_tokenizer([SYSTEM, '']):,} / 2,048 tokens")
    page.fill(INPUT, "What is the capital of France?")
    expect_gauge(page, f"{by_tokenizer([SYSTEM, 'What is the capital of France?']):,} / 2,048 tokens")
    page.keyboard.press("Enter")
    page.wait_for_selector(BOT)
    first = wait_for_bodies(server, 1, page)[0]
    assert body_tokens(first) == by_tokenizer([SYSTEM, "What is the capital of France?"])
    # After the turn, the next message counts the conversation too: exactly what the send sends.
    page.wait_for_selector(f"{INPUT}:not([disabled])")
    page.fill(INPUT, "And of Japan, in a few words please?")
    # Waited for by its value: the gauge is measured once typing pauses, so until then it shows
    # the figures of the empty box.
    reply = "Echo: What is the capital of France?"
    used = by_tokenizer(
        [SYSTEM, "What is the capital of France?", reply, "And of Japan, in a few words please?"]
    )
    expect_gauge(page, f"{used:,} / 2,048 tokens")
    assert used > by_tokenizer([SYSTEM, "And of Japan, in a few words please?"])  # history counted
    page.keyboard.press("Enter")
    second = wait_for_bodies(server, 2, page)[1]
    assert len(second["messages"]) == 4
    assert used == body_tokens(second)
    assert page.locator(f"{GAUGE}.llmchat-gauge-warn").count() == 0


def test_japanese_figures(
    server: OpenAITestServer, fresh_app_url: str, open_page: Callable[..., Page]
) -> None:
    server.tokenizer, server.n_ctx = "llama.cpp", 4096
    page = open_page(fresh_app_url, locale="ja-JP")
    page.fill(INPUT, "日本の首都はどこですか？")
    expect_gauge(page, f"{by_tokenizer([SYSTEM, '日本の首都はどこですか？']):,} / 4,096 トークン")


def test_estimated_without_a_tokenizer(
    server: OpenAITestServer, fresh_app_url: str, open_page: Callable[..., Page]
) -> None:
    server.n_ctx = 2048
    page = open_page(fresh_app_url)
    page.fill(INPUT, "What is the capital of France?")
    expect_gauge(page, f"~{by_estimate([SYSTEM, 'What is the capital of France?']):,} / 2,048 tokens")
    assert "estimated" in (page.get_attribute(GAUGE, "title") or "")


def test_hidden_with_the_reason_when_the_window_is_unknown(
    server: OpenAITestServer, fresh_app_url: str, open_page: Callable[..., Page]
) -> None:
    for locale, lang, note in (
        ("en-US", "en", "context size unknown"),
        ("ja-JP", "ja", "コンテキスト長が不明"),
    ):
        page = open_page(fresh_app_url, locale=locale)
        page.fill(INPUT, "hello")
        expect_gauge(page, f"ⓘ {note}")
        title = page.get_attribute(GAUGE, "title") or ""
        assert title == phrase(Notice("gauge_no_window"), lang).replace("`", "")  # type: ignore[arg-type]
        assert "context_window:" in title
        assert "/" not in page.locator("#llmchat-context").inner_text()


@pytest.fixture
def small_window_app(config_dir: Path, server: OpenAITestServer) -> Iterator[str]:
    """The app opening on the small-window preset (512 tokens, 64 kept for the answer)."""
    yield from launch_app(config_dir, "small-window-no-warm")


def test_warns_before_a_send_that_leaves_older_messages_out(
    server: OpenAITestServer, small_window_app: str, open_page: Callable[..., Page]
) -> None:
    page = open_page(small_window_app)
    long = "a fairly long question about many things "  # 42 bytes: 14 tokens by the estimate
    for n in range(2):  # ~260 tokens in all, echoes included: no warning yet
        page.fill(INPUT, f"{n} {long * 4}")
        page.keyboard.press("Enter")
        wait_for_bodies(server, n + 1, page)
        page.wait_for_selector(f"{BOT} >> nth={n}")
        page.wait_for_selector("#llmchat-input .submit-button")
    gauge_text(page, r"/ 512 tokens$")
    assert page.locator(f"{GAUGE}.llmchat-gauge-warn").count() == 0
    page.fill(INPUT, f"2 {long * 16}")  # ~230 more: over the 448 tokens left for the prompt
    shown = gauge_text(page, r"sending leaves \d+ older messages out")
    count = int(re.search(r"leaves (\d+) older", shown).group(1))  # type: ignore[union-attr]
    assert page.locator(f"{GAUGE}.llmchat-gauge-warn").count() == 1
    page.keyboard.press("Enter")
    body = wait_for_bodies(server, 3, page)[2]
    # What the gauge said would be left out is what the send left out (system + 4 history + message).
    assert len(body["messages"]) == 1 + 4 - count + 1


def test_screenshots(server: OpenAITestServer, fresh_app_url: str, open_page: Callable[..., Page]) -> None:
    server.tokenizer, server.n_ctx = "llama.cpp", 2048
    for width, height in ((1280, 900), (390, 844)):
        page = open_page(fresh_app_url, width=width, height=height)
        page.fill(INPUT, "What is the capital of France?")
        gauge_text(page, r"/ 2,048 tokens$")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=ARTIFACTS / f"gauge-{width}x{height}.png")


def test_follows_the_conversation_on_screen(
    server: OpenAITestServer, fresh_app_url: str, open_page: Callable[..., Page]
) -> None:
    """After a turn, on a new chat and on opening a kept conversation, with the box empty."""
    from tests.test_ui_saved_conversations import ask, new_chat, open_item, wait_listed

    server.tokenizer, server.n_ctx = "llama.cpp", 2048
    page = open_page(fresh_app_url)
    empty = f"{by_tokenizer([SYSTEM, '']):,} / 2,048 tokens"
    expect_gauge(page, empty)
    ask(page, "What is the capital of France?")
    wait_for_bodies(server, 1, page)
    reply = "Echo: What is the capital of France?"
    after = by_tokenizer([SYSTEM, "What is the capital of France?", reply, ""])
    expect_gauge(page, f"{after:,} / 2,048 tokens")
    new_chat(page)
    expect_gauge(page, empty)
    wait_listed(page, ["What is the capital of France?"])
    open_item(page, "What is the capital of France?")
    expect_gauge(page, f"{after:,} / 2,048 tokens")
