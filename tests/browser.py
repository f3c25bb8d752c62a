"""Driving the app in Debian's Chromium with Playwright: the fixtures and helpers of the browser
tests (tests/test_browser.py, tests/test_ui_browser_i18n.py).

Chromium comes from Debian (``scripts/install_chromium.sh``), not from ``playwright install``.
Without it the browser tests are skipped, or fail when ``CI`` is set: CI must not pass by skipping.
Each test leaves a screenshot of every page it opened in ``test-artifacts/browser/``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from llmchat.testing.chromium import CHROMIUM, CHROMIUM_ARGS
from llmchat.testing.openai_server import OpenAITestServer

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "browser"
TIMEOUT = 15_000  # ms; an answer from the test server takes well under a second
INPUT = "#llmchat-input textarea"
BOT = '#llmchat-chat [data-testid="bot"]'
USER = '#llmchat-chat [data-testid="user"]'
IMPORT = 'input[type=file][accept=".json"]'  # the Import JSON button's file input
Page = Any  # playwright.sync_api.Page, imported lazily so that a missing package only skips


def _missing_browser() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} not found: run `bash scripts/install_chromium.sh` (Debian's chromium package)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed (it is in requirements.txt)"
    return None


@pytest.fixture(scope="module", name="browser")
def browser_fixture() -> Iterator[Any]:
    """One Chromium per test module (closed after it: Playwright's sync API keeps an event loop
    on this thread, which other modules' ``asyncio.run`` should not meet)."""
    problem = _missing_browser()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests cannot run: {problem}", pytrace=False)
        pytest.skip(problem)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(name="open_page")
def open_page_fixture(browser: Any, request: pytest.FixtureRequest) -> Iterator[Callable[..., Page]]:
    """Open the app in a fresh browser context (its own storage: a new visitor)."""
    contexts: list[Any] = []
    pages: list[Page] = []

    def open_(url: str, locale: str = "en-US", width: int = 1280, height: int = 900) -> Page:
        context = browser.new_context(
            locale=locale, viewport={"width": width, "height": height}, accept_downloads=True
        )
        context.set_default_timeout(TIMEOUT)
        contexts.append(context)
        page = context.new_page()
        page.goto(url)
        page.wait_for_selector(INPUT)
        wait_idle(page)
        pages.append(page)
        return page

    yield open_
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for i, page in enumerate(pages):
        suffix = f"-{i + 1}" if len(pages) > 1 else ""
        # A screenshot is a bonus: the test's own result is what counts.
        with contextlib.suppress(Exception):
            page.screenshot(path=ARTIFACTS / f"{request.node.name}{suffix}.png", full_page=True)
    for context in contexts:
        context.close()


def wait_idle(page: Page) -> None:
    """Let the page finish its load events: restoring a conversation, then listing the models,
    which ends with the status line under the model picker (●, ✕ or ○: no emoji, which a machine
    without an emoji font would show as boxes)."""
    page.wait_for_function(
        """() => ["●", "✕", "○"].some(dot =>
            (document.querySelector("#llmchat-model .info-text")?.innerText || "").includes(dot))"""
    )


def wait_saved(page: Page) -> None:
    """Wait until the browser's copy of the open conversation has caught up with the page.

    The page's script keeps each conversation under its own local storage key (``llmchat-c:<id>``,
    the open one's id under ``llmchat-open``), written once the conversation has settled (see
    SAVE_WHEN_SETTLED_JS in llmchat/web/events.py); a reload or an export right after an answer
    would otherwise race it.
    """
    page.wait_for_function(
        """() => new Promise(resolve => {
            const read = () => {
                const id = localStorage.getItem("llmchat-open");
                return (id && localStorage.getItem("llmchat-c:" + id)) || "";
            };
            let last = read(), since = Date.now();
            const tick = () => {
                const now = read();
                if (now !== last) { last = now; since = Date.now(); }
                if (last && Date.now() - since > 1200) resolve(true); else setTimeout(tick, 50);
            };
            tick();
        })"""
    )


def open_settings(page: Page) -> None:
    """Open the settings panel (the right sidebar, folded at first) unless it is open."""
    if not page.locator("#llmchat-right.open").count():
        page.locator(".llmchat-toggle-right").click()
        page.wait_for_selector("#llmchat-right.open")
        page.wait_for_timeout(300)  # it slides in


def open_files(page: Page, name: str = "Export and import") -> None:
    """Open the settings panel's export and import section (its buttons mount when it opens)."""
    open_settings(page)
    if not page.locator("#llmchat-import").count():
        page.get_by_text(name, exact=True).click()
        page.wait_for_selector("#llmchat-import")
        page.wait_for_timeout(200)


def close_settings(page: Page) -> None:
    if page.locator("#llmchat-right.open").count():
        page.locator("#llmchat-right .toggle-button").click()
        page.wait_for_selector("#llmchat-right:not(.open)")
        page.wait_for_timeout(300)


def send(page: Page, text: str) -> None:
    page.fill(INPUT, text)
    page.keyboard.press("Enter")


def expect_bot(page: Page, text: str, index: int = -1) -> None:
    """Wait until the ``index``-th assistant bubble (last by default) shows exactly ``text``."""
    from playwright.sync_api import expect

    bubbles = page.locator(BOT)
    expect(bubbles.nth(index) if index >= 0 else bubbles.last).to_have_text(text, timeout=TIMEOUT)


def wait_for_bodies(server: OpenAITestServer, count: int, page: Page) -> list[dict[str, Any]]:
    for _ in range(100):
        if len(server.chat_bodies) >= count:
            return server.chat_bodies
        page.wait_for_timeout(100)
    raise AssertionError(f"expected {count} requests, got {server.chat_bodies}")


def pick(page: Page, dropdown: str, option: str) -> None:
    """Choose ``option`` in a Gradio dropdown (by its elem_id) in the settings panel."""
    open_settings(page)
    page.click(f"#{dropdown} input")
    page.get_by_role("option", name=option, exact=True).click()


def open_parameters(page: Page, name: str = "Parameters") -> None:
    open_settings(page)
    page.get_by_text(name, exact=True).click()
    page.wait_for_selector('input[data-testid="number-input"]')
    page.wait_for_timeout(300)  # the accordion's controls mount one after another


def type_into(box: Any, text: str) -> None:
    """Fill a control and commit it, checking that the page kept the value."""
    from playwright.sync_api import expect

    box.fill(text)
    box.press("Enter")
    expect(box).to_have_value(text)


def texts(body: dict[str, Any]) -> list[Any]:
    return [(m["role"], m["content"]) for m in body["messages"]]


def ask(page: Page, text: str, reply: str | None = None) -> None:
    """Send ``text`` and wait for its answer (the test server's ``Echo: <text>`` unless ``reply``)."""
    send(page, text)
    expect_bot(page, f"Echo: {text}" if reply is None else reply)


def wait_bot_contains(page: Page, text: str) -> None:
    """Wait until some assistant bubble shows ``text`` (while it streams, say)."""
    page.wait_for_function(
        "([bubbles, text]) => [...document.querySelectorAll(bubbles)].some(e => e.innerText.includes(text))",
        arg=[BOT, text],
    )


def retry(page: Page) -> None:
    """Press Retry under the last answer."""
    page.locator(BOT).last.hover()
    page.get_by_role("button", name="Retry").last.click()


def edit_question(page: Page, text: str, index: int = 0, submit: str = "Enter") -> None:
    """Edit the ``index``-th question to ``text`` and save it with Enter (or the Submit button)."""
    page.locator(USER).nth(index).hover()
    page.locator("#llmchat-chat").get_by_role("button", name="Edit").nth(index).click()
    page.locator("#llmchat-chat textarea").fill(text)
    if submit == "Enter":
        page.keyboard.press("Enter")
    else:
        page.locator("#llmchat-chat").get_by_role("button", name=submit).click()


def expect_variant(page: Page, counter: str) -> None:
    """Wait until the first ←/→ pager in the chat shows ``counter`` (``"2/2"``)."""
    page.wait_for_function(
        "(counter) => document.querySelector('#llmchat-chat .llmchat-count')?.innerText === counter",
        arg=counter,
    )


def download(page: Page, selector: str) -> Path:
    """Click a download button and return the downloaded file."""
    with page.expect_download() as started:
        page.click(selector)
    return Path(started.value.path())


def attach(page: Page, *paths: Path, shown: int | None = None) -> None:
    """Pick files in the message box; wait until it shows ``shown`` of them (all by default)."""
    page.locator("#llmchat-input input[type=file]").set_input_files([str(p) for p in paths])
    count = len(paths) if shown is None else shown
    page.wait_for_function(
        "(n) => document.querySelectorAll('#llmchat-input .thumbnail-item').length === n", arg=count
    )
