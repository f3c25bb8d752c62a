"""The launched app, driven through gradio_client, against our recording test server."""

from __future__ import annotations

import concurrent.futures
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest
from gradio_client import Client

from llmchat.testing.openai_server import Behavior, OpenAITestServer
from tests.conftest import SECRET_KEY


def ask(client: Client, message: str, **controls: Any) -> Any:
    return client.predict(message, api_name="/chat", **controls)


def notes(reply: Any) -> list[dict[str, Any]]:
    """llmchat's own notes in a reply (titled messages); a plain string reply has none."""
    if isinstance(reply, str):
        return []
    return [m for m in reply if (m.get("metadata") or {}).get("title")]


def answer_text(reply: Any) -> str:
    if isinstance(reply, str):
        return reply
    return "".join(m["content"] for m in reply if not (m.get("metadata") or {}).get("title"))


# --- streaming and what the server receives -------------------------------------------------


def test_answer_streams_to_the_visitor(client: Client, server: OpenAITestServer) -> None:
    server.set_behavior(Behavior(reply="one two three four five", delay=0.05))
    job = client.submit("hello", api_name="/chat")
    final = job.result(timeout=20)
    assert final == "one two three four five"
    partials = [o for o in job.outputs() if isinstance(o, str)]
    assert len(partials) >= 3, partials  # it arrived piece by piece, not at once
    assert partials[0] != final


def test_system_prompt_first_on_every_turn_and_history_in_chat_mode(
    client: Client, server: OpenAITestServer
) -> None:
    first = ask(client, "first question")
    second = ask(client, "second question")
    assert (first, second) == ("Echo: first question", "Echo: second question")
    bodies = server.chat_bodies
    assert len(bodies) == 2
    assert bodies[0]["messages"] == [
        {"role": "system", "content": "You are the test assistant."},
        {"role": "user", "content": "first question"},
    ]
    assert bodies[1]["messages"] == [
        {"role": "system", "content": "You are the test assistant."},
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "Echo: first question"},
        {"role": "user", "content": "second question"},
    ]


def test_qa_mode_sends_no_history(client: Client, server: OpenAITestServer) -> None:
    ask(client, "first", mode="qa")
    ask(client, "second", mode="qa")
    assert server.chat_bodies[1]["messages"] == [
        {"role": "system", "content": "You are the test assistant."},
        {"role": "user", "content": "second"},
    ]


def test_every_control_value_reaches_the_server(client: Client, server: OpenAITestServer) -> None:
    ask(
        client,
        "q",
        system_prompt="Custom system",
        temperature=1.25,
        top_p=0.42,
        max_tokens=321,
        frequency_penalty=-1.5,
        presence_penalty=1.75,
        seed="1234",
    )
    body = server.chat_bodies[0]
    assert body["messages"][0] == {"role": "system", "content": "Custom system"}
    assert body["model"] == "test-model"
    assert body["stream"] is True
    assert (body["temperature"], body["top_p"], body["max_tokens"]) == (1.25, 0.42, 321)
    assert (body["frequency_penalty"], body["presence_penalty"], body["seed"]) == (-1.5, 1.75, 1234)


def test_preset_defaults_are_sent_when_the_controls_are_untouched(
    client: Client, server: OpenAITestServer
) -> None:
    ask(client, "q")
    body = server.chat_bodies[0]
    assert (body["temperature"], body["top_p"], body["max_tokens"]) == (0.3, 0.9, 256)
    assert (body["frequency_penalty"], body["presence_penalty"], body["seed"]) == (0.1, 0.2, 7)


def test_empty_seed_sends_no_seed(client: Client, server: OpenAITestServer) -> None:
    ask(client, "q", seed="")
    ask(client, "q", seed=" ")
    assert "seed" not in server.chat_bodies[0] and "seed" not in server.chat_bodies[1]


def test_seed_that_is_not_a_whole_number_is_refused_clearly(client: Client, server: OpenAITestServer) -> None:
    [note] = notes(ask(client, "q", seed="lucky"))
    assert "'seed'" in note["content"] and "'lucky'" in note["content"] and "whole number" in note["content"]
    assert server.chat_bodies == []


def test_switching_preset_sets_every_control_and_the_request_follows(
    client: Client, server: OpenAITestServer
) -> None:
    values = client.predict("test-qa", api_name="/preset_values")
    mode, system_prompt, temperature, top_p, max_tokens, freq, pres, seed, stats, info = values
    assert (mode, system_prompt, temperature, top_p, seed) == ("qa", "QA system prompt.", 1.1, 0.5, "")
    assert stats is False
    assert max_tokens["value"] == 64
    assert "Test QA" in info and "qa-model" in info
    controls = dict(
        mode=mode,
        system_prompt=system_prompt,
        temperature=temperature,
        top_p=top_p,
        max_tokens=max_tokens["value"],
        frequency_penalty=freq,
        presence_penalty=pres,
        seed=seed,
        show_stats=stats,
    )
    ask(client, "one", preset="test-qa", **controls)
    ask(client, "two", preset="test-qa", **controls)
    body = server.chat_bodies[1]
    assert body["model"] == "qa-model"
    assert body["messages"] == [
        {"role": "system", "content": "QA system prompt."},
        {"role": "user", "content": "two"},
    ]
    assert (body["temperature"], body["top_p"], body["max_tokens"]) == (1.1, 0.5, 64)
    assert "seed" not in body


def test_japanese_text_round_trips_exactly(client: Client, server: OpenAITestServer) -> None:
    reply = "こんにちは、世界！日本語の優秀なアシスタントです。🎌 Ünïcödé"
    server.set_behavior(Behavior(reply=reply))
    assert ask(client, "日本語で答えて") == reply
    assert server.chat_bodies[0]["messages"][-1]["content"] == "日本語で答えて"


# --- what the visitor sees when things go wrong ---------------------------------------------


def test_unreachable_server_names_the_url_and_how_to_start_it(client: Client) -> None:
    reply = ask(client, "hello?", preset="unreachable")
    [note] = notes(reply)
    assert "Cannot reach the LLM server" in note["metadata"]["title"]
    assert "http://127.0.0.1:" in note["content"]
    assert "python -m llama_cpp.server" in note["content"]


@pytest.mark.parametrize("status", [401, 403])
def test_refused_key_is_explained_without_showing_it(
    client: Client, server: OpenAITestServer, status: int
) -> None:
    server.enqueue(Behavior(fault="http", status=status, message=f"Incorrect API key: {SECRET_KEY}"))
    [note] = notes(ask(client, "hi"))
    assert f"refused the API key (HTTP {status})" in note["metadata"]["title"]
    assert "OPENAI_API_KEY" in note["content"]
    assert SECRET_KEY not in str(note)
    assert SECRET_KEY[:12] not in str(note)


def test_unknown_model_lists_the_servers_models(client: Client, server: OpenAITestServer) -> None:
    server.models = ["llama-3-8b", "qwen2.5-7b"]
    server.strict_models = True
    [note] = notes(ask(client, "hi"))
    assert "HTTP 404" in note["metadata"]["title"]
    assert "test-model" in note["content"]
    assert "`llama-3-8b`" in note["content"] and "`qwen2.5-7b`" in note["content"]


def test_bad_request_shows_the_servers_own_message(client: Client, server: OpenAITestServer) -> None:
    # (A refusal that states the window is learned from and the turn sent again: test_context_window.py)
    message = "Requested tokens (5000) exceed the context window"
    server.enqueue(Behavior(fault="http", status=400, message=message))
    [note] = notes(ask(client, "hi"))
    assert "HTTP 400" in note["metadata"]["title"]
    assert message in note["content"]
    assert "context window" in note["content"]


def test_rate_limit_says_how_long_to_wait(client: Client, server: OpenAITestServer) -> None:
    server.enqueue(Behavior(fault="http", status=429, message="slow down", retry_after=7))
    [note] = notes(ask(client, "hi"))
    assert "HTTP 429" in note["metadata"]["title"]
    assert "slow down" in note["content"] and "7 s" in note["content"]


@pytest.mark.parametrize("status", [500, 503])
def test_server_failure_is_explained(client: Client, server: OpenAITestServer, status: int) -> None:
    server.enqueue(Behavior(fault="http", status=status, message="model crashed"))
    [note] = notes(ask(client, "hi"))
    assert f"HTTP {status}" in note["metadata"]["title"]
    assert "model crashed" in note["content"]


def test_timeout_is_explained(client: Client, server: OpenAITestServer) -> None:
    server.enqueue(Behavior(fault="hang"))
    started = time.monotonic()
    [note] = notes(ask(client, "hi", preset="slow"))
    assert time.monotonic() - started < 10
    assert "did not answer in time" in note["metadata"]["title"]
    assert "1 s" in note["content"]


def test_broken_stream_keeps_the_partial_answer_and_marks_it_cut_off(
    client: Client, server: OpenAITestServer
) -> None:
    server.enqueue(Behavior(tokens=20, fault="drop_after:5"))
    reply = ask(client, "hi")
    assert answer_text(reply) == "tok0 tok1 tok2 tok3 tok4 "
    [note] = notes(reply)
    assert "cut off" in note["metadata"]["title"]


def test_error_event_mid_stream_keeps_the_partial_answer(client: Client, server: OpenAITestServer) -> None:
    server.enqueue(Behavior(tokens=20, fault="error_event_after:3", message="out of memory"))
    reply = ask(client, "hi")
    assert answer_text(reply) == "tok0 tok1 tok2 "
    [note] = notes(reply)
    assert "cut off" in note["metadata"]["title"] and "out of memory" in note["content"]


def test_stream_without_finish_reason_is_marked_cut_off(client: Client, server: OpenAITestServer) -> None:
    server.enqueue(Behavior(tokens=4, fault="no_finish"))
    reply = ask(client, "hi")
    assert answer_text(reply) == "tok0 tok1 tok2 tok3"
    assert "cut off" in notes(reply)[0]["metadata"]["title"]


@pytest.mark.parametrize(
    ("fault", "title"),
    [("not_sse", "Unexpected reply from the server"), ("not_json", "The server sent no answer")],
)
def test_reply_that_is_not_an_openai_stream_is_explained(
    client: Client, server: OpenAITestServer, fault: str, title: str
) -> None:
    server.enqueue(Behavior(fault=fault))
    [note] = notes(ask(client, "hi"))
    assert title in note["metadata"]["title"]
    assert server.base_url in note["content"] and "/v1" in note["content"]


def test_max_tokens_limit_is_pointed_out(client: Client, server: OpenAITestServer) -> None:
    server.set_behavior(Behavior(tokens=50))
    reply = ask(client, "hi", max_tokens=3)
    assert answer_text(reply) == "tok0 tok1 tok2 "
    assert "Max tokens" in notes(reply)[0]["metadata"]["title"]


def test_failed_turn_is_not_sent_back_and_the_next_message_works(
    client: Client, server: OpenAITestServer
) -> None:
    server.enqueue(Behavior(fault="http", status=500, message="boom"))
    assert notes(ask(client, "lost question"))
    assert ask(client, "next question") == "Echo: next question"
    assert server.chat_bodies[-1]["messages"] == [
        {"role": "system", "content": "You are the test assistant."},
        {"role": "user", "content": "next question"},
    ]


def test_out_of_range_control_from_the_api_is_refused_clearly(
    client: Client, server: OpenAITestServer
) -> None:
    with pytest.raises(Exception, match="Value 9 is greater than maximum value 2"):
        ask(client, "hi", temperature=9)  # Gradio's slider checks its own bounds
    assert server.chat_bodies == []


def test_unknown_preset_from_the_api_is_refused(client: Client, server: OpenAITestServer) -> None:
    with pytest.raises(Exception, match="not in the list of choices"):  # Gradio's own check
        ask(client, "hi", preset="http://evil.example/v1")
    assert server.chat_bodies == []


# --- secrets, sessions, stop -----------------------------------------------------------------


def test_api_key_never_reaches_config_or_api_info(app_url: str) -> None:
    for path in ("config", "gradio_api/info", "gradio_api/openapi.json"):
        response = httpx.get(app_url + path, timeout=10)
        assert SECRET_KEY not in response.text, path


def test_two_visitors_at_once_never_see_each_others_conversation(
    app_url: str, server: OpenAITestServer
) -> None:
    def conversation(name: str) -> list[str]:
        visitor = Client(app_url, verbose=False)
        try:
            return [
                visitor.predict(f"{name} turn {i} [[test delay=0.02]]", api_name="/chat") for i in range(3)
            ]
        finally:
            visitor.close()

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        alice, bob = pool.map(conversation, ["alice", "bob"])
    assert alice == [f"Echo: alice turn {i}" for i in range(3)]  # the server drops the directive
    assert bob == [f"Echo: bob turn {i}" for i in range(3)]
    for body in server.chat_bodies:
        texts = " ".join(m["content"] for m in body["messages"][1:])
        assert ("alice" in texts) != ("bob" in texts), texts  # never both in one request


def test_stop_closes_the_stream_to_the_server(client: Client, server: OpenAITestServer) -> None:
    server.set_behavior(Behavior(tokens=400, delay=0.05))
    job = client.submit("long answer please", api_name="/chat")
    deadline = time.monotonic() + 10
    while len(job.outputs()) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert job.outputs(), "no streamed output arrived"
    job.cancel()
    record = server.wait_for_disconnect(timeout=5)
    assert record.disconnected and not record.finished
    assert record.tokens_sent < 100


def test_visitor_going_away_closes_the_stream_to_the_server(app_url: str, server: OpenAITestServer) -> None:
    """A visitor whose connection drops mid-answer (tab closed, process killed) stops generation."""
    server.set_behavior(Behavior(tokens=400, delay=0.05))
    script = (
        "import sys, time\n"
        "from gradio_client import Client\n"
        f"job = Client({app_url!r}, verbose=False).submit('long answer', api_name='/chat')\n"
        "while len(job.outputs()) < 3: time.sleep(0.05)\n"
        "print('streaming', flush=True)\n"
        "time.sleep(60)\n"
    )
    visitor = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert visitor.stdout is not None and visitor.stdout.readline().strip() == "streaming"
        visitor.kill()
        record = server.wait_for_disconnect(timeout=10)
    finally:
        visitor.kill()
        visitor.wait()
    assert record.disconnected and not record.finished
    assert record.tokens_sent < 200
