"""The app run the way Hugging Face Spaces runs it: ``python gradio_app.py``, configured only by
environment variables (the Space's secrets).

Spaces sets ``GRADIO_SERVER_NAME=0.0.0.0``. Tests here bind loopback addresses only, so the test
sets it to ``127.0.0.2`` (a loopback address that is not the default) to prove the variable is
obeyed; 0.0.0.0 takes the same path.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from gradio_client import Client

from llmchat.cli.web import AppConfig, share_warning
from llmchat.testing.app_process import AppProcess
from llmchat.testing.openai_server import Behavior, OpenAITestServer
from tests.conftest import SECRET_KEY

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.2"


@contextmanager
def space(env: dict[str, str], output: list[str] | None = None) -> Iterator[str]:
    """``python gradio_app.py`` without flags, configured by ``env`` and the address variables
    alone; its whole output is appended to ``output``."""
    app = AppProcess(env=env, host=HOST, address_in_env=True)
    try:
        with app:
            yield app.url
    finally:
        if output is not None:
            output.append(app.output)
        assert SECRET_KEY not in app.output  # not in the logs either


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
