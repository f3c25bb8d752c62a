"""The summary of older turns on the page, in Chromium: a labelled note above the chat (English
and Japanese) that the visitor can edit, the edit being what the server gets next; the
"Summarize older turns" button (a preset that drops, a server that says no window); the note
after a reload; and the gauge measured once typing pauses, not at every keystroke."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from llmchat.testing.openai_server import OpenAITestServer
from llmchat.testing.scripting import Behavior
from tests.browser import (  # noqa: F401 - the *_fixture names are fixtures (browser, open_page)
    ARTIFACTS,
    BOT,
    INPUT,
    Page,
    browser_fixture,
    expect_bot,
    open_page_fixture,
    send,
    wait_for_bodies,
    wait_idle,
    wait_saved,
)
from tests.conftest import launch_app, write_presets

pytestmark = pytest.mark.browser
NOTE = "#llmchat-summary .llmchat-summary"
BUTTON = "#llmchat-context .llmchat-summarize"
LONG = "a fairly long question about many things "  # 42 bytes: 14 tokens by the estimate


@pytest.fixture
def summing_app(tmp_path: Path, server: OpenAITestServer) -> Iterator[str]:
    """The app opening on a small-window preset that summarizes what no longer fits."""
    folder = write_presets(tmp_path / "presets", server.base_url)
    text = (folder / "small-window-no-warm.yaml").read_text() + "overflow: summarize\n"
    (folder / "summing.yaml").write_text(text.replace("Small window", "Summing"), encoding="utf-8")
    yield from launch_app(folder, "summing")


@pytest.fixture
def small_window_app(tmp_path: Path, server: OpenAITestServer) -> Iterator[str]:
    """The app opening on the small-window preset that drops what no longer fits (the default)."""
    yield from launch_app(write_presets(tmp_path / "presets", server.base_url), "small-window-no-warm")


def ask(page: Page, text: str, n: int) -> None:
    """Send ``text`` as the ``n``-th question (from 0) and wait for its answer and the box."""
    send(page, text)
    page.wait_for_selector(f"{BOT} >> nth={n}")
    page.wait_for_selector("#llmchat-input .submit-button")


def kept_doc(page: Page) -> dict:
    wait_saved(page)
    text = page.evaluate("() => localStorage.getItem('llmchat-c:' + localStorage.getItem('llmchat-open'))")
    return json.loads(text)


def chats(server: OpenAITestServer) -> list[dict]:
    return [b for b in server.chat_bodies if b.get("stream")]


def summaries_asked(server: OpenAITestServer) -> list[dict]:
    return [b for b in server.chat_bodies if not b.get("stream")]


def note_title(page: Page, pattern: str) -> str:
    page.wait_for_function(
        "(p) => new RegExp(p).test(document.querySelector('#llmchat-summary summary')?.innerText || '')",
        arg=pattern,
    )
    return page.locator("#llmchat-summary summary").inner_text()


@pytest.mark.parametrize(
    ("locale", "title", "edit", "save"),
    [
        ("en-US", r"^Summary of (\d+) earlier messages$", "Edit", "Save"),
        ("ja-JP", r"^以前のメッセージ (\d+) 件の要約$", "編集", "保存"),
    ],
)
def test_the_summary_is_a_note_the_visitor_edits_and_the_edit_is_sent(
    server: OpenAITestServer,
    summing_app: str,
    open_page: Callable[..., Page],
    locale: str,
    title: str,
    edit: str,
    save: str,
) -> None:
    page = open_page(summing_app, locale=locale)
    for n in range(4):  # the third or fourth turn no longer fits: it is sent with a summary
        ask(page, f"{n} {LONG * 4}", n)
        if summaries_asked(server):
            break
    assert summaries_asked(server), "no turn was summarized"
    shown = note_title(page, title)
    covers = int(re.search(r"\d+", shown).group())  # type: ignore[union-attr]
    made = kept_doc(page)["summary"]
    assert made["covers"] == covers >= 2
    assert page.locator(f"{NOTE} .llmchat-summary-text").inner_text() == made["text"]
    assert made["text"] in chats(server)[-1]["messages"][0]["content"]  # what the model saw
    # The visitor edits it; the next turn sends the edit, as it is (no new summary request).
    assert page.locator("#llmchat-summary .llmchat-summary-edit").inner_text() == edit
    page.locator("#llmchat-summary .llmchat-summary-edit").click()
    page.fill("#llmchat-summary textarea", "EDITED: the visitor likes trains.")
    assert page.locator("#llmchat-summary .llmchat-summary-save").inner_text() == save
    page.locator("#llmchat-summary .llmchat-summary-save").click()
    page.wait_for_function(
        "() => document.querySelector('#llmchat-summary .llmchat-summary-text')?.innerText"
        " === 'EDITED: the visitor likes trains.'"
    )
    assert kept_doc(page)["summary"]["text"] == "EDITED: the visitor likes trains."
    asked = len(summaries_asked(server))
    before = len(chats(server))
    send(page, "ok?")
    wait_for_bodies(server, len(server.chat_bodies) + 1, page)
    expect_bot(page, "Echo: ok?")
    body = chats(server)[before]
    assert "EDITED: the visitor likes trains." in body["messages"][0]["content"]
    assert body["messages"][0]["role"] == "system"
    assert len(summaries_asked(server)) == asked
    # Kept with the conversation: after a reload the note shows the edited summary.
    wait_saved(page)
    page.reload()
    page.wait_for_selector(INPUT)
    wait_idle(page)
    note_title(page, title)
    assert page.locator(f"{NOTE} .llmchat-summary-text").inner_text() == "EDITED: the visitor likes trains."


def test_summarize_older_turns_on_a_preset_that_drops(
    server: OpenAITestServer, small_window_app: str, open_page: Callable[..., Page]
) -> None:
    page = open_page(small_window_app)
    for n in range(2):
        ask(page, f"{n} {LONG * 4}", n)
    assert page.locator(BUTTON).count() == 0  # nothing is left out yet: nothing offered
    page.fill(INPUT, f"2 {LONG * 16}")
    page.wait_for_selector(BUTTON)
    gauge = page.locator("#llmchat-context").inner_text()
    count = int(re.search(r"leaves (\d+) older", gauge).group(1))  # type: ignore[union-attr]
    button = page.locator(BUTTON)
    assert button.inner_text() == "Summarize older turns"
    assert "summarize the older messages" in (button.get_attribute("title") or "")
    assert button.get_attribute("aria-label") == button.get_attribute("title")
    server.enqueue(Behavior(reply="SUMMARY: two long questions about many things."))
    button.click()
    shown = note_title(page, r"^Summary of \d+ earlier messages$")
    assert shown == f"Summary of {count} earlier messages"  # what the send would have left out
    assert len(summaries_asked(server)) == 1 and len(chats(server)) == 2
    page.locator(INPUT).press("Enter")  # the message still in the box
    body = wait_for_bodies(server, 4, page)[3]
    assert body["messages"][0]["content"].endswith("SUMMARY: two long questions about many things.")
    assert len(body["messages"]) == 1 + 4 - count + 1
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_selector(f"{BOT} >> nth=2")
    page.screenshot(path=ARTIFACTS / "summary-1280x900.png")


def test_where_no_window_is_known_the_refusal_offers_a_summary(
    server: OpenAITestServer, fresh_app_url: str, open_page: Callable[..., Page]
) -> None:
    """The server refuses a request as too long without saying its size: the notice says what to
    set and offers the button; the summary made then gets the question through."""
    server.enforce_window, server.overflow_style = 480, "vague"  # the fourth turn is refused
    page = open_page(fresh_app_url, locale="ja-JP")
    for n in range(3):
        ask(page, f"{n} {LONG * 4}", n)
    assert page.locator(BUTTON).count() == 0
    send(page, f"3 {LONG * 4}")
    page.wait_for_selector("#llmchat-chat >> text=context_window:")
    notice = page.locator(BOT).last.inner_text()
    assert "古いやり取りを要約" in notice  # the button, named in the notice
    button = page.locator(BUTTON)
    button.wait_for()
    assert button.inner_text() == "古いやり取りを要約"
    server.enqueue(Behavior(reply="要約: 長い質問が 3 つありました。"))
    button.click()
    note_title(page, r"^以前のメッセージ 4 件の要約$")
    page.locator("#llmchat-chat").get_by_role("button", name=re.compile("Retry|再試行")).last.click()
    expect_bot(page, f"Echo: 3 {LONG * 4}".strip())
    body = chats(server)[-1]
    assert body["messages"][0]["content"].endswith("要約: 長い質問が 3 つありました。")
    assert [m["role"] for m in body["messages"]] == ["system", "user", "assistant", "user"]
    assert page.locator(BUTTON).count() == 0  # it went through: nothing is offered any more


def test_a_burst_of_typing_measures_the_gauge_once(
    server: OpenAITestServer, fresh_app_url: str, open_page: Callable[..., Page]
) -> None:
    server.tokenizer, server.n_ctx = "llama.cpp", 2048
    page = open_page(fresh_app_url)
    page.wait_for_function(
        "() => /\\/ 2,048 tokens/.test(document.querySelector('#llmchat-context')?.innerText)"
    )
    text = "What is the capital of France, and what is it known for?"
    start = len(server.requests)
    page.locator(INPUT).press_sequentially(text, delay=40)  # ~2.3 s of typing
    page.wait_for_timeout(1500)
    measured = [
        r.body.get("content")
        for r in server.requests[start:]
        if r.path == "/tokenize" and r.body and str(r.body.get("content", "")).startswith("What")
    ]
    # One measurement, of the whole message, once the visitor paused; not one a keystroke.
    assert set(measured) == {text}, measured


def test_screenshots(server: OpenAITestServer, summing_app: str, open_page: Callable[..., Page]) -> None:
    for width, height in ((1280, 900), (390, 844)):
        server.clear()
        page = open_page(summing_app, width=width, height=height)
        for n in range(4):
            ask(page, f"{n} {LONG * 4}", n)
            if summaries_asked(server):
                break
        note_title(page, r"^Summary of \d+ earlier messages$")
        if page.locator(f"{NOTE}:not([open])").count():
            page.locator("#llmchat-summary summary").click()
        box = page.locator(NOTE).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=ARTIFACTS / f"summary-note-{width}x{height}.png")
        page.locator("#llmchat-summary .llmchat-summary-edit").click()
        page.screenshot(path=ARTIFACTS / f"summary-edit-{width}x{height}.png")
