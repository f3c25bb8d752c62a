"""The command line as a user runs it: ``python gradio_app.py ...`` in a subprocess."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from gradio_client import Client

from llmchat.cli.web import AppConfig, UsageError, choose_preset, parse_args
from llmchat.core.presets import load_catalog
from llmchat.testing.app_process import AppProcess
from llmchat.testing.openai_server import Behavior, OpenAITestServer
from tests.conftest import SECRET_KEY

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "gradio_app.py"


def run_app(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(APP), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_help_lists_every_flag() -> None:
    result = run_app("--help")
    assert result.returncode == 0
    for flag in ("--preset", "--config-dir", "--host", "--port", "--share", "--auth", "--concurrency"):
        assert flag in result.stdout


def test_broken_named_preset_exits_2_with_its_one_line(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text("name: Good\n")
    (tmp_path / "bad.yaml").write_text("temperature: 7\n")
    result = run_app("--config-dir", str(tmp_path), "--preset", "bad")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert str(tmp_path / "bad.yaml") in last and "'temperature'" in last and "7" in last
    assert "from 0.0 to 2.0" in last


def test_no_valid_preset_exits_2(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("mode: debate\n")
    result = run_app("--config-dir", str(tmp_path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "no usable preset" in result.stderr and "'mode'" in result.stderr


def test_unknown_named_preset_exits_2_listing_the_others(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text("")
    result = run_app("--config-dir", str(tmp_path), "--preset", "nope")
    assert result.returncode == 2
    assert "--preset nope: no such preset (available: good)" in result.stderr


def test_bad_auth_exits_2() -> None:
    result = run_app("--auth", "no-colon")
    assert result.returncode == 2
    assert "expected USER:PASS" in result.stderr


def test_environment_gives_flag_defaults() -> None:
    env = {
        "LLMCHAT_PRESET": "openai",
        "LLMCHAT_AUTH": "ann:pw1,bob:pw2",
        "GRADIO_SERVER_NAME": "0.0.0.0",
        "GRADIO_SERVER_PORT": "7000",
        "LLMCHAT_CONCURRENCY": "12",
    }
    config = parse_args([], environ=env)
    assert config == AppConfig(
        preset="openai",
        config_dir=ROOT / "configs",
        host="0.0.0.0",
        port=7000,
        share=False,
        auth=[("ann", "pw1"), ("bob", "pw2")],
        concurrency=12,
    )
    defaults = parse_args([], environ={})
    assert (defaults.host, defaults.port, defaults.concurrency, defaults.auth) == (
        "127.0.0.1",
        7860,
        128,
        None,
    )


def test_broken_preset_does_not_stop_the_others(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text("")
    (tmp_path / "bad.yaml").write_text("top_p: 2\n")
    catalog = load_catalog(tmp_path, environ={})
    assert choose_preset(catalog, None) == "good"
    with pytest.raises(UsageError, match="top_p"):
        choose_preset(catalog, "bad")


def test_launched_app_serves_a_chat_and_shows_broken_presets(
    config_dir: Path, llm_server: OpenAITestServer
) -> None:
    """Start the real entry point, chat through it, and read the warnings it printed and shows."""
    llm_server.clear()
    llm_server.set_behavior(Behavior(reply="pong"))
    with AppProcess("--config-dir", str(config_dir), "--preset", "test-chat") as app:
        client = Client(app.url, verbose=False)
        assert client.predict("ping", api_name="/chat") == "pong"
        assert "broken.yaml" in httpx.get(app.url + "config", timeout=5).text  # shown in the UI
        client.close()
    assert "broken.yaml: key 'temperature' has value 5" in app.output  # and in the console
    assert SECRET_KEY not in app.output


def test_logs_never_contain_the_key(
    client: Client, server: OpenAITestServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server.enqueue(Behavior(fault="http", status=401, message=f"bad key {SECRET_KEY}"))
    client.predict("hi", api_name="/chat")
    server.enqueue(Behavior(tokens=5, fault="drop_after:2"))
    client.predict("hi", api_name="/chat")
    assert "request to" in caplog.text  # the failures were logged ...
    assert SECRET_KEY not in caplog.text  # ... without the key
