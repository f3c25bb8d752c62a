"""Shared fixtures: our OpenAI-compatible test server, presets pointing at it, the launched app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from gradio_client import Client

from llmchat.core.presets import load_catalog
from llmchat.ports import free_port
from llmchat.testing.openai_server import OpenAITestServer
from llmchat.web.app import build_demo

SECRET_KEY = "sk-test-secret-0123456789abcdef"


@pytest.fixture(scope="session")
def llm_server() -> Iterator[OpenAITestServer]:
    with OpenAITestServer() as server:
        yield server


@pytest.fixture
def server(llm_server: OpenAITestServer) -> Iterator[OpenAITestServer]:
    """The session's test server, emptied of records and scripted behaviour for each test."""
    llm_server.clear()
    llm_server.models = ["test-model"]
    llm_server.models_status = 200
    llm_server.require_api_key = None
    llm_server.strict_models = False
    llm_server.tokenizer = None
    llm_server.n_ctx = None
    yield llm_server
    llm_server.clear()


def write_presets(directory: Path, base_url: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    closed_port = free_port()  # nothing listens there
    presets = {
        "test-chat": f"""
name: Test chat
mode: chat
base_url: {base_url}
api_key: {SECRET_KEY}
model: test-model
system_prompt: You are the test assistant.
temperature: 0.3
top_p: 0.9
max_tokens: 256
frequency_penalty: 0.1
presence_penalty: 0.2
seed: 7
show_stats: false
stream_usage: false
""",
        "test-qa": f"""
name: Test QA
mode: qa
base_url: {base_url}
api_key: {SECRET_KEY}
model: qa-model
system_prompt: QA system prompt.
temperature: 1.1
top_p: 0.5
max_tokens: 64
seed: null
show_stats: false
""",
        "unreachable": f"""
name: Nobody home
show_stats: false
base_url: http://127.0.0.1:{closed_port}/v1
api_key: {SECRET_KEY}
""",
        "slow": f"""
name: Slow server
show_stats: false
base_url: {base_url}
api_key: {SECRET_KEY}
model: test-model
timeout: 1
""",
        "small-window": f"""
name: Small window
base_url: {base_url}
api_key: {SECRET_KEY}
model: test-model
system_prompt: You are the test assistant.
max_tokens: 64
context_window: 512
show_stats: false
""",
        "stats": f"""
name: With stats
base_url: {base_url}
api_key: {SECRET_KEY}
model: test-model
""",
        "one-at-a-time": f"""
name: One at a time
show_stats: false
base_url: {base_url}
api_key: {SECRET_KEY}
model: test-model
concurrency_limit: 1
""",
    }
    presets["small-window-no-warm"] = presets["small-window"] + "warm_cache: false\n"
    for stem, text in presets.items():
        (directory / f"{stem}.yaml").write_text(text, encoding="utf-8")
    (directory / "broken.yaml").write_text("temperature: 5\n", encoding="utf-8")
    return directory


@pytest.fixture(scope="session")
def config_dir(llm_server: OpenAITestServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_presets(tmp_path_factory.mktemp("configs"), llm_server.base_url)


def launch_app(config_dir: Path, preset: str = "test-chat") -> Iterator[str]:
    """The app, launched for real on 127.0.0.1, as a visitor's browser or gradio_client meets it."""
    demo = build_demo(load_catalog(config_dir, environ={}), preset, concurrency=16)
    _, url, _ = demo.launch(
        server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True
    )
    yield url
    demo.close()


@pytest.fixture(scope="session")
def app_url(config_dir: Path) -> Iterator[str]:
    yield from launch_app(config_dir)


@pytest.fixture
def fresh_app_url(config_dir: Path, server: OpenAITestServer) -> Iterator[str]:
    """An app started after the test set up the server: nothing it learnt about servers is cached."""
    yield from launch_app(config_dir)


@pytest.fixture
def client(app_url: str, server: OpenAITestServer) -> Iterator[Client]:
    """A fresh visitor (its own Gradio session) talking to the app through its API."""
    visitor = Client(app_url, verbose=False)
    yield visitor
    visitor.close()
