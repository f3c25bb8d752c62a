"""The page's layout in Chromium: the chat is the page, on a laptop and on a phone, in both languages.

What a newcomer sees first is measured, not assumed: where the message box is (inside the first
screen, pinned at the bottom however long the conversation), whether anything is wider than the
screen, whether the settings and the conversation list are out of the way until asked for, and
whether the preset picker shows its whole name when it is opened on a phone. Each case leaves a
screenshot in ``test-artifacts/browser/`` (``layout-<lang>-<width>*.png``) to be looked at.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from llmchat.testing.openai_server import OpenAITestServer
from tests.browser import (  # noqa: F401 - the *_fixture names are fixtures (browser, open_page)
    ARTIFACTS,
    Page,
    browser_fixture,
    expect_bot,
    open_page_fixture,
    open_settings,
    pick,
    send,
)

pytestmark = pytest.mark.browser

SCREENS = [
    pytest.param("en-US", 1280, 900, id="en-desktop"),
    pytest.param("en-US", 390, 844, id="en-phone"),
    pytest.param("ja-JP", 1280, 900, id="ja-desktop"),
    pytest.param("ja-JP", 390, 844, id="ja-phone"),
]


def box(page: Page, selector: str) -> dict[str, float]:
    found = page.locator(selector).first.bounding_box()
    assert found is not None, f"{selector} is not shown"
    return found


def inside(page: Page, selector: str, width: int, height: int) -> bool:
    b = box(page, selector)
    return (
        b["x"] >= -1
        and b["y"] >= -1
        and b["x"] + b["width"] <= width + 1
        and b["y"] + b["height"] <= height + 1
    )


def overflow(page: Page) -> dict[str, Any]:
    """How far the page reaches past the screen (a page that scrolls sideways is cut off)."""
    return page.evaluate(
        """() => ({
            wide: document.documentElement.scrollWidth - window.innerWidth,
            scrolled: window.scrollY,
        })"""
    )


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"{name}.png")


@pytest.mark.parametrize(("locale", "width", "height"), SCREENS)
def test_the_chat_is_the_first_screen_and_the_box_stays_at_the_bottom(
    open_page: Callable[..., Page],
    app_url: str,
    server: OpenAITestServer,
    locale: str,
    width: int,
    height: int,
) -> None:
    page = open_page(app_url, locale=locale, width=width, height=height)
    tag = f"layout-{locale[:2]}-{width}"
    shot(page, f"{tag}-empty")
    # Settings are out of the way: the right sidebar is folded, its picker off the screen.
    assert not page.locator("#llmchat-right.open").count()
    assert not inside(page, "#llmchat-preset", width, height)
    phone = width < 500
    if phone:  # the conversation list folds away too
        assert not page.locator("#llmchat-left.open").count()
        assert not inside(page, "#llmchat-new-chat", width, height)
    else:
        assert inside(page, "#llmchat-new-chat", width, height)
        # The chat starts right beside the conversation list: no empty strip between them.
        gap = box(page, "#llmchat-chat")["x"] - (
            box(page, "#llmchat-left")["x"] + box(page, "#llmchat-left")["width"]
        )
        assert 0 <= gap <= 24, f"{gap} px between the conversation list and the chat"
    # The welcome keeps the same inset from the chat's edge as the messages will: its text (left
    # aligned on a phone, centred on a laptop) and its example prompts.
    left = box(page, "#llmchat-chat")["x"]
    insets = [box(page, "#llmchat-chat .examples button")["x"] - left]
    if phone:
        insets.append(box(page, "#llmchat-chat .placeholder h3")["x"] - left)
    for turn in range(6):  # a conversation longer than the screen
        send(page, f"turn {turn}\n\nline two\n\nline three")
        expect_bot(page, f"Echo: turn {turn}\n\nline two\n\nline three")
        page.wait_for_selector("#llmchat-input button.submit-button")
    shot(page, f"{tag}-long")
    bubble = box(page, "#llmchat-chat .bot-row .message.bot")["x"] - left
    assert all(abs(inset - bubble) <= 2 for inset in insets), f"welcome at {insets} px, messages at {bubble}"
    # The box is in the first screen, at its bottom (only the context gauge's line under it);
    # the page itself does not scroll.
    assert inside(page, "#llmchat-input", width, height)
    assert inside(page, "#llmchat-context", width, height)
    assert box(page, "#llmchat-input")["y"] + box(page, "#llmchat-input")["height"] > height - 70
    assert box(page, "#llmchat-context")["y"] + box(page, "#llmchat-context")["height"] > height - 40
    assert overflow(page) == {"wide": 0, "scrolled": 0}
    chat = box(page, "#llmchat-chat")
    assert chat["height"] > height * 0.6  # the conversation fills the height
    assert chat["y"] < 90  # under one line of title bar, nothing above it
    for control in (".llmchat-toggle-left", ".llmchat-toggle-right", "#llmchat-clear"):
        assert inside(page, control, width, height), control


@pytest.mark.parametrize(("locale", "width", "height"), SCREENS)
def test_the_settings_open_whole_and_the_preset_name_is_not_cut_off(
    open_page: Callable[..., Page],
    app_url: str,
    server: OpenAITestServer,
    locale: str,
    width: int,
    height: int,
) -> None:
    page = open_page(app_url, locale=locale, width=width, height=height)
    open_settings(page)
    shot(page, f"layout-{locale[:2]}-{width}-settings")
    for part in ("#llmchat-preset", "#llmchat-model", "#llmchat-mode", "#llmchat-parameters"):
        assert inside(page, part, width, height), part
    picker = page.locator("#llmchat-preset input")
    assert picker.evaluate("e => e.scrollWidth <= e.clientWidth"), "the preset's name is cut off"
    assert overflow(page)["wide"] == 0
    if width < 500:  # on a phone the panel covers the chat; the list stays folded
        assert not page.locator("#llmchat-left.open").count()


@pytest.mark.parametrize("width", [1100, 1200])
def test_with_both_panels_open_the_chat_fills_the_space_between_them(
    open_page: Callable[..., Page], app_url: str, server: OpenAITestServer, width: int
) -> None:
    """Below 1280 px Gradio caps its container's width; the page asks for the full width, so the
    chat is not squeezed into the middle with empty strips beside it."""
    page = open_page(app_url, width=width, height=800)
    open_settings(page)
    chat, right = box(page, "#llmchat-chat"), box(page, "#llmchat-right")
    gap = right["x"] - (chat["x"] + chat["width"])
    assert 0 <= gap <= 40, f"{gap} px between the chat and the settings panel at {width} px"


def test_a_preset_switch_says_which_of_the_visitors_values_it_replaced(
    open_page: Callable[..., Page], app_url: str, server: OpenAITestServer
) -> None:
    from playwright.sync_api import expect

    page = open_page(app_url)
    note = page.locator("#llmchat-preset-note")
    pick(page, "llmchat-preset", "Test QA")  # nothing set by the visitor: nothing to say
    page.wait_for_function("() => document.querySelector('#llmchat-mode input[value=qa]').checked")
    page.wait_for_timeout(800)
    expect(note).to_be_hidden()
    page.get_by_text("Chat — sends the conversation").click()  # the visitor's own choice
    page.wait_for_timeout(800)  # kept with the conversation once settled
    pick(page, "llmchat-preset", "Test chat")  # which is a chat preset: the mode is not replaced
    page.wait_for_timeout(800)
    expect(note).to_be_hidden()
    page.get_by_text("QA — one question at a time").click()
    page.wait_for_timeout(800)
    pick(page, "llmchat-preset", "Slow server")
    expect(note).to_have_text("Switched to Slow server: Mode QA → Chat")
    assert inside(page, "#llmchat-preset-note", 1280, 900)
