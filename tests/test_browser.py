"""The app in a real browser: Debian's Chromium, driven by Playwright, against our test server.

What gradio_client cannot see is checked here: that typing and pressing Enter streams an answer,
that what the controls show is what the server receives, that Stop closes the upstream stream,
that two browsers keep their own conversations, that the model picker and attachments work, and
that a reload, an export and an import keep the conversation. Fixtures and helpers (and what
happens without Chromium) are in tests/browser.py; language and the README's screenshots are in
tests/test_ui_browser_i18n.py.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from llmchat.testing.openai_server import Behavior, OpenAITestServer
from tests.browser import (  # noqa: F401 - the *_fixture names are fixtures (browser, open_page)
    BOT,
    IMPORT,
    INPUT,
    USER,
    Page,
    ask,
    attach,
    browser_fixture,
    download,
    edit_question,
    expect_bot,
    open_files,
    open_page_fixture,
    open_parameters,
    open_settings,
    pick,
    retry,
    send,
    texts,
    type_into,
    wait_bot_contains,
    wait_for_bodies,
    wait_saved,
)

pytestmark = pytest.mark.browser


# --- typing, controls, presets, stop, clear ---------------------------------------------------


def test_typed_message_streams_the_answer(
    open_page: Callable[..., Page], app_url: str, server: OpenAITestServer
) -> None:
    words = [f"word{i}" for i in range(30)]
    server.set_behavior(Behavior(reply=" ".join(words), delay=0.06))
    page = open_page(app_url)
    send(page, "hello browser")
    wait_bot_contains(page, "word3")
    partial = page.locator(BOT).last.inner_text()
    assert "word29" not in partial  # seen while still streaming
    expect_bot(page, " ".join(words))
    assert page.locator(USER).last.inner_text() == "hello browser"
    assert texts(server.chat_bodies[0])[-1] == ("user", "hello browser")


def test_slider_value_reaches_the_server(
    open_page: Callable[..., Page], app_url: str, server: OpenAITestServer
) -> None:
    page = open_page(app_url)
    open_parameters(page)
    type_into(page.locator('input[aria-label="number input for Temperature"]'), "1.37")
    type_into(page.locator('input[aria-label="number input for Max tokens"]'), "99")
    ask(page, "warm?")
    body = server.chat_bodies[0]
    assert (body["temperature"], body["max_tokens"]) == (1.37, 99)
    assert body["top_p"] == 0.9  # untouched controls keep the preset's values


def test_switching_preset_and_mode_changes_the_request(
    open_page: Callable[..., Page], app_url: str, server: OpenAITestServer
) -> None:
    page = open_page(app_url)
    pick(page, "llmchat-preset", "Test QA")
    page.wait_for_function("() => document.querySelector('#llmchat-mode input[value=qa]').checked")
    ask(page, "first")
    ask(page, "second")
    qa = server.chat_bodies[1]
    assert qa["model"] == "qa-model" and qa["temperature"] == 1.1 and "seed" not in qa
    assert texts(qa) == [("system", "QA system prompt."), ("user", "second")]
    page.get_by_text("Chat — sends the conversation").click()
    ask(page, "third")
    chat = server.chat_bodies[2]
    assert texts(chat)[1:] == [
        ("user", "first"),
        ("assistant", "Echo: first"),
        ("user", "second"),
        ("assistant", "Echo: second"),
        ("user", "third"),
    ]


def test_stop_closes_the_stream_to_the_server(
    open_page: Callable[..., Page], app_url: str, server: OpenAITestServer
) -> None:
    server.set_behavior(Behavior(tokens=400, delay=0.05))
    page = open_page(app_url)
    send(page, "a long answer please")
    wait_bot_contains(page, "tok5")
    page.locator("button.stop-button").click()
    record = server.wait_for_disconnect(timeout=10)
    assert record.disconnected and not record.finished and record.tokens_sent < 100
    page.wait_for_selector("#llmchat-input button.submit-button")  # the box is usable again
    kept = page.locator(BOT).last.inner_text()
    assert kept.startswith("tok0 tok1") and "tok399" not in kept


def test_clear_chat_starts_a_conversation_without_history(
    open_page: Callable[..., Page], app_url: str, server: OpenAITestServer
) -> None:
    page = open_page(app_url)
    ask(page, "remember me")
    page.click("#llmchat-clear")
    page.wait_for_function(f"() => document.querySelectorAll({BOT!r}).length === 0")
    ask(page, "fresh start")
    assert texts(server.chat_bodies[-1]) == [
        ("system", "You are the test assistant."),
        ("user", "fresh start"),
    ]


def test_editing_a_message_asks_again_without_the_turns_after_it(
    open_page: Callable[..., Page], app_url: str, server: OpenAITestServer
) -> None:
    page = open_page(app_url)
    ask(page, "first question")
    ask(page, "second question")
    edit_question(page, "first question, edited", submit="Submit")
    expect_bot(page, "Echo: first question, edited")
    assert page.locator(BOT).count() == 1
    assert texts(wait_for_bodies(server, 3, page)[2]) == [
        ("system", "You are the test assistant."),
        ("user", "first question, edited"),
    ]


def test_two_browsers_at_once_keep_their_own_conversations(
    open_page: Callable[..., Page], app_url: str, server: OpenAITestServer
) -> None:
    server.set_behavior(Behavior(delay=0.03))
    alice, bob = open_page(app_url), open_page(app_url)
    for turn in range(2):
        send(alice, f"alice turn {turn}")
        send(bob, f"bob turn {turn}")  # both answers stream at the same time
        expect_bot(alice, f"Echo: alice turn {turn}")
        expect_bot(bob, f"Echo: bob turn {turn}")
    assert "bob" not in alice.locator("#llmchat-chat").inner_text()
    assert "alice" not in bob.locator("#llmchat-chat").inner_text()
    assert len(server.chat_bodies) == 4
    for body in server.chat_bodies:
        said = " ".join(str(content) for _, content in texts(body)[1:])
        assert ("alice" in said) != ("bob" in said), said


# --- model picker ------------------------------------------------------------------------------


def test_model_picker_lists_the_servers_models_and_the_pick_is_sent(
    open_page: Callable[..., Page], app_url: str, server: OpenAITestServer
) -> None:
    server.models = ["test-model", "big-model", "vision-model"]
    page = open_page(app_url)
    open_settings(page)
    page.click("#llmchat-model button.custom-button")  # ↻
    from playwright.sync_api import expect

    expect(page.locator("#llmchat-model")).to_contain_text("online · 3 models")
    pick(page, "llmchat-model", "big-model")
    ask(page, "which model?")
    assert server.chat_bodies[-1]["model"] == "big-model"
    pick(page, "llmchat-preset", "Nobody home")  # another server: the picker starts over
    expect(page.locator("#llmchat-model")).to_contain_text("offline")


def test_a_model_the_server_does_not_list_never_reaches_it(
    open_page: Callable[..., Page], app_url: str, server: OpenAITestServer
) -> None:
    page = open_page(app_url)
    open_settings(page)
    page.fill("#llmchat-model input", "not-a-listed-model")  # the box takes typing (API clients may)
    page.keyboard.press("Enter")
    send(page, "hi")
    page.wait_for_selector("text=Model not available")
    assert server.chat_bodies == []


# --- attachments ---------------------------------------------------------------------------------


RED_PNG = base64.b64decode(  # 4 x 4 red pixels
    "iVBORw0KGgoAAAANSUhEUgAAAAQAAAAECAIAAAAmkwkpAAAAEElEQVR4nGM4oaEBRwzEcQDRQxGBSNLB6wAAAABJRU5ErkJggg=="
)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "fruit.csv").write_text("name,qty\napple,3\n", encoding="utf-8")
    (tmp_path / "latin1.txt").write_bytes("café".encode("latin-1"))
    (tmp_path / "red.png").write_bytes(RED_PNG)
    return {p.name: p for p in tmp_path.iterdir()}


def test_text_files_are_inlined_and_images_sent_as_image_parts(
    open_page: Callable[..., Page], app_url: str, server: OpenAITestServer, files: dict[str, Path]
) -> None:
    page = open_page(app_url)
    attach(page, files["fruit.csv"], files["red.png"])
    page.wait_for_selector("#llmchat-input .llmchat-file-name")  # picked files show their names
    assert page.locator("#llmchat-input .llmchat-file-name").all_inner_texts() == ["fruit.csv"]
    assert page.locator("#llmchat-input .thumbnail-item").nth(1).get_attribute("title") == "red.png"
    send(page, "What is in these?")
    wait_bot_contains(page, "apple,3")
    assert "fruit.csv" in page.locator(USER).first.inner_text()  # the file shown by its name
    [text, image] = server.chat_bodies[0]["messages"][-1]["content"]
    assert text == {"type": "text", "text": "fruit.csv:\n```csv\nname,qty\napple,3\n```\n\nWhat is in these?"}
    assert image["type"] == "image_url" and image["image_url"]["url"].startswith(
        "data:image/png;base64,iVBOR"
    )
    send(page, "and now?")  # the files of the first turn are sent again with the history
    expect_bot(page, "Echo: and now?")
    history = server.chat_bodies[1]["messages"]
    assert history[1]["content"] == [text, image] and history[-1] == {"role": "user", "content": "and now?"}
    retry(page)  # Retry re-sends the last turn as it was
    wait_for_bodies(server, 3, page)
    assert server.chat_bodies[2]["messages"] == history


def test_unreadable_file_and_refused_image_get_clear_messages(
    open_page: Callable[..., Page], app_url: str, server: OpenAITestServer, files: dict[str, Path]
) -> None:
    page = open_page(app_url)
    # Refused when attached (tests/test_ui_attach_check.py has more), with the reason above the box.
    page.locator("#llmchat-input input[type=file]").set_input_files(str(files["latin1.txt"]))
    page.wait_for_selector("#llmchat-attach-note >> text=Not a text file")
    assert "latin1.txt is not UTF-8 text" in page.inner_text("#llmchat-attach-note")
    assert server.chat_bodies == []
    server.enqueue(Behavior(fault="http", status=400, message="Image input is not supported by this model"))
    attach(page, files["red.png"])
    send(page, "look")
    page.wait_for_selector("text=This model cannot read images")
    assert "Image input is not supported" in page.locator(BOT).last.inner_text()


# --- reload, export, import ------------------------------------------------------------------------


def test_reload_keeps_the_conversation_and_its_history_is_sent(
    open_page: Callable[..., Page], app_url: str, server: OpenAITestServer
) -> None:
    page = open_page(app_url)
    ask(page, "before reload")
    wait_saved(page)
    page.reload()
    page.wait_for_selector(INPUT)
    expect_bot(page, "Echo: before reload")
    ask(page, "after reload")
    assert texts(server.chat_bodies[-1])[1:] == [
        ("user", "before reload"),
        ("assistant", "Echo: before reload"),
        ("user", "after reload"),
    ]


def test_export_json_imports_back_in_a_fresh_browser(
    open_page: Callable[..., Page], app_url: str, server: OpenAITestServer, tmp_path: Path
) -> None:
    page = open_page(app_url)
    open_parameters(page)
    type_into(page.get_by_label("Seed"), "4242")
    ask(page, "export me")
    wait_saved(page)
    open_files(page)
    exported = json.loads(download(page, "#llmchat-export-json").read_text(encoding="utf-8"))
    assert exported["preset"] == "test-chat" and exported["model"] == "test-model"
    assert exported["parameters"]["seed"] == 4242 and exported["parameters"]["temperature"] == 0.3
    assert exported["messages"] == [
        {"role": "system", "content": "You are the test assistant."},
        {"role": "user", "content": "export me"},
        {"role": "assistant", "content": "Echo: export me"},
    ]
    assert "### 🧑 You\n\nexport me" in download(page, "#llmchat-export-md").read_text(encoding="utf-8")

    saved = tmp_path / "conversation.json"
    saved.write_text(json.dumps(exported), encoding="utf-8")
    fresh = open_page(app_url)
    open_files(fresh)
    fresh.locator(IMPORT).set_input_files(str(saved))
    fresh.wait_for_selector("text=Imported 2 messages")
    expect_bot(fresh, "Echo: export me")
    open_parameters(fresh)
    assert fresh.get_by_label("Seed").input_value() == "4242"
    ask(fresh, "continue")
    body = server.chat_bodies[-1]
    assert body["seed"] == 4242
    assert texts(body)[1:] == [("user", "export me"), ("assistant", "Echo: export me"), ("user", "continue")]


def test_invalid_import_shows_why_and_changes_nothing(
    open_page: Callable[..., Page], app_url: str, server: OpenAITestServer, tmp_path: Path
) -> None:
    page = open_page(app_url)
    ask(page, "keep me")
    broken = tmp_path / "broken.json"
    broken.write_text('{"messages": [{"role": "tool", "content": "x"}]}', encoding="utf-8")
    open_files(page)
    page.locator(IMPORT).set_input_files(str(broken))
    page.wait_for_selector("text=was not imported")
    status = page.locator("#llmchat-import-status").inner_text()
    assert "broken.json" in status and "'tool'" in status and "Nothing was changed" in status
    not_json = tmp_path / "notes.json"
    not_json.write_text("this is not json", encoding="utf-8")
    page.locator(IMPORT).set_input_files(str(not_json))
    page.wait_for_selector("text=not a UTF-8 JSON file")
    expect_bot(page, "Echo: keep me")
    assert page.locator(USER).count() == 1
