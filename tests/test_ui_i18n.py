"""English and Japanese: the language choice, the label catalogue, and every notice translated.

Notices are produced here by the very functions that produce them in the app (errors.py,
budget.py, reply.py, the chat function against our test server), so a sentence changed in English
without its template fails a test instead of quietly staying English for Japanese visitors.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import openai
import pytest

from llmchat import errors, i18n, server_data
from llmchat.budget import ContextOverflow
from llmchat.chat import MAX_HISTORY_MESSAGES, make_chat_fn
from llmchat.client import StreamOutcome
from llmchat.i18n_catalog import LABELS, NOTICES
from llmchat.limits import VisitorLimits
from llmchat.presets import load_catalog
from llmchat.reply import THINKING_TITLE, format_stats
from llmchat.server_data import Usage
from llmchat.testing.openai_server import Behavior, OpenAITestServer

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
    assert forced["en"]["llmchat_clear"] == forced["ja"]["llmchat_clear"] == "🗑️ 会話をクリア"
    both = i18n.make_i18n().translations_dict
    assert both["en"]["llmchat_clear"] == "🗑️ Clear chat"


def test_gradios_locale_switch_is_still_where_we_expect_it() -> None:
    """--lang also switches Gradio's own strings through its frontend module; a Gradio upgrade
    that moves it must be noticed here (llmchat's own labels would still be forced)."""
    script = i18n.force_locale_js("ja")
    assert script is not None and "changeLocale('ja')" in script


def translated(notice: errors.Notice, *, body: bool = True) -> tuple[str, str]:
    title, text = i18n.translate_notice(notice.title, notice.body, "ja")
    assert JAPANESE.search(title), f"title not translated: {notice.title!r}"
    if body:
        assert JAPANESE.search(text), f"body not translated: {notice.body!r}"
    assert i18n.translate_notice(notice.title, notice.body, "en") == (notice.title, notice.body)
    return title, text


def status_error(status: int, message: str, headers: dict[str, str] | None = None) -> openai.APIStatusError:
    request = httpx.Request("POST", URL + "/chat/completions")
    response = httpx.Response(status, request=request, json=errors_body(message), headers=headers or {})
    return openai.APIStatusError(message, response=response, body=errors_body(message))


def errors_body(message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error"}}


def explain(exc: BaseException, models: list[str] | None = None) -> errors.Notice:
    return errors.explain(exc, base_url=URL, model="m", timeout=5.0, secrets=[], models_offered=models)


def test_every_server_failure_notice_is_translated() -> None:
    request = httpx.Request("POST", URL)
    cases = [
        explain(openai.APITimeoutError(request=request)),
        explain(openai.APIConnectionError(request=request)),
        errors.unreachable("https://api.example.com/v1", "ConnectError"),
        explain(status_error(401, "bad key")),
        explain(status_error(404, "no such model"), ["a", "b"]),
        explain(status_error(404, "no such model")),
        explain(status_error(400, "too many tokens in context")),
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
    for exc in too_large:  # the reason is translated too, not only the sentence around it
        _, body = translated(errors.cut_off(exc, 3, []))
        assert str(exc) not in body and "llmchat" in body
    for notice in cases:
        translated(notice)
    _, body = translated(explain(openai.APIConnectionError(request=request)))
    assert "python -m llama_cpp.server" in body and "サーバーは起動していますか" in body
    _, body = translated(explain(status_error(429, "slow down", {"retry-after": "7"})))
    assert "7 秒" in body and "slow down" in body
    _, body = translated(explain(status_error(404, "no such model"), ["a", "b"]))
    assert "`a`, `b`" in body


def test_notices_without_a_fixed_body_translate_their_title() -> None:
    for notice in [
        explain(status_error(400, "bad thing")),
        explain(status_error(418, "teapot")),
        explain(openai.APIError("odd", httpx.Request("GET", URL), body=None)),
        explain(RuntimeError("surprise")),
    ]:
        _, body = translated(notice, body=False)
        assert body == notice.body  # the server's own words are kept as they are


def test_stats_thinking_and_context_notices_are_translated() -> None:
    outcome = StreamOutcome(chunks=10, started=0.0, first_token_at=0.25, last_token_at=1.25)
    outcome.usage = Usage(prompt_tokens=12, completion_tokens=10)
    line = format_stats(outcome, None)
    assert line is not None
    assert line == "⏱ 0.25 s to first token · 9.0 tokens/s · 12 prompt + 10 completion tokens"
    ja = i18n.translate_stats(line, "ja")
    assert ja == "⏱ 最初のトークンまで 0.25 秒 · 9.0 トークン/秒 · プロンプト 12 + 生成 10 トークン"
    assert i18n.translate_message({"role": "assistant", "content": "", "metadata": {"title": line}}, "ja")[
        "metadata"
    ]["title"].startswith("⏱ 最初のトークンまで")
    assert i18n.translate_notice(THINKING_TITLE, "hmm", "ja") == ("💭 思考", "hmm")
    overflow = ContextOverflow(needed=3000, window=2048, message_tokens=2500, max_tokens=500)
    translated(errors.Notice("⚠️ Message too long for the model", str(overflow)))


def run_chat(
    chat: Any, message: Any, history: list[dict[str, Any]] | None = None, **controls: Any
) -> list[Any]:
    values = dict(
        preset="test-chat", mode="chat", system_prompt="", temperature=0.0, top_p=1.0, max_tokens=16,
        frequency_penalty=0.0, presence_penalty=0.0, seed="", show_stats=False,
    )  # fmt: skip
    values.update(controls)

    async def collect() -> list[Any]:
        return [reply async for reply in chat(message, history or [], *values.values())]

    return asyncio.run(collect())


def notices_of(replies: list[Any]) -> list[errors.Notice]:
    return [
        errors.Notice(m["metadata"]["title"], m["content"])
        for reply in replies
        if isinstance(reply, list)
        for m in reply
        if (m.get("metadata") or {}).get("title") and not m["metadata"]["title"].startswith("⏱")
    ]


def test_every_notice_of_the_chat_function_is_translated(config_dir: Path, server: OpenAITestServer) -> None:
    chat = make_chat_fn(load_catalog(config_dir, environ={}), limits=VisitorLimits(max_message_chars=10))
    produced = [
        *notices_of(run_chat(chat, "   ")),
        *notices_of(run_chat(chat, "x" * 11)),
        *notices_of(run_chat(chat, "hi", [{"role": "user", "content": "x"}] * (MAX_HISTORY_MESSAGES + 1))),
        *notices_of(run_chat(chat, "hi", model="not-listed")),
        *notices_of(run_chat(chat, {"text": "hi", "files": ["/etc/hostname"]})),
    ]
    server.enqueue(Behavior(tokens=40), Behavior(reply=""), Behavior(tokens=3, fault="no_finish"))
    produced += notices_of(run_chat(chat, "long", max_tokens=2))
    produced += notices_of(run_chat(chat, "empty"))
    produced += notices_of(run_chat(chat, "cut"))
    titles = [n.title for n in produced]
    assert len(produced) == 8, titles
    for notice in produced:
        translated(notice)
    settings = notices_of(run_chat(chat, "hi", seed="lucky"))
    translated(settings[0], body=False)


def test_every_catalogued_notice_round_trips() -> None:
    """llmchat's own notices are built from the catalogue; each one must come back translated."""
    for notice in NOTICES:
        if not notice.bodies or "{" not in notice.title.en + notice.bodies[0].en:
            continue
        fields = set(re.findall(r"\{(\w+)\}", notice.title.en + notice.bodies[0].en))
        title, body = i18n.english_notice(notice.key, **{f: f"<{f}>" for f in fields})
        ja_title, ja_body = i18n.translate_notice(title, body, "ja")
        assert JAPANESE.search(ja_title) and JAPANESE.search(ja_body), notice.key
        for field in fields:
            assert f"<{field}>" in ja_title + ja_body, (notice.key, field)


def test_text_that_matches_no_template_is_left_alone() -> None:
    message = {"role": "assistant", "content": "body", "metadata": {"title": "🧪 Something new"}}
    assert i18n.translate_message(message, "ja") == message
    assert i18n.translate_reply("plain answer", "ja") == "plain answer"


def test_a_notice_that_names_its_catalogue_entry_is_translated_without_matching() -> None:
    """The way errors.py can adopt: metadata "_key"/"_params" (removed before Gradio sees them)."""
    message = {
        "role": "assistant",
        "content": "any English wording",
        "metadata": {"title": "any title", "_key": "timeout", "_params": {"base_url": URL, "seconds": 5}},
    }
    ja = i18n.translate_message(message, "ja")
    assert ja["metadata"] == {"title": "⚠️ サーバーが時間内に応答しませんでした"}
    assert ja["content"].startswith(f"**{URL}** から 5 秒間何も届きませんでした。")
    en = i18n.translate_reply([message], "en")
    assert en == [{**message, "metadata": {"title": "any title"}}]
