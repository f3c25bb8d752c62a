"""Untrusted visitors and failing servers: nothing crashes, nothing leaks, nothing is lost."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from gradio_client import Client

from llmchat.core.conversation_file import MAX_HISTORY_MESSAGES
from llmchat.core.presets import load_catalog
from llmchat.engine.service import ChatService
from llmchat.testing.openai_server import Behavior, OpenAITestServer
from tests.replies import answer_of
from tests.replies import notes_of as notes
from tests.turns import run_turn

# --- hostile input ---------------------------------------------------------------------------


def test_empty_message_is_answered_with_a_hint(client: Client, server: OpenAITestServer) -> None:
    assert "⚠️ Empty message" in notes(client.predict("   ", api_name="/chat"))
    assert server.chat_bodies == []


def test_a_one_megabyte_message_is_refused_with_the_limit(client: Client, server: OpenAITestServer) -> None:
    [(title, text)] = notes(client.predict("x" * 1_000_000, api_name="/chat")).items()
    assert "Message too long" in title
    assert "1,000,000 characters" in text and "100,000" in text and "--max-message-chars" in text
    assert server.chat_bodies == []
    assert client.predict("still fine?", api_name="/chat") == "Echo: still fine?"


def test_control_characters_are_removed_before_sending(client: Client, server: OpenAITestServer) -> None:
    client.predict("be\x00ll\x07 \x1b[31mred\x1b[0m\ttab\nline", api_name="/chat")
    assert server.chat_bodies[0]["messages"][-1]["content"] == "bell [31mred[0m\ttab\nline"


def test_thousands_of_turns_are_bounded(config_dir: Path, server: OpenAITestServer) -> None:
    service = ChatService(load_catalog(config_dir, environ={}))
    history = [
        {"role": role, "content": f"turn {i}"}
        for i in range(MAX_HISTORY_MESSAGES // 2 + 1)
        for role in ("user", "assistant")
    ]
    [reply] = run_turn(service, "one more", history)
    assert "⚠️ Conversation too long" in notes(reply)
    assert server.chat_bodies == []


def test_visitors_cannot_reach_server_settings_through_the_api(app_url: str) -> None:
    info = httpx.get(app_url + "gradio_api/info", timeout=10).json()
    params = {p["parameter_name"] for ep in info["named_endpoints"].values() for p in ep["parameters"]}
    assert params.isdisjoint({"base_url", "api_key", "url", "key", "server"}), params


def test_the_api_refuses_a_preset_that_is_not_on_disk(client: Client, server: OpenAITestServer) -> None:
    for preset in ("http://169.254.169.254/latest", "../../etc/passwd", "test-chat\x00"):
        with pytest.raises(Exception, match="not in the list of choices"):
            client.predict("hi", preset=preset, api_name="/chat")
    assert server.chat_bodies == []


# --- server faults: partial answer kept, clear message, next message works --------------------


def test_server_killed_mid_answer_then_restarted(client: Client, server: OpenAITestServer) -> None:
    server.set_behavior(Behavior(tokens=200, delay=0.02))
    job = client.submit("long one", api_name="/chat")
    deadline = time.monotonic() + 10
    while not server.streams or server.streams[-1].tokens_sent < 5:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    server.stop()  # the server process goes away mid-answer
    reply = job.result(timeout=20)
    assert answer_of(reply).startswith("tok0 tok1 tok2 tok3 tok4")
    assert any("cut off" in title for title in notes(reply))
    [(title, _)] = notes(client.predict("anyone there?", api_name="/chat")).items()
    assert "Cannot reach the LLM server" in title
    server.start()  # back on the same port
    server.set_behavior(Behavior())
    assert client.predict("back?", api_name="/chat") == "Echo: back?"
