"""The context gauge's figures (ChatService.context): counted by the test server's tokenizer or
estimated, the window, what a send would leave out — the same as the turn then does — and one
request at a time per visitor."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any

import pytest

from llmchat.core.budget import PER_MESSAGE_OVERHEAD
from llmchat.core.gauge import ContextGauge
from llmchat.core.presets import LoadedPreset, load_catalog
from llmchat.core.summary import summary_reserve
from llmchat.engine.service import ChatService, TurnRequest
from llmchat.testing.openai_server import OpenAITestServer
from llmchat.testing.scripting import split_tokens
from tests.test_service import FakeUpstream

SYSTEM = "You are the test assistant."  # the test-chat preset's
HISTORY = [
    {"role": "user", "content": "What is the capital of France?"},
    {"role": "assistant", "content": "Paris is the capital of France."},
]


def gauge(service: ChatService, message: str, **fields: Any) -> ContextGauge | None:
    return asyncio.run(
        service.context(TurnRequest(message=message, preset=fields.pop("preset", "test-chat"), **fields))
    )


def by_tokenizer(texts: list[str]) -> int:
    return sum(len(split_tokens(t)) + PER_MESSAGE_OVERHEAD for t in texts)


def by_estimate(texts: list[str]) -> int:
    return sum(math.ceil(len(t.encode()) / 3) + PER_MESSAGE_OVERHEAD for t in texts)


def test_counted_with_the_servers_tokenizer(server: OpenAITestServer, config_dir: Path) -> None:
    server.tokenizer, server.n_ctx = "llama.cpp", 2048
    figures = gauge(ChatService(load_catalog(config_dir, environ={})), "and of Japan?", history=HISTORY)
    texts = [SYSTEM, *(m["content"] for m in HISTORY), "and of Japan?"]
    assert figures == ContextGauge(used=by_tokenizer(texts), window=2048, estimated=False, max_tokens=256)
    assert any(r.path == "/tokenize" for r in server.requests)


def test_estimated_without_a_tokenizer(server: OpenAITestServer, config_dir: Path) -> None:
    server.n_ctx = 2048
    figures = gauge(ChatService(load_catalog(config_dir, environ={})), "日本の首都は？", history=HISTORY)
    texts = [SYSTEM, *(m["content"] for m in HISTORY), "日本の首都は？"]
    assert figures == ContextGauge(used=by_estimate(texts), window=2048, estimated=True, max_tokens=256)


def test_attachments_count_and_an_empty_message_is_no_problem(
    server: OpenAITestServer, config_dir: Path, tmp_path: Path
) -> None:
    server.tokenizer, server.n_ctx = "llama.cpp", 2048
    notes = tmp_path / "notes.txt"
    notes.write_text("one two three four five six seven eight nine ten", encoding="utf-8")
    service = ChatService(load_catalog(config_dir, environ={}), upload_root=tmp_path)
    bare = gauge(service, "")
    with_file = gauge(service, "", files=[str(notes)])
    assert bare is not None and with_file is not None and bare.reason is None
    assert with_file.used is not None and bare.used is not None and with_file.used - bare.used >= 10


def test_what_a_send_would_leave_out_is_what_the_turn_leaves_out(
    server: OpenAITestServer, config_dir: Path
) -> None:
    server.tokenizer, server.n_ctx = "llama.cpp", 1024
    service = ChatService(load_catalog(config_dir, environ={}))
    history: list[dict[str, Any]] = []
    seen = []
    for n in range(12):
        message = f"question {n} " + "word " * 40
        figures = gauge(service, message, history=history)
        assert figures is not None and figures.window == 1024 and figures.used is not None
        assert figures.used + figures.max_tokens <= 1024
        views = list(_turn(service, TurnRequest(message=message, preset="test-chat", history=list(history))))
        trimmed = [x.params["count"] for v in views for x in v.notices if x.kind == "history_trimmed"]
        assert figures.left_out == (trimmed[0] if trimmed else 0)
        sent = server.chat_bodies[-1]["messages"]
        assert figures.used == by_tokenizer([m["content"] for m in sent])  # the very request sent
        seen.append(figures.left_out)
        history += [{"role": "user", "content": message}, {"role": "assistant", "content": views[-1].answer}]
    assert max(seen) > 0


def _turn(service: ChatService, request: TurnRequest) -> list[Any]:
    async def run() -> list[Any]:
        return [view async for view in service.turn(request)]

    return asyncio.run(run())


def test_no_window_no_figures_and_the_reason(server: OpenAITestServer, config_dir: Path) -> None:
    figures = gauge(ChatService(load_catalog(config_dir, environ={})), "hello")
    assert figures is not None and figures.window is None and figures.used is None
    assert figures.reason is not None and figures.reason.kind == "gauge_no_window"


def test_a_message_that_cannot_fit_says_so(server: OpenAITestServer, config_dir: Path) -> None:
    figures = gauge(ChatService(load_catalog(config_dir, environ={})), "long " * 2000, preset="small-window")
    assert figures is not None and not figures.fits and figures.window == 512
    assert figures.used is not None and figures.used > 512
    assert figures.reason is not None and figures.reason.kind == "too_long_for_model"


def test_with_summaries_the_room_for_the_summary_is_counted(
    server: OpenAITestServer, config_dir: Path, tmp_path: Path
) -> None:
    server.tokenizer = "llama.cpp"
    (tmp_path / "summing.yaml").write_text(
        (config_dir / "small-window.yaml").read_text() + "overflow: summarize\n", encoding="utf-8"
    )
    service = ChatService(load_catalog(tmp_path, environ={}))
    history = [
        {"role": role, "content": f"{role} {n} " + "word " * 30}
        for n in range(6)
        for role in ("user", "assistant")
    ]
    figures = gauge(service, "next", history=history, preset="summing")
    assert figures is not None and figures.summarized and figures.left_out > 0 and figures.estimated
    kept = history[figures.left_out :]
    texts = [SYSTEM, *(m["content"] for m in kept), "next"]
    assert figures.used == by_tokenizer(texts) + summary_reserve(512)


class GatedFake(FakeUpstream):
    def __init__(self) -> None:
        super().__init__()
        self.window_size = 4096
        self.release = asyncio.Event()
        self.running = 0
        self.most = 0

    async def count(self, preset: LoadedPreset, texts: list[str]) -> tuple[list[int], bool]:
        self.running += 1
        self.most = max(self.most, self.running)
        await self.release.wait()
        self.running -= 1
        return await super().count(preset, texts)


@pytest.mark.parametrize("same_visitor", [True, False])
def test_one_request_at_a_time_per_visitor_and_the_newest_wins(config_dir: Path, same_visitor: bool) -> None:
    fake = GatedFake()
    service = ChatService(load_catalog(config_dir, environ={}), upstream=fake)

    async def run() -> list[ContextGauge | None]:
        asks = [
            asyncio.create_task(
                service.context(
                    TurnRequest(f"typing {n}", "test-chat", session="a" if same_visitor else f"v{n}")
                )
            )
            for n in range(3)
        ]
        await asyncio.sleep(0.05)
        fake.release.set()
        return await asyncio.gather(*asks)

    first, middle, last = asyncio.run(run())
    assert first is not None and last is not None
    if same_visitor:
        assert fake.most == 1 and middle is None  # overtaken while it waited: not counted at all
    else:
        assert fake.most == 3 and middle is not None
