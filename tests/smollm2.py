"""The end-to-end tests' real model: SmolLM2 on a ``llama_cpp.server`` of its own, and our test
server in proxy mode in front of it, recording each request and forwarding it unchanged.

Import the fixtures into a test module (``from tests.smollm2 import llama_fixture,
recorder_fixture``); each module gets its own server, started once and stopped after it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from llmchat.engine.embedded import EmbeddedServer, EmbeddedSettings
from llmchat.testing.openai_server import OpenAITestServer


@pytest.fixture(name="llama", scope="module")
def llama_fixture(request: pytest.FixtureRequest) -> Iterator[EmbeddedServer]:
    name = "e2e-" + request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    server = EmbeddedServer(EmbeddedSettings(model="smollm2", n_ctx=2048), name=name)
    server.start()
    yield server
    server.stop()


@pytest.fixture(name="recorder", scope="module")
def recorder_fixture(llama: EmbeddedServer) -> Iterator[OpenAITestServer]:
    assert llama.base_url
    with OpenAITestServer(upstream=llama.base_url.removesuffix("/v1")) as proxy:
        yield proxy
