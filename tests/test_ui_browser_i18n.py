"""English and Japanese in a real browser, and screenshots of a staged exchange.

A Japanese browser gets Japanese labels, placeholder and notices; ``--lang ja`` makes an English
browser Japanese too, Gradio's own strings included. The screenshot tests stage a realistic
exchange (``test-artifacts/browser/``); the README's own come from ``scripts/readme_screenshots.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from llmchat.core.presets import load_catalog
from llmchat.ports import free_port
from llmchat.testing.openai_server import Behavior, OpenAITestServer
from llmchat.web.app import build_demo
from tests.browser import (  # noqa: F401 - the *_fixture names are fixtures (browser, open_page)
    ARTIFACTS,
    BOT,
    INPUT,
    Page,
    browser_fixture,
    open_page_fixture,
    open_parameters,
    pick,
    send,
    type_into,
)
from tests.conftest import SECRET_KEY

pytestmark = pytest.mark.browser


# --- language ------------------------------------------------------------------------------------


def test_japanese_browser_gets_japanese_labels_and_notices(
    open_page: Callable[..., Page], app_url: str
) -> None:
    page = open_page(app_url, locale="ja-JP")
    assert page.get_attribute(INPUT, "placeholder") == "何か質問してください"
    labels = ("新しいチャット", "クリア", "プリセット", "モデル", "モード", "パラメーター", "保存と読み込み")
    for text in labels:
        assert page.get_by_text(text, exact=True).count() >= 1, text
    pick(page, "llmchat-preset", "Nobody home")
    send(page, "こんにちは")
    page.wait_for_selector("text=LLM サーバーに接続できません")
    assert "サーバーは起動していますか" in page.locator(BOT).last.inner_text()
    assert page.evaluate("document.documentElement.lang") == "ja"


@pytest.fixture
def japanese_app(config_dir: Path, server: OpenAITestServer) -> Iterator[str]:
    """The app started with ``--lang ja``."""
    demo = build_demo(load_catalog(config_dir, environ={}), "test-chat", concurrency=4, lang="ja")
    _, url, _ = demo.launch(
        server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True
    )
    yield url
    demo.close()


def test_lang_option_makes_every_visitor_japanese(
    open_page: Callable[..., Page], japanese_app: str, server: OpenAITestServer
) -> None:
    page = open_page(japanese_app, locale="en-US")
    page.wait_for_function(f"() => document.querySelector({INPUT!r}).placeholder === '何か質問してください'")
    assert page.get_by_text("クリア", exact=True).count() == 1
    # Gradio's own strings follow too (its "Settings" footer link; the footer is hidden by the
    # page's style sheet, its words are still Gradio's).
    page.wait_for_function("() => (document.querySelector('footer')?.textContent || '').includes('設定')")
    server.enqueue(Behavior(tokens=50))
    open_parameters(page, "パラメーター")
    type_into(page.locator('input[aria-label="number input for 最大トークン数"]'), "3")
    send(page, "hi")
    page.wait_for_selector("text=最大トークン数に達しました")


# --- README screenshots ------------------------------------------------------------------------------


@pytest.fixture
def showcase_app(tmp_path: Path, server: OpenAITestServer) -> Iterator[str]:
    """An app with presets that look like a real set-up, for the README's screenshots."""
    (tmp_path / "llama-cpp.yaml").write_text(
        f"""
name: llama.cpp server
description: your own llama.cpp server on this machine
base_url: {server.base_url}
api_key: {SECRET_KEY}
model: qwen2.5-7b-instruct
system_prompt: You are a helpful assistant. Answer briefly.
temperature: 0.7
top_p: 0.95
max_tokens: 512
seed: null
""",
        encoding="utf-8",
    )
    (tmp_path / "elyza.yaml").write_text(
        f"""
name: ELYZA 日本語
description: 日本語の質問に日本語で答えます
base_url: {server.base_url}
api_key: {SECRET_KEY}
model: elyza-japanese-llama-2-7b
temperature: 0.2
max_tokens: 512
stream_usage: false
""",
        encoding="utf-8",
    )
    server.models = [
        "qwen2.5-7b-instruct",
        "llama-3.1-8b-instruct",
        "gemma-2-9b-it",
        "elyza-japanese-llama-2-7b",
    ]
    demo = build_demo(load_catalog(tmp_path, environ={}), "llama-cpp", concurrency=4)
    _, url, _ = demo.launch(
        server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True
    )
    yield url
    demo.close()


def _screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / name, full_page=True)


EN_ANSWER = (
    "**llama.cpp** runs large language models on ordinary CPUs and GPUs, using quantised GGUF "
    "weights so a 7B model fits in a few gigabytes of memory.\n\nIts `llama-server` speaks the "
    "OpenAI API, so apps like this one can talk to it directly."
)
JA_ANSWER = (
    "日本の首都は**東京**です。1868年に江戸から東京へと改称され、現在は約1,400万人が暮らす"
    "世界有数の大都市です。"
)


def test_readme_screenshot_in_english(
    open_page: Callable[..., Page], showcase_app: str, server: OpenAITestServer
) -> None:
    server.set_behavior(Behavior(reply=EN_ANSWER, delay=0.02, first_token_delay=0.3))
    page = open_page(showcase_app, width=1200, height=820)
    send(page, "What is llama.cpp, in two sentences?")
    page.wait_for_selector("text=tokens/s")
    assert "apps like this one can talk to it directly" in page.locator(BOT).nth(0).inner_text()
    open_parameters(page)
    page.click("#llmchat-model input")  # the picker open, showing the server's models
    page.wait_for_selector("text=gemma-2-9b-it")
    _screenshot(page, "screenshot-en.png")


def test_readme_screenshot_in_japanese(
    open_page: Callable[..., Page], showcase_app: str, server: OpenAITestServer
) -> None:
    server.set_behavior(Behavior(reply=JA_ANSWER, delay=0.02, first_token_delay=0.4))
    page = open_page(showcase_app, locale="ja-JP", width=1200, height=820)
    pick(page, "llmchat-preset", "ELYZA 日本語")
    page.wait_for_function(
        "() => document.querySelector('#llmchat-model input').value === 'elyza-japanese-llama-2-7b'"
    )
    send(page, "日本の首都はどこですか？")
    page.wait_for_selector("text=トークン/秒")
    open_parameters(page, "パラメーター")
    _screenshot(page, "screenshot-ja.png")
    assert page.evaluate("document.documentElement.lang") == "ja"


@pytest.mark.parametrize(
    ("locale", "question", "answer"),
    [
        ("en-US", "What is llama.cpp, in two sentences?", EN_ANSWER),
        ("ja-JP", "日本の首都はどこですか？", JA_ANSWER),
    ],
)
def test_readme_screenshot_on_a_phone(
    open_page: Callable[..., Page],
    showcase_app: str,
    server: OpenAITestServer,
    locale: str,
    question: str,
    answer: str,
) -> None:
    server.set_behavior(Behavior(reply=answer, delay=0.02, first_token_delay=0.3))
    page = open_page(showcase_app, locale=locale, width=390, height=844)
    send(page, question)
    page.wait_for_selector("#llmchat-chat .llmchat-stats")
    box = page.locator("#llmchat-input").bounding_box()
    assert box is not None and box["y"] + box["height"] <= 844  # the box on the first screen
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = f"screenshot-{locale[:2]}-phone.png"
    page.screenshot(path=ARTIFACTS / name)
