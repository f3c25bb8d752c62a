"""End to end on the embedded SmolLM2 (a real ``llama_cpp.server``): the context gauge counts what
the server then counts, and ``overflow: summarize`` keeps a long chat going with a real summary.

What reached the server is seen through our test server in proxy mode, which records each request
and forwards it unchanged (the tokenizer requests too).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from llmchat.core.presets import PresetCatalog, load_catalog
from llmchat.core.turn import TurnView
from llmchat.engine.embedded import EmbeddedServer
from llmchat.engine.service import ChatService, TurnRequest
from llmchat.testing.openai_server import OpenAITestServer
from tests.smollm2 import llama_fixture, recorder_fixture  # noqa: F401 - fixtures (llama, recorder)

pytestmark = pytest.mark.e2e

QUESTIONS = [
    "Tell me about the river Thames and the bridges that cross it in central London.",
    "Which animals live in the Amazon rainforest, and how do they find food there?",
    "How do bees make honey, and why do they need so many flowers to do it?",
    "What should I pack for a week of walking in the Scottish highlands in autumn?",
    "Explain how a bicycle stays upright when it moves and falls over when it stops.",
    "Why is the sky blue during the day and red or orange at sunset?",
    "What are the main differences between a violin, a viola and a cello?",
    "How does bread rise, and what does the yeast do to the dough while it rests?",
    "Describe the life of a lighthouse keeper on a small island a hundred years ago.",
    "What makes a good cup of tea, and does the order of milk and water matter?",
    "How do trains switch from one track to another at a junction?",
    "Why do cats purr, and do big cats such as lions purr as well?",
]


def catalog(recorder: OpenAITestServer, folder: Path, extra: str) -> PresetCatalog:
    folder.mkdir(exist_ok=True)
    text = f"base_url: {recorder.base_url}\nmodel: smollm2\nmode: chat\n"
    text += "system_prompt: You are a helpful assistant.\ntemperature: 0\nseed: 42\nshow_stats: false\n"
    (folder / "real.yaml").write_text(text + extra, encoding="utf-8")
    return load_catalog(folder, environ={})


def last(service: ChatService, request: TurnRequest) -> TurnView:
    async def run() -> TurnView:
        return [v async for v in service.turn(request)][-1]

    return asyncio.run(run())


def test_the_gauge_counts_with_the_servers_tokenizer_and_never_below_what_the_server_counts(
    recorder: OpenAITestServer, llama: EmbeddedServer, tmp_path: Path
) -> None:
    service = ChatService(catalog(recorder, tmp_path / "p", "max_tokens: 16\ncontext_window: 2048\n"))
    history = [
        {"role": "user", "content": "What is the capital of France?"},
        {"role": "assistant", "content": "Paris is the capital of France, on the river Seine."},
    ]
    request = TurnRequest("And the capital of Japan? 一言で答えてください。", "real", history=history)
    recorder.clear()
    gauge = asyncio.run(service.context(request))
    assert gauge is not None and gauge.window == 2048 and not gauge.estimated and gauge.used
    assert any(r.path == "/extras/tokenize" for r in recorder.requests)  # counted by the server
    messages = [{"role": "system", "content": "You are a helpful assistant."}, *history]
    messages.append({"role": "user", "content": request.message})
    assert llama.base_url
    usage = httpx.post(
        llama.base_url + "/chat/completions",
        json={"model": "smollm2", "messages": messages, "max_tokens": 1},
        timeout=60,
    ).json()["usage"]
    # The chat template adds a few tokens around each message that the gauge allows for from
    # above: a gauge below the server's count would let a send overflow.
    assert usage["prompt_tokens"] <= gauge.used <= usage["prompt_tokens"] + 3 * len(messages)


def test_a_long_chat_on_a_small_window_goes_on_with_a_real_summary_made_once_per_cut(
    recorder: OpenAITestServer, tmp_path: Path
) -> None:
    window = 640
    extra = f"max_tokens: 48\ncontext_window: {window}\noverflow: summarize\n"
    service = ChatService(catalog(recorder, tmp_path / "p", extra))
    recorder.clear()
    history: list[dict[str, Any]] = []
    views: list[TurnView] = []
    given = None
    for question in QUESTIONS:
        view = last(service, TurnRequest(question, "real", history=list(history), summary=given))
        assert view.answer and not view.failed, (question, view.notices)
        views.append(view)
        given = view.summary or given
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": view.answer}]

    bodies = [r.body for r in recorder.requests if r.path == "/v1/chat/completions" and r.body]
    chats = [b for b in bodies if b.get("stream")]
    summaries = [b for b in bodies if not b.get("stream") and b["max_tokens"] > 1]
    assert len(chats) == len(QUESTIONS)
    made = [v.summary for v in views if v.summary]
    assert made, "the window never filled: nothing to summarize"
    covers = sorted({s.covers for s in made})
    assert len(summaries) == len(covers)  # one summary request per cut, not per turn
    assert all(s["temperature"] <= 0.3 and s["max_tokens"] <= 256 for s in summaries)
    # The model's own words are sent in place of the turns left out, in the system message...
    for view, body in zip(views, chats, strict=True):
        if view.summary:
            assert view.summary.text in body["messages"][0]["content"]
    assert all(len(s.text.split()) >= 5 for s in made)
    # ... and while the cut stays put the prompt's beginning is byte-identical from turn to turn.
    for a, b, va, vb in zip(chats, chats[1:], views, views[1:], strict=False):
        if va.summary and vb.summary and va.summary.covers == vb.summary.covers:
            assert b["messages"][: len(a["messages"]) - 1] == a["messages"][:-1]
