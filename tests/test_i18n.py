"""English and Japanese: the language choice, the catalogues, and every notice in both languages.

Notices are produced here by the very code that produces them in the app (engine/errors.py, the
budget, the chat service against our test server) and rendered from the catalogue, so a notice
kind without its sentences, or a Japanese sentence missing a value, fails a test.
"""

from __future__ import annotations

import asyncio
import re
import string
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import openai
import pytest

from llmchat.core import server_data
from llmchat.core.budget import ContextOverflow
from llmchat.core.conversation_file import MAX_HISTORY_MESSAGES
from llmchat.core.limits import VisitorLimits
from llmchat.core.notices import Notice, left_out
from llmchat.core.presets import load_catalog
from llmchat.core.server_data import Usage
from llmchat.core.turn import Stats
from llmchat.engine import errors
from llmchat.engine.service import ChatService, TurnRequest
from llmchat.i18n import Lang, notice_text, stats_line
from llmchat.i18n.catalog import NOTICES, STATS
from llmchat.i18n.labels import LABELS
from llmchat.testing.openai_server import Behavior, OpenAITestServer
from llmchat.web import i18n

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
URL = "http://127.0.0.1:9/v1"


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        ("ja-JP,ja;q=0.9,en-US;q=0.8", "ja"),
        ("ja", "ja"),
        ("en-US,en;q=0.9,ja;q=0.8", "en"),
        ("fr-FR,ja;q=0.5", "en"),  # the first choice decides, as in the browser
        ("en;q=0.3, ja;q=0.8", "ja"),
        ("", "en"),
        (None, "en"),
        ("*", "en"),
        ("ja;q=bogus,en", "en"),
    ],
)
def test_visitor_language_from_accept_language(header: str | None, lang: str) -> None:
    assert i18n.accept_language(header) == lang


def test_forced_language_wins_over_the_browser() -> None:
    request = SimpleNamespace(headers={"accept-language": "en-US"})
    assert i18n.request_lang(request, "ja") == "ja"  # type: ignore[arg-type]
    assert i18n.request_lang(request) == "en"  # type: ignore[arg-type]
    assert i18n.request_lang(None) == "en"
    assert i18n.normalize_lang("ja_JP") == "ja" and i18n.normalize_lang("de") is None


def test_catalogues_have_the_same_keys_and_fields() -> None:
    assert LABELS["en"].keys() == LABELS["ja"].keys()
    for key, english in LABELS["en"].items():
        assert set(re.findall(r"\{(\w+)\}", english)) == set(re.findall(r"\{(\w+)\}", LABELS["ja"][key])), key
    assert LABELS["ja"]["placeholder"] == "何か質問してください"  # the seed's own wording


def test_forced_language_puts_that_language_under_every_locale() -> None:
    forced = i18n.make_i18n("ja").translations_dict
    assert forced["en"]["llmchat_clear"] == forced["ja"]["llmchat_clear"] == "クリア"
    both = i18n.make_i18n().translations_dict
    assert both["en"]["llmchat_clear"] == "Clear"


def test_gradios_locale_switch_is_still_where_we_expect_it() -> None:
    """--lang also switches Gradio's own strings through its frontend module; a Gradio upgrade
    that moves it must be noticed here (llmchat's own labels would still be forced)."""
    script = i18n.force_locale_js("ja")
    assert script is not None and "changeLocale('ja')" in script


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_catalogue_entry_has_both_languages_with_the_same_values() -> None:
    texts = [(kind, text) for kind, entry in NOTICES.items() for text in (entry.title, entry.body) if text]
    texts += list(STATS.items())
    for kind, text in texts:
        assert fields(text.en) == fields(text.ja), kind
        if text.en.strip("{}abcdefghijklmnopqrstuvwxyz_: ") and text.en != text.ja:  # more than values
            assert JAPANESE.search(text.ja), kind


def translated(notice: Notice, *, body: bool = True) -> tuple[str, str]:
    """The notice in Japanese, checked to be Japanese; its English rendering must exist too."""
    title, text = notice_text(notice, "ja")
    en_title, en_text = notice_text(notice, "en")
    assert JAPANESE.search(title), f"title not translated: {en_title!r}"
    if body:
        assert JAPANESE.search(text), f"body not translated: {en_text!r}"
    return title, text


def status_error(status: int, message: str, headers: dict[str, str] | None = None) -> openai.APIStatusError:
    request = httpx.Request("POST", URL + "/chat/completions")
    response = httpx.Response(status, request=request, json=errors_body(message), headers=headers or {})
    return openai.APIStatusError(message, response=response, body=errors_body(message))


def errors_body(message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error"}}


def explain(exc: BaseException, models: list[str] | None = None, images: bool = False) -> Notice:
    return errors.explain(
        exc, base_url=URL, model="m", timeout=5.0, secrets=[], models_offered=models, sent_images=images
    )


def test_every_server_failure_notice_is_in_both_languages() -> None:
    request = httpx.Request("POST", URL)
    cases = [
        explain(openai.APITimeoutError(request=request)),
        explain(openai.APIConnectionError(request=request)),
        errors.unreachable("https://api.example.com/v1", "ConnectError"),
        explain(status_error(401, "bad key")),
        explain(status_error(404, "no such model"), ["a", "b"]),
        explain(status_error(404, "no such model")),
        explain(status_error(400, "too many tokens in context")),
        explain(status_error(400, "this model does not support image input"), images=True),
        explain(status_error(429, "slow down", {"retry-after": "7"})),
        explain(status_error(429, "slow down")),
        explain(status_error(503, "overloaded")),
        errors.not_openai(URL),
        errors.empty_stream(URL),
        errors.cut_off(None, 3, []),
        errors.cut_off(openai.APIError("boom", request, body=None), 3, []),
        errors.cut_off(httpx.ReadError("gone"), 3, []),
    ]
    too_large = [
        server_data.line_too_long(),
        server_data.answer_too_long(),
        server_data.body_too_large(server_data.MAX_BODY_BYTES),
    ]
    for exc in too_large:  # the reason is in Japanese too, not only the sentence around it
        _, body = translated(errors.cut_off(exc, 3, []))
        assert "llmchat" in body and f"{exc.reason.params['limit']:,}" in body
    for notice in cases:
        translated(notice)
    title, body = notice_text(explain(openai.APIConnectionError(request=request)), "en")
    assert title == "⚠️ Cannot reach the LLM server" and "python -m llama_cpp.server" in body
    _, body = translated(explain(openai.APIConnectionError(request=request)))
    assert "python -m llama_cpp.server" in body and "サーバーは起動していますか" in body
    _, body = translated(explain(status_error(429, "slow down", {"retry-after": "7"})))
    assert "7 秒" in body and "slow down" in body
    _, body = translated(explain(status_error(404, "no such model"), ["a", "b"]))
    assert "`a`, `b`" in body
    title, _ = notice_text(explain(status_error(400, "no image input"), images=True), "en")
    assert title == "⚠️ This model cannot read images"
    title, _ = notice_text(explain(status_error(400, "no image input"), images=False), "en")
    assert title == "⚠️ The server rejected the request (HTTP 400)"  # no image was sent: not about that


def test_notices_that_quote_the_server_keep_its_words() -> None:
    for notice in [
        explain(status_error(400, "bad thing")),
        explain(status_error(418, "teapot")),
        explain(openai.APIError("odd", httpx.Request("GET", URL), body=None)),
        explain(RuntimeError("surprise")),
    ]:
        _, body = translated(notice, body=False)
        assert body == notice_text(notice, "en")[1]  # the server's own words are kept as they are


def test_stats_thinking_and_context_notices_are_in_both_languages() -> None:
    stats = Stats.measure(0.25, 1.0, 10, Usage(prompt_tokens=12, completion_tokens=10), None, None)
    assert (
        stats_line(stats, "en") == "⏱ 0.25 s to first token · 9.0 tokens/s · 12 prompt + 10 completion tokens"
    )
    assert (
        stats_line(stats, "ja")
        == "⏱ 最初のトークンまで 0.25 秒 · 9.0 トークン/秒 · プロンプト 12 + 生成 10 トークン"
    )
    estimated = Stats.measure(0.5, 1.0, 5, None, None, 40)
    assert (
        stats_line(estimated, "en")
        == "⏱ 0.50 s to first token · ~4.0 tokens/s · ~40 prompt + ~5 completion tokens"
    )
    assert notice_text(Notice("thinking"), "ja") == ("💭 思考", "")
    overflow = ContextOverflow(needed=3000, window=2048, message_tokens=2500, max_tokens=500)
    _, body = translated(overflow.notice)
    assert "2,500" in body and "2,048" in body


def run_turn(
    service: ChatService, message: str, history: list[dict[str, Any]] | None = None, **kw: Any
) -> list[Any]:
    files = kw.pop("files", [])
    model = kw.pop("model", "")
    controls = {"system_prompt": "", "temperature": 0.0, "top_p": 1.0, "max_tokens": 16, "seed": "", **kw}
    request = TurnRequest(
        message, "test-chat", files, history or [], {**controls, "show_stats": False}, model
    )

    async def collect() -> list[Any]:
        return [view async for view in service.turn(request)]

    return asyncio.run(collect())


def notices_of(views: list[Any]) -> list[Notice]:
    return [notice for view in views for notice in view.notices]


def test_every_notice_of_a_turn_is_in_both_languages(config_dir: Path, server: OpenAITestServer) -> None:
    service = ChatService(load_catalog(config_dir, environ={}), limits=VisitorLimits(max_message_chars=10))
    produced = [
        *notices_of(run_turn(service, "   ")),
        *notices_of(run_turn(service, "x" * 11)),
        *notices_of(run_turn(service, "hi", [{"role": "user", "content": "x"}] * (MAX_HISTORY_MESSAGES + 1))),
        *notices_of(run_turn(service, "hi", model="not-listed")),
        *notices_of(run_turn(service, "hi", files=["/etc/hostname"])),
    ]
    server.enqueue(Behavior(tokens=40), Behavior(reply=""), Behavior(tokens=3, fault="no_finish"))
    produced += notices_of(run_turn(service, "long", max_tokens=2))
    produced += notices_of(run_turn(service, "empty"))
    produced += notices_of(run_turn(service, "cut"))
    kinds = list(dict.fromkeys(n.kind for n in produced))
    assert kinds == [
        "empty_message",
        "message_too_long",
        "conversation_too_long",
        "model_not_offered",
        "file_unreadable",
        "max_tokens_reached",
        "empty_answer",
        "cut_off",
    ], kinds
    for notice in produced:
        translated(notice)
    [settings] = notices_of(run_turn(service, "hi", seed="lucky"))
    translated(settings, body=False)


@pytest.mark.parametrize("summarized", [False, True])
@pytest.mark.parametrize("lang", ["en", "ja"])
def test_a_cut_that_keeps_no_earlier_message_says_so_and_never_the_last_0(
    summarized: bool, lang: Lang
) -> None:
    some = notice_text(left_out(4, 512, 2, summarized=summarized), lang)[1]
    none = notice_text(left_out(4, 512, 0, summarized=summarized), lang)[1]
    assert ("the last 2 messages" in some) if lang == "en" else ("直近の 2 件" in some)
    assert " 0 " not in none and "直近" not in none
    assert ("your message" in none) if lang == "en" else ("このメッセージ" in none)
