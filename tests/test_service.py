"""The chat service's own rules, with an in-process fake at its one seam to servers (Upstream).

HTTP adds nothing to these rules (what is sent, in which order, what is refused, when a notice
appears), so they run here in milliseconds; the same service against real HTTP is covered by
tests/test_app.py and the e2e tests.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from llmchat.core.notices import Notice
from llmchat.core.presets import LoadedPreset, load_catalog
from llmchat.core.turn import TurnView
from llmchat.engine.fairness import FairShare
from llmchat.engine.service import ChatService, TurnRequest
from llmchat.engine.stream import Delta, StreamOutcome


class FakeUpstream:
    """Answers "Echo: <last message>" (or a scripted list of pieces, or an exception), records
    every body, and says what a test wants about models, windows and token counts."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.warmed: list[dict[str, Any]] = []
        self.script: list[list[str] | Exception] = []
        self.models: list[str] | None = ["test-model", "other-model"]
        self.window_size: int | None = None
        self.exact = False
        self.gate: asyncio.Event | None = None  # when set, answers wait for it

    def stream(
        self, preset: LoadedPreset, body: dict[str, Any], outcome: StreamOutcome
    ) -> AsyncIterator[Delta]:
        self.bodies.append(body)
        step = self.script.pop(0) if self.script else [f"Echo: {body['messages'][-1]['content']}"]

        async def pieces() -> AsyncIterator[Delta]:
            outcome.started = time.monotonic()
            if self.gate is not None:
                await self.gate.wait()
            if isinstance(step, Exception):
                raise step
            for piece in step:
                outcome.first_token_at = outcome.first_token_at or time.monotonic()
                outcome.last_token_at = time.monotonic()
                outcome.chunks += 1
                yield Delta("text", piece)
            outcome.finish_reason = "stop"

        return pieces()

    async def list_models(self, preset: LoadedPreset) -> list[str] | None:
        return self.models

    async def window(self, preset: LoadedPreset) -> int | None:
        return self.window_size or preset.settings.context_window

    async def count(self, preset: LoadedPreset, texts: list[str]) -> tuple[list[int], bool]:
        return [len(text) for text in texts], self.exact  # one token a character: easy to reason about

    async def warm(self, preset: LoadedPreset, body: dict[str, Any]) -> None:
        self.warmed.append(body)


@pytest.fixture
def fake() -> FakeUpstream:
    return FakeUpstream()


@pytest.fixture
def service(config_dir: Path, fake: FakeUpstream) -> ChatService:
    return ChatService(load_catalog(config_dir, environ={}), upstream=fake)


def turn(service: ChatService, message: str, **fields: Any) -> list[TurnView]:
    request = TurnRequest(message=message, preset=fields.pop("preset", "test-chat"), **fields)

    async def collect() -> list[TurnView]:
        return [view async for view in service.turn(request)]

    return asyncio.run(collect())


def kinds(views: list[TurnView]) -> list[str]:
    return list(dict.fromkeys(notice.kind for view in views for notice in view.notices))


HISTORY = [
    {"role": "user", "content": "first"},
    {"role": "assistant", "content": "one"},
    {"role": "user", "content": "second"},
    {"role": "assistant", "content": "two"},
]


def test_the_preset_and_the_visitors_controls_make_the_request(
    service: ChatService, fake: FakeUpstream
) -> None:
    views = turn(
        service, "hello", history=HISTORY, controls={"temperature": 1.5, "seed": "", "max_tokens": 99.0}
    )
    assert views[-1].answer == "Echo: hello" and views[-1].finish_reason == "stop"
    [body] = fake.bodies
    assert [m["content"] for m in body["messages"]] == [
        "You are the test assistant.",
        "first",
        "one",
        "second",
        "two",
        "hello",
    ]
    # The visitor's values where given (a slider's 99.0 is a whole number), the preset's elsewhere.
    assert (body["temperature"], body["max_tokens"], body["top_p"], body["model"]) == (
        1.5,
        99,
        0.9,
        "test-model",
    )
    assert "seed" not in body  # an empty Seed box: no seed


def test_qa_mode_sends_the_system_prompt_and_the_question_only(
    service: ChatService, fake: FakeUpstream
) -> None:
    turn(service, "just this", history=HISTORY, controls={"mode": "qa"})
    assert [m["role"] for m in fake.bodies[0]["messages"]] == ["system", "user"]


def test_values_out_of_range_or_past_the_presets_limit_are_refused(
    service: ChatService, fake: FakeUpstream
) -> None:
    for controls in ({"temperature": 7}, {"max_tokens": 5000}, {"mode": "rap"}, {"seed": "lucky"}):
        views = turn(service, "hi", preset="one-at-a-time", controls=controls)
        assert kinds(views) == ["invalid_settings"], controls
        assert str(next(iter(controls))) in views[0].before[0].params["detail"]
    assert fake.bodies == []


def test_a_model_must_be_the_presets_or_one_the_server_lists(
    service: ChatService, fake: FakeUpstream
) -> None:
    turn(service, "hi", model="other-model")
    assert fake.bodies[-1]["model"] == "other-model"
    assert kinds(turn(service, "hi", model="http://evil.example/v1")) == ["model_not_offered"]
    fake.models = None  # the server stopped listing: only the preset's own model is left
    assert kinds(turn(service, "hi", model="not-listed")) == ["model_not_offered"]
    assert len(fake.bodies) == 1


def test_older_turns_are_left_out_to_fit_the_window_and_the_visitor_is_told(
    service: ChatService, fake: FakeUpstream
) -> None:
    long_history = [
        {"role": r, "content": f"{r} {i} " + "x" * 150} for i in range(8) for r in ("user", "assistant")
    ]
    views = turn(service, "now", preset="small-window", history=long_history)
    sent = fake.bodies[0]["messages"]
    [trimmed] = [n for n in views[-1].before if n.kind == "history_trimmed"]
    assert trimmed.params["count"] == len(long_history) - (len(sent) - 2)
    assert sent[0]["role"] == "system" and sent[1]["role"] == "user" and sent[-1]["content"] == "now"
    assert sum(len(str(m["content"])) for m in sent) + 64 < 512  # fits with Max tokens


def test_a_message_that_cannot_fit_at_all_is_refused(service: ChatService, fake: FakeUpstream) -> None:
    assert kinds(turn(service, "x" * 600, preset="small-window")) == ["too_long_for_model"]
    assert fake.bodies == []


def test_failures_become_notices_and_what_arrived_is_kept(service: ChatService, fake: FakeUpstream) -> None:
    request = httpx.Request("POST", "http://127.0.0.1:9/v1/chat/completions")
    response = httpx.Response(401, request=request, json={"error": {"message": "bad key"}})
    fake.script = [
        openai.APIStatusError("bad key", response=response, body={"error": {"message": "bad key"}})
    ]
    assert kinds(turn(service, "hi")) == ["key_refused"]

    class Broken(Exception):
        pass

    fake.script = [["part one "], Broken()]

    async def broken_midway(preset: Any, body: Any, outcome: StreamOutcome) -> AsyncIterator[Delta]:
        outcome.first_token_at = time.monotonic()
        outcome.chunks = 1
        yield Delta("text", "part one ")
        raise httpx.ReadError("gone")

    fake.stream = broken_midway  # type: ignore[method-assign]
    views = turn(service, "hi")
    assert views[-1].answer == "part one " and kinds(views) == ["cut_off"]


def test_stats_come_with_the_answer_when_asked_for(service: ChatService, fake: FakeUpstream) -> None:
    fake.script = [["a", "b", "c"]]
    [*_, last] = turn(service, "hi", preset="stats")
    assert last.stats is not None and last.stats.completion_tokens == 3 and last.stats.completion_estimated
    assert turn(service, "hi", preset="stats", controls={"show_stats": False})[-1].stats is None


def test_one_visitor_gets_their_share_and_no_more(config_dir: Path, fake: FakeUpstream) -> None:
    service = ChatService(load_catalog(config_dir, environ={}), upstream=fake, fair=FairShare(1, 0))
    fake.gate = asyncio.Event()

    async def scenario() -> list[list[TurnView]]:
        async def one() -> list[TurnView]:
            request = TurnRequest(message="hi", preset="test-chat", session="same tab")
            return [view async for view in service.turn(request)]

        tasks = [asyncio.create_task(one()) for _ in range(3)]
        await asyncio.sleep(0.05)
        assert fake.gate is not None
        fake.gate.set()
        return await asyncio.gather(*tasks)

    first, second, third = asyncio.run(scenario())
    assert first[-1].answer == "Echo: hi"
    assert kinds(second)[0] == "fair_waiting" and second[-1].answer == "Echo: hi"
    assert kinds(third) == ["fair_refused"]
    assert len(fake.bodies) == 2


def test_the_cache_is_warmed_when_the_next_turn_will_cut(service: ChatService, fake: FakeUpstream) -> None:
    fake.exact = True  # token counts from the server's tokenizer: a llama.cpp server

    async def run_turns() -> None:
        history: list[dict[str, Any]] = []
        for i in range(12):
            request = TurnRequest(message=f"question {i} " + "y" * 30, preset="small-window", history=history)
            views = [view async for view in service.turn(request)]
            history += [
                {"role": "user", "content": request.message},
                {"role": "assistant", "content": views[-1].answer},
            ]
            await asyncio.sleep(0)  # let the background warm-up run
        await asyncio.sleep(0.05)

    asyncio.run(run_turns())
    assert len(fake.warmed) >= 3, "no warm-up although later turns cut the history"
    for warmed in fake.warmed[:-1]:  # the last one was for a turn that never came
        # The warmed prompt is what the next request sends, minus the message itself.
        later = [b for b in fake.bodies if b["messages"][:-1] == warmed["messages"]]
        assert later and later[0]["model"] == warmed["model"]


def test_notices_are_data_until_a_front_end_words_them() -> None:
    notice = Notice("message_too_long", count=12, limit=10)
    assert notice == Notice("message_too_long", limit=10, count=12) and notice.params["count"] == 12


def test_an_image_for_a_model_known_to_read_text_only_is_refused_before_sending(
    tmp_path: Path, fake: FakeUpstream
) -> None:
    """The page refuses such an image when it is attached; an API call (or a page whose preset
    changed since) is refused here, and nothing reaches the server."""
    import base64
    import uuid

    from llmchat.i18n import notice_text
    from llmchat.web.uploads import upload_root

    (tmp_path / "text-only.yaml").write_text(
        "base_url: http://127.0.0.1:9/v1\nmodel: test-model\nimages: false\n", encoding="utf-8"
    )
    service = ChatService(load_catalog(tmp_path, environ={}), upstream=fake, upload_root=upload_root())
    image = upload_root() / f"llmchat-test-{uuid.uuid4().hex}.png"
    image.write_bytes(
        base64.b64decode(
            "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
        )
    )
    try:
        views = turn(service, "what is it?", preset="text-only", files=[str(image)])
        assert kinds(views) == ["images_text_only"] and fake.bodies == []
        title, body = notice_text(views[-1].notices[0], "en")
        assert title == "⚠️ This model reads text only" and image.name in body and "**test-model**" in body
        # Another model of that server is not known to read text only: the image is sent.
        turn(service, "and this one?", preset="text-only", files=[str(image)], model="other-model")
        assert fake.bodies[0]["messages"][-1]["content"][-1]["type"] == "image_url"
    finally:
        image.unlink()
