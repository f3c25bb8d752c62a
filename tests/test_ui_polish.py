"""What a visitor sees around the answers, in Chromium: the chat scrolls to a notice that arrives
at its end, no typing bubble sits above a new question while a later answer streams, and bold
Latin and Japanese text are drawn with fonts that have a bold face (not a semi-bold one made
bolder, nor whatever the browser finds for Japanese).

Fonts are asked of Chromium itself (DevTools' ``CSS.getPlatformFontsForNode``: the fonts the text
of a node was drawn with), so the test sees what the screen shows, whatever fonts the machine has.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from llmchat.testing.openai_server import Behavior, OpenAITestServer
from tests.browser import (  # noqa: F401 - the *_fixture names are fixtures (browser, open_page)
    BOT,
    Page,
    ask,
    browser_fixture,
    expect_bot,
    open_page_fixture,
    send,
    wait_bot_contains,
)

pytestmark = pytest.mark.browser

CJK_FAMILIES = ("Hiragino", "Yu Gothic", "Meiryo", "Noto Sans JP", "Noto Sans CJK JP")


def test_the_chat_scrolls_to_a_notice_at_the_end_of_an_answer(
    open_page: Callable[..., Page], app_url: str, server: OpenAITestServer
) -> None:
    page = open_page(app_url, width=390, height=844)
    for turn in range(3):  # a conversation taller than the chat
        ask(page, f"turn {turn}\n\nline two\n\nline three")
    server.enqueue(Behavior(tokens=80, delay=0.03, fault="drop_after:60"))
    send(page, "a long answer please")
    wait_bot_contains(page, "tok5")
    # The visitor glances back up while it streams; the answer then ends with a notice.
    page.locator("#llmchat-chat [role=log]").evaluate("log => { log.scrollTop = log.scrollTop - 200; }")
    page.wait_for_selector("text=The answer was cut off")
    page.wait_for_timeout(1500)  # the smooth scroll
    card = page.locator(BOT).last.bounding_box()
    log = page.locator("#llmchat-chat [role=log]").bounding_box()
    assert card is not None and log is not None
    below = card["y"] + card["height"] - (log["y"] + log["height"])
    assert below <= 2, f"the notice ends {below:.0f} px below the chat's visible bottom"


def test_no_typing_bubble_above_the_question_while_a_later_answer_streams(
    open_page: Callable[..., Page], app_url: str, server: OpenAITestServer
) -> None:
    page = open_page(app_url)
    ask(page, "first question")
    # Watch the chat from now on: any pending ("•••") bubble drawn while the second answer streams.
    page.evaluate(
        """() => {
            window.bubbles = 0;
            const chat = document.querySelector("#llmchat-chat");
            const seen = () => { if (chat.querySelector(".message.pending, .pending")) window.bubbles++; };
            new MutationObserver(seen).observe(chat, { childList: true, subtree: true, attributes: true });
        }"""
    )
    server.set_behavior(Behavior(tokens=40, delay=0.03))
    send(page, "second question")
    wait_bot_contains(page, "tok39")
    page.wait_for_selector("#llmchat-input button.submit-button")
    assert page.evaluate("window.bubbles") == 0


def platform_fonts(page: Page, selector: str) -> list[list[dict[str, Any]]]:
    """For each element matching ``selector``, the fonts Chromium drew its text with."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    nodes = cdp.send("DOM.querySelectorAll", {"nodeId": root, "selector": selector})["nodeIds"]
    return [cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"] for node in nodes]


def test_bold_latin_and_japanese_are_drawn_with_bold_faces(
    open_page: Callable[..., Page], app_url: str, server: OpenAITestServer
) -> None:
    server.enqueue(Behavior(reply="Plain, then **Bold Latin words** and **太字の日本語**."))
    page = open_page(app_url, locale="ja-JP")
    send(page, "fonts")
    expect_bot(page, "Plain, then Bold Latin words and 太字の日本語.")
    strong = f"{BOT} strong"
    latin, japanese = platform_fonts(page, strong)
    for fonts in (latin, japanese):
        # One face for the whole run, a real bold one: not a semi-bold face (Gradio's default theme
        # has only 400 and 600) with another font filling in while it loads.
        names = [font["postScriptName"].lower() for font in fonts]
        assert len(names) == 1 and "bold" in names[0], fonts
        assert "semibold" not in names[0] and "demibold" not in names[0], fonts
    assert any("CJK" in font["familyName"] or "JP" in font["familyName"] for font in japanese), japanese
    # The page asks for Japanese fonts by name, so a machine with one uses it for Japanese text.
    family = page.locator(strong).last.evaluate("e => getComputedStyle(e).fontFamily")
    assert any(name in family for name in CJK_FAMILIES), family
