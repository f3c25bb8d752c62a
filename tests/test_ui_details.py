"""The smaller things a visitor meets in Chromium: the stats line, maths, the welcome's example
prompts, Esc, 👍/👎 kept in the export, and Japanese names, descriptions and tooltips.

One app with a preset that sets every per-language key (``name_ja``, ``description_ja``,
``examples``, ``examples_ja``) and shows stats; the test server answers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from llmchat.core.presets import load_catalog
from llmchat.ports import free_port
from llmchat.testing.openai_server import Behavior, OpenAITestServer
from llmchat.web.app import build_demo
from tests.browser import (  # noqa: F401 - the *_fixture names are fixtures (browser, open_page)
    BOT,
    USER,
    Page,
    ask,
    browser_fixture,
    download,
    expect_bot,
    open_files,
    open_page_fixture,
    open_settings,
    send,
    texts,
    wait_bot_contains,
    wait_for_bodies,
    wait_saved,
)
from tests.conftest import SECRET_KEY

pytestmark = pytest.mark.browser


@pytest.fixture
def detail_app(tmp_path: Path, server: OpenAITestServer) -> Iterator[str]:
    (tmp_path / "guide.yaml").write_text(
        f"""
name: Travel guide
name_ja: 旅行ガイド
description: answers questions about trips
description_ja: 旅の質問に答えます
base_url: {server.base_url}
api_key: {SECRET_KEY}
model: test-model
examples: ["Plan a day in Kyoto", "What should I pack?"]
examples_ja: ["京都で一日の計画を立てて"]
""",
        encoding="utf-8",
    )
    demo = build_demo(load_catalog(tmp_path, environ={}), "guide", concurrency=4)
    _, url, _ = demo.launch(
        server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True
    )
    yield url
    demo.close()


def test_stats_are_one_line_outside_the_answer_that_copy_leaves_out(
    open_page: Callable[..., Page], detail_app: str, server: OpenAITestServer
) -> None:
    page = open_page(detail_app)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    send(page, "hi")
    expect_bot(page, "Echo: hi")  # the bubble holds the answer alone
    stats = page.locator("#llmchat-chat .llmchat-stats")
    stats.wait_for()
    line = stats.inner_text().strip()
    assert "tokens/s" in line and "\n" not in line and line[0].isdigit()  # no emoji (needs a font)
    page.locator(BOT).last.hover()
    page.locator("#llmchat-chat").get_by_role("button", name="Copy message").last.click()
    assert page.evaluate("navigator.clipboard.readText()") == "Echo: hi"


def test_inline_and_display_maths_in_all_four_delimiters(
    open_page: Callable[..., Page], detail_app: str, server: OpenAITestServer
) -> None:
    server.enqueue(Behavior(reply="Inline $x^2$ and \\(y_1\\); display $$a+b$$ and \\[c_2\\] done."))
    page = open_page(detail_app)
    send(page, "maths")
    page.wait_for_function(
        f"() => document.querySelectorAll({BOT!r} + ' .katex').length >= 4", timeout=15_000
    )
    shown = page.locator(BOT).last.inner_text()
    assert "$" not in shown and "\\(" not in shown and "\\[" not in shown


def test_the_welcome_offers_the_presets_examples_and_one_click_asks(
    open_page: Callable[..., Page], detail_app: str, server: OpenAITestServer
) -> None:
    page = open_page(detail_app)
    assert "How can I help?" in page.inner_text("#llmchat-chat")
    page.get_by_text("What should I pack?").click()
    expect_bot(page, "Echo: What should I pack?")
    assert page.locator(USER).all_inner_texts() == ["What should I pack?"]
    assert texts(wait_for_bodies(server, 1, page)[0])[-1] == ("user", "What should I pack?")


def test_escape_stops_the_answer(
    open_page: Callable[..., Page], detail_app: str, server: OpenAITestServer
) -> None:
    server.set_behavior(Behavior(tokens=400, delay=0.05))
    page = open_page(detail_app)
    send(page, "a long answer please")
    wait_bot_contains(page, "tok5")
    page.keyboard.press("Escape")
    record = server.wait_for_disconnect(timeout=10)
    assert record.disconnected and not record.finished
    page.wait_for_selector("#llmchat-input button.submit-button")


def test_feedback_is_kept_with_the_answer_and_in_the_export(
    open_page: Callable[..., Page], detail_app: str, server: OpenAITestServer
) -> None:
    page = open_page(detail_app)
    ask(page, "rate me")
    page.locator(BOT).last.hover()
    page.locator("#llmchat-chat").get_by_role("button", name="Like").last.click()
    # The like has reached the session once the page's copy of the conversation carries it.
    page.wait_for_function(
        """() => (localStorage.getItem("llmchat-c:" + localStorage.getItem("llmchat-open")) || "")
            .includes('"feedback":"up"')"""
    )
    open_files(page)
    # Export JSON gives the conversation as last saved: the like asks for a save (~0.4 s later).
    for _ in range(10):
        exported = json.loads(download(page, "#llmchat-export-json").read_text(encoding="utf-8"))
        if exported["nodes"][1].get("feedback"):
            break
        page.wait_for_timeout(500)
    assert [n.get("feedback") for n in exported["nodes"]] == [None, "up"]


def test_japanese_page_names_the_preset_and_its_examples_and_tooltips_in_japanese(
    open_page: Callable[..., Page], detail_app: str, server: OpenAITestServer
) -> None:
    page = open_page(detail_app, locale="ja-JP")
    page.wait_for_selector("text=京都で一日の計画を立てて")
    assert "Plan a day in Kyoto" not in page.inner_text("#llmchat-chat")
    assert page.get_attribute(".llmchat-toggle-right", "aria-label") == "設定"
    assert page.get_attribute(".llmchat-toggle-left", "aria-label") == "会話"
    open_settings(page)
    assert page.locator("#llmchat-preset input").input_value() == "旅行ガイド"
    assert "旅の質問に答えます" in page.inner_text("#llmchat-preset-info")
    assert (
        page.get_attribute("#llmchat-model button.custom-button", "title")
        == "サーバーにモデル一覧を問い合わせ直す"
    )
    ask(page, "こんにちは")
    page.locator(BOT).last.hover()
    labels = page.locator("#llmchat-chat button").evaluate_all(
        "bs => bs.map(b => b.getAttribute('aria-label'))"
    )
    assert {"メッセージをコピー", "いいね", "よくないね"} <= set(labels)
    assert not {"Copy message", "Like", "Dislike", "Retry"} & set(labels)
