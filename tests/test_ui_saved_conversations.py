"""Saved conversations in Chromium: the list in the left sidebar, as a visitor uses it.

Each conversation is kept in the visitor's own browser (local storage, one key each), so these
tests use real browser contexts: a reload keeps the list, another context (another browser) sees
none of it. What is asserted is what is on screen (the list, the marked one, the title bar, the
toasts) and what the server receives when a conversation is continued (its own settings).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from llmchat.testing.openai_server import OpenAITestServer
from tests.browser import (  # noqa: F401 - the *_fixture names are fixtures (browser, open_page)
    INPUT,
    TIMEOUT,
    Page,
    browser_fixture,
    download,
    expect_bot,
    open_files,
    open_page_fixture,
    pick,
    retry,
    send,
    texts,
    wait_for_bodies,
    wait_idle,
    wait_saved,
)
from tests.browser import ask as ask_and_see

pytestmark = pytest.mark.browser

ITEMS = "#llmchat-conversations .llmchat-item"
SEARCH = "#llmchat-search input, #llmchat-search textarea"


def listed(page: Page) -> list[str]:
    return page.locator(f"{ITEMS} .llmchat-open-item").all_inner_texts()


def current(page: Page) -> str:
    return page.locator(f"{ITEMS}.llmchat-current .llmchat-open-item").inner_text()


def wait_listed(page: Page, titles: list[str]) -> None:
    """Wait until the list shows exactly ``titles``, in that order."""
    try:
        page.wait_for_function(
            """titles => JSON.stringify([...document.querySelectorAll(
                '#llmchat-conversations .llmchat-item .llmchat-open-item')].map(e => e.innerText))
                === titles""",
            arg=json.dumps(titles, ensure_ascii=False, separators=(",", ":")),
        )
    except Exception:
        raise AssertionError(f"listed {listed(page)}, expected {titles}") from None


def ask(page: Page, text: str) -> None:
    """Ask, and wait until the browser has kept the conversation."""
    ask_and_see(page, text)
    wait_saved(page)


def new_chat(page: Page) -> None:
    page.click("#llmchat-new-chat")
    page.wait_for_function("() => !document.querySelector('#llmchat-chat [data-testid=bot]')")


def open_item(page: Page, title: str) -> None:
    page.locator(f"{ITEMS} .llmchat-open-item", has_text=title).click()
    page.wait_for_function(
        "t => document.querySelector('#llmchat-conversations .llmchat-current')?.innerText.includes(t)",
        arg=title,
    )


def test_conversations_are_listed_newest_first_keep_their_settings_and_survive_a_reload(
    open_page: Callable[..., Page], app_url: str, server: OpenAITestServer
) -> None:
    page = open_page(app_url)
    assert listed(page) == [] and "Your conversations will appear here." in page.inner_text(
        "#llmchat-conversations"
    )
    pick(page, "llmchat-preset", "Test QA")
    page.wait_for_function("() => document.querySelector('#llmchat-mode input[value=qa]').checked")
    ask(page, "first topic")
    wait_listed(page, ["first topic"])  # titled by its first question at once
    assert current(page) == "first topic"
    new_chat(page)
    pick(page, "llmchat-preset", "Test chat")
    page.wait_for_function("() => document.querySelector('#llmchat-mode input[value=chat]').checked")
    ask(page, "second topic")
    wait_listed(page, ["second topic", "first topic"])
    assert current(page) == "second topic"
    assert page.inner_text("#llmchat-title .llmchat-title-text") == "second topic"

    open_item(page, "first topic")  # its own preset comes back with it
    expect_bot(page, "Echo: first topic")
    assert page.locator("#llmchat-preset input").input_value() == "Test QA"
    ask(page, "more on the first")
    body = server.chat_bodies[-1]
    assert body["model"] == "qa-model" and texts(body) == [
        ("system", "QA system prompt."),
        ("user", "more on the first"),
    ]
    wait_listed(page, ["first topic", "second topic"])  # the one just used comes first

    page.reload()
    page.wait_for_selector(INPUT)
    wait_idle(page)
    wait_listed(page, ["first topic", "second topic"])
    assert current(page) == "first topic"
    expect_bot(page, "Echo: more on the first")
    open_item(page, "second topic")
    expect_bot(page, "Echo: second topic")
    assert page.locator("#llmchat-preset input").input_value() == "Test chat"
    ask(page, "and then?")
    assert texts(server.chat_bodies[-1])[1:] == [
        ("user", "second topic"),
        ("assistant", "Echo: second topic"),
        ("user", "and then?"),
    ]

    other = open_page(app_url)  # another browser: its own (empty) list
    assert listed(other) == []


def toast_undo(page: Page, says: str) -> None:
    toast = page.locator("#llmchat-toasts .llmchat-toast", has_text=says)
    toast.get_by_role("button", name="Undo").click()


def test_search_rename_delete_and_clear_can_be_undone(
    open_page: Callable[..., Page], app_url: str, server: OpenAITestServer
) -> None:
    page = open_page(app_url)
    ask(page, "alpha question")
    new_chat(page)
    ask(page, "beta question")
    wait_listed(page, ["beta question", "alpha question"])

    page.fill(SEARCH, "ALPHA")
    wait_listed(page, ["alpha question"])
    page.fill(SEARCH, "echo: beta")  # message text too, not only titles
    wait_listed(page, ["beta question"])
    page.fill(SEARCH, "nothing like this")
    wait_listed(page, [])
    assert "No conversation matches." in page.inner_text("#llmchat-conversations")
    page.fill(SEARCH, "")
    wait_listed(page, ["beta question", "alpha question"])

    page.locator(ITEMS, has_text="beta question").locator(".llmchat-rename").click()
    page.fill(".llmchat-rename-input", "My beta")
    page.keyboard.press("Enter")
    wait_listed(page, ["My beta", "alpha question"])
    page.wait_for_function(
        "() => document.querySelector('#llmchat-title .llmchat-title-text').innerText === 'My beta'"
    )

    page.locator(ITEMS, has_text="alpha question").locator(".llmchat-delete").click()
    wait_listed(page, ["My beta"])
    toast_undo(page, "Deleted “alpha question”.")
    wait_listed(page, ["My beta", "alpha question"])

    page.click("#llmchat-clear")
    page.wait_for_function("() => !document.querySelector('#llmchat-chat [data-testid=bot]')")
    toast_undo(page, "The conversation was cleared.")
    expect_bot(page, "Echo: beta question")
    wait_saved(page)
    page.reload()
    page.wait_for_selector(INPUT)
    wait_listed(page, ["My beta", "alpha question"])
    expect_bot(page, "Echo: beta question")


LOW_LIMIT = """
Object.defineProperty(window, "llmchatConfig", {
    configurable: true,
    get() { return this._llmchatConfig; },
    set(value) { this._llmchatConfig = { ...value, maxConversations: 3 }; },
});
"""


def test_the_list_is_bounded_with_a_notice_before_and_when_one_is_dropped(
    browser: Any, app_url: str, server: OpenAITestServer
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT)
    context.add_init_script(LOW_LIMIT)  # the same rule, with a limit a test can reach
    try:
        page = context.new_page()
        page.goto(app_url)
        page.wait_for_selector(INPUT)
        wait_idle(page)
        for n in range(3):
            if n:
                new_chat(page)
            ask(page, f"topic {n}")
        note = page.locator("#llmchat-conversations .llmchat-warning")
        assert "3 of 3 conversations" in note.inner_text()  # said before anything is dropped
        new_chat(page)
        ask(page, "topic 3")
        page.wait_for_selector("text=The oldest conversation “topic 0” was removed to make room.")
        wait_listed(page, ["topic 3", "topic 2", "topic 1"])
    finally:
        context.close()


def test_export_all_and_import_all_bring_every_conversation_with_its_variants(
    open_page: Callable[..., Page], app_url: str, server: OpenAITestServer, tmp_path: Path
) -> None:
    page = open_page(app_url)
    ask(page, "one")
    retry(page)
    page.wait_for_selector("text=2/2")
    wait_saved(page)
    new_chat(page)
    ask(page, "two")
    open_files(page)
    exported = json.loads(download(page, "#llmchat-export-all").read_text(encoding="utf-8"))
    assert exported["format"] == "llmchat-conversations"
    titles = [c["title"] for c in exported["conversations"]]
    assert sorted(titles) == ["one", "two"]
    one = next(c for c in exported["conversations"] if c["title"] == "one")
    assert [n["content"] for n in one["nodes"] if n["role"] == "assistant"] == ["Echo: one", "Echo: one"]

    saved = tmp_path / "all.json"
    saved.write_text(json.dumps(exported), encoding="utf-8")
    fresh = open_page(app_url)
    open_files(fresh)
    fresh.locator('input[type=file][accept=".json"]').set_input_files(str(saved))
    fresh.wait_for_selector("text=Imported 2 conversations")
    page.wait_for_timeout(500)
    assert sorted(listed(fresh)) == ["one", "two"]
    open_item(fresh, "one")
    fresh.wait_for_selector("#llmchat-chat .llmchat-count:text('2/2')")
    assert wait_for_bodies(server, 3, page)
