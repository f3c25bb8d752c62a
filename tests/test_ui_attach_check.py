"""Files refused when they are attached, in Chromium: a binary file, and an image for a model known
to read text only, leave the message box at once with a note saying why; the typed text and the
other files stay. Where the model is not known to read text only, an image is sent as before.

The app has two presets at the test server: one that says its model reads text only
(``images: false``), and one that says nothing.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from llmchat.core.presets import load_catalog
from llmchat.ports import free_port
from llmchat.testing.openai_server import OpenAITestServer
from llmchat.web.app import build_demo
from tests.browser import (  # noqa: F401 - the *_fixture names are fixtures (browser, open_page)
    BOT,
    INPUT,
    USER,
    Page,
    attach,
    browser_fixture,
    expect_bot,
    open_page_fixture,
    pick,
    send,
    wait_for_bodies,
)
from tests.conftest import SECRET_KEY

pytestmark = pytest.mark.browser

RED_PNG = base64.b64decode(  # 4 x 4 red pixels
    "iVBORw0KGgoAAAANSUhEUgAAAAQAAAAECAIAAAAmkwkpAAAAEElEQVR4nGM4oaEBRwzEcQDRQxGBSNLB6wAAAABJRU5ErkJggg=="
)
NOTE = "#llmchat-attach-note"


@pytest.fixture
def attach_app(tmp_path: Path, server: OpenAITestServer) -> Iterator[str]:
    presets = tmp_path / "presets"
    presets.mkdir()
    common = f"base_url: {server.base_url}\napi_key: {SECRET_KEY}\nshow_stats: false\n"
    (presets / "a-text.yaml").write_text(
        f"name: Text only\nmodel: small-text-model\nimages: false\n{common}", encoding="utf-8"
    )
    (presets / "b-any.yaml").write_text(f"name: Maybe vision\nmodel: test-model\n{common}", encoding="utf-8")
    demo = build_demo(load_catalog(presets, environ={}), "a-text", concurrency=4)
    _, url, _ = demo.launch(
        server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True
    )
    yield url
    demo.close()


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "fruit.csv").write_text("name,qty\napple,3\n", encoding="utf-8")
    (tmp_path / "app.bin").write_bytes(b"\x7fELF\x02\x01\x01\x00\xff\xfe" * 100)
    (tmp_path / "red.png").write_bytes(RED_PNG)
    (tmp_path / "red-again.png").write_bytes(RED_PNG)
    return {p.name: p for p in tmp_path.iterdir() if p.is_file()}


def thumbnails(page: Page) -> int:
    return page.locator("#llmchat-input .thumbnail-item").count()


def test_a_binary_file_is_refused_when_attached_and_the_rest_of_the_message_stays(
    open_page: Callable[..., Page], attach_app: str, server: OpenAITestServer, files: dict[str, Path]
) -> None:
    from playwright.sync_api import expect

    page = open_page(attach_app)
    page.fill(INPUT, "What is in the table?")
    page.locator("#llmchat-input input[type=file]").set_input_files(
        [str(files["fruit.csv"]), str(files["app.bin"])]
    )
    note = page.locator(NOTE)
    expect(note).to_be_visible()
    said = note.inner_text()
    assert "Not a text file" in said and "app.bin" in said and "UTF-8" in said and "PNG" in said
    page.wait_for_function("() => document.querySelectorAll('#llmchat-input .thumbnail-item').length === 1")
    assert page.input_value(INPUT) == "What is in the table?"  # the typed text stays
    assert page.locator(BOT).count() == 0 and server.chat_bodies == []  # nothing sent
    page.keyboard.press("Enter")
    page.wait_for_function(
        f"() => [...document.querySelectorAll({BOT!r})].some(e => e.innerText.includes('apple,3'))"
    )
    expect(note).to_be_hidden()  # the note goes with the message it was about
    [body] = wait_for_bodies(server, 1, page)
    assert body["messages"][-1]["content"] == (
        "fruit.csv:\n```csv\nname,qty\napple,3\n```\n\nWhat is in the table?"
    )


def test_an_image_for_a_text_only_model_is_refused_when_attached(
    open_page: Callable[..., Page], attach_app: str, server: OpenAITestServer, files: dict[str, Path]
) -> None:
    from playwright.sync_api import expect

    page = open_page(attach_app)
    page.fill(INPUT, "What colour?")
    page.locator("#llmchat-input input[type=file]").set_input_files(str(files["red.png"]))
    note = page.locator(NOTE)
    expect(note).to_be_visible()
    said = note.inner_text()
    assert "This model reads text only" in said and "red.png" in said and "small-text-model" in said
    assert "reads images" in said  # what to do instead
    assert "context" not in said and "127.0.0.1" not in said and server.base_url not in said
    page.wait_for_function("() => document.querySelectorAll('#llmchat-input .thumbnail-item').length === 0")
    assert page.input_value(INPUT) == "What colour?"
    # A preset whose model may read images: the image is attached and sent, as before.
    pick(page, "llmchat-preset", "Maybe vision")
    attach(page, files["red-again.png"])
    page.wait_for_timeout(500)
    assert thumbnails(page) == 1
    send(page, "And now?")
    expect_bot(page, "Echo: And now?")
    [body] = wait_for_bodies(server, 1, page)
    assert body["messages"][-1]["content"][-1]["type"] == "image_url"
    assert page.locator(f"{USER} img").count() == 1


def test_the_note_is_in_the_visitors_language(
    open_page: Callable[..., Page], attach_app: str, server: OpenAITestServer, files: dict[str, Path]
) -> None:
    from playwright.sync_api import expect

    page = open_page(attach_app, locale="ja-JP")
    page.locator("#llmchat-input input[type=file]").set_input_files(
        [str(files["red.png"]), str(files["app.bin"])]
    )
    note = page.locator(NOTE)
    expect(note).to_be_visible()
    said = note.inner_text()
    assert "テキストしか読めません" in said and "テキストファイルではありません" in said
    assert "red.png" in said and "app.bin" in said
    page.wait_for_function("() => document.querySelectorAll('#llmchat-input .thumbnail-item').length === 0")
    page.wait_for_timeout(1500)  # and they stay out
    assert thumbnails(page) == 0
    expect(note).to_be_visible()
