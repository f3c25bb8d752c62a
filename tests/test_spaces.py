"""The app run the way Hugging Face Spaces runs it: ``python gradio_app.py``, configured only by
environment variables (the Space's secrets).

Spaces sets ``GRADIO_SERVER_NAME=0.0.0.0``. Tests here bind loopback addresses only, so the test
sets it to ``127.0.0.2`` (a loopback address that is not the default) to prove the variable is
obeyed; 0.0.0.0 takes the same path.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from gradio_client import Client

from llmchat.cli import AppConfig, share_warning
from llmchat.ports import free_port
from llmchat.testing.openai_server import Behavior, OpenAITestServer
from tests.conftest import SECRET_KEY

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.2"


@contextmanager
def space(env: dict[str, str], output: list[str] | None = None) -> Iterator[str]:
    """``python gradio_app.py`` with ``env``; its whole output is appended to ``output``."""
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "LLMCHAT_", "GRADIO_"))}
    environ.update(env, GRADIO_SERVER_NAME=HOST, GRADIO_SERVER_PORT=str(port))
    proc = subprocess.Popen(
        [sys.executable, "gradio_app.py"],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://{HOST}:{port}/"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.HTTPError:
                assert proc.poll() is None, proc.communicate()[0]
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        text = proc.communicate(timeout=30)[0]
        if output is not None:
            output.append(text)
        assert SECRET_KEY not in text  # not in the logs either


@pytest.fixture
def secrets(server: OpenAITestServer) -> dict[str, str]:
    server.require_api_key = SECRET_KEY
    return {"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": SECRET_KEY, "LLMCHAT_MODEL": "space-model"}


def test_configured_by_the_environment_alone(server: OpenAITestServer, secrets: dict[str, str]) -> None:
    server.set_behavior(Behavior(reply="Hello from the Space"))
    with space(secrets) as url:
        reply = Client(url, verbose=False).predict("hi", show_stats=False, api_name="/chat")
        config = httpx.get(url + "config", timeout=10).text
    assert reply == "Hello from the Space"
    [request] = [r for r in server.requests if r.path == "/v1/chat/completions"]
    assert request.body and request.body["model"] == "space-model"
    assert request.headers["authorization"] == f"Bearer {SECRET_KEY}"
    assert SECRET_KEY not in config


def test_llmchat_auth_protects_every_route_and_the_api(
    server: OpenAITestServer, secrets: dict[str, str]
) -> None:
    with space({**secrets, "LLMCHAT_AUTH": "ann:s3cret"}) as url:
        for path in ("config", "gradio_api/info"):
            assert httpx.get(url + path, timeout=10).status_code in (401, 403), path
        with pytest.raises(Exception):  # noqa: B017 - gradio_client raises its own error types
            Client(url, verbose=False).predict("hi", api_name="/chat")
        with pytest.raises(Exception):  # noqa: B017
            Client(url, auth=("ann", "wrong"), verbose=False)
        reply = Client(url, auth=("ann", "s3cret"), verbose=False).predict(
            "hi", show_stats=False, api_name="/chat"
        )
    assert reply == "Echo: hi"
    assert len(server.chat_bodies) == 1


def test_share_without_auth_warns() -> None:
    base = AppConfig(None, ROOT / "configs", "127.0.0.1", 7860, share=True, auth=None, concurrency=8)
    warning = share_warning(base)
    assert warning and "--auth" in warning and "anyone with the link" in warning
    assert share_warning(AppConfig(None, ROOT, "127.0.0.1", 7860, True, [("a", "b")], 8)) is None
