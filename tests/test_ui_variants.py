"""Answer variants in Chromium: Retry keeps the earlier answer, editing a question keeps the old
branch, ←/→ flips between them, and the branch on screen is what the model is sent next.

The test server answers each request with a scripted reply, so every variant is told apart by
its text; what is asserted is what the page shows (the bubbles, the ``1/2`` counters) and the
history in the next request the server receives, then what the exports hold.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from llmchat.testing.openai_server import Behavior, OpenAITestServer
from tests.browser import (  # noqa: F401 - the *_fixture names are fixtures (browser, open_page)
    BOT,
    INPUT,
    USER,
    Page,
    ask,
    browser_fixture,
    download,
    edit_question,
    expect_bot,
    expect_variant,
    open_files,
    open_page_fixture,
    retry,
    send,
    texts,
    wait_bot_contains,
    wait_for_bodies,
    wait_idle,
    wait_saved,
)

pytestmark = pytest.mark.browser


def flip(page: Page, direction: str, role: str = "bot") -> None:
    """Press ← ("Previous variant") or → ("Next variant") under the last message of ``role``."""
    name = "Previous variant" if direction == "back" else "Next variant"
    buttons = page.get_by_role("button", name=name)
    index = 0 if role == "user" else buttons.count() - 1
    buttons.nth(index).click()


def test_retry_keeps_the_earlier_answer_and_the_one_on_screen_is_sent_next(
    open_page: Callable[..., Page], app_url: str, server: OpenAITestServer, tmp_path: Path
) -> None:
    page = open_page(app_url)
    server.enqueue(Behavior(reply="Paris, I think."))
    send(page, "Capital of France?")
    expect_bot(page, "Paris, I think.")
    assert page.locator("#llmchat-chat .llmchat-count").count() == 0  # one answer: no pager
    server.enqueue(Behavior(reply="It is Paris."))
    retry(page)
    expect_bot(page, "It is Paris.")
    expect_variant(page, "2/2")
    flip(page, "back")
    expect_bot(page, "Paris, I think.")
    expect_variant(page, "1/2")
    ask(page, "And of Italy?")
    assert texts(wait_for_bodies(server, 3, page)[2])[1:] == [
        ("user", "Capital of France?"),
        ("assistant", "Paris, I think."),  # the variant on screen, not the latest
        ("user", "And of Italy?"),
    ]
    wait_saved(page)
    open_files(page)
    exported = json.loads(download(page, "#llmchat-export-json").read_text(encoding="utf-8"))
    answers = [n["content"] for n in exported["nodes"] if n["role"] == "assistant"]
    assert answers == ["Paris, I think.", "It is Paris.", "Echo: And of Italy?"]  # every variant
    markdown = download(page, "#llmchat-export-md").read_text(encoding="utf-8")
    assert "Paris, I think." in markdown and "It is Paris." not in markdown  # the branch on screen


def test_an_edited_question_starts_a_branch_and_the_old_one_stays_reachable(
    open_page: Callable[..., Page], app_url: str, server: OpenAITestServer
) -> None:
    page = open_page(app_url)
    ask(page, "first question")
    ask(page, "second question")
    edit_question(page, "first question, edited")  # Enter saves the edit
    expect_bot(page, "Echo: first question, edited")
    assert page.locator(BOT).count() == 1
    expect_variant(page, "2/2")
    flip(page, "back", role="user")  # the old branch, with the turns after it
    expect_bot(page, "Echo: second question")
    assert page.locator(USER).all_inner_texts() == ["first question", "second question"]
    ask(page, "third question")
    assert texts(wait_for_bodies(server, 4, page)[3])[1:] == [
        ("user", "first question"),
        ("assistant", "Echo: first question"),
        ("user", "second question"),
        ("assistant", "Echo: second question"),
        ("user", "third question"),
    ]


def test_a_reload_mid_answer_keeps_what_was_shown_marked_cut_off_and_retry_works(
    open_page: Callable[..., Page], app_url: str, server: OpenAITestServer
) -> None:
    server.set_behavior(Behavior(tokens=400, delay=0.05))
    page = open_page(app_url)
    send(page, "a long answer please")
    wait_bot_contains(page, "tok60")
    page.reload()
    page.wait_for_selector(INPUT)
    wait_idle(page)
    page.wait_for_selector("text=The answer was cut off")
    kept = page.locator(BOT).first.inner_text()
    assert kept.startswith("tok0 tok1") and "tok399" not in kept
    server.set_behavior(Behavior(reply="A short one."))
    retry(page)
    expect_bot(page, "A short one.")
    expect_variant(page, "2/2")
    assert texts(server.chat_bodies[-1])[1:] == [("user", "a long answer please")]
