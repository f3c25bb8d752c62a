"""Flags and environment variables (llmchat/settings.py): one model, one message per bad value.

What a user types (a flag), what a deployment sets (a variable), and what they get back: the
value used, or one line naming the flag or the variable, the value and what it accepts.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from llmchat.cli.app_config import parse_args, web_parser
from llmchat.core.limits import DEFAULT_LIMITS
from llmchat.settings import UsageError, WebSettings, default_config_dir, flag

ROOT = Path(__file__).resolve().parent.parent


def test_every_setting_has_its_flag_and_its_variable_in_help() -> None:
    text = web_parser("llmchat web").format_help()
    for name, info in WebSettings.model_fields.items():
        assert flag(name) in text, name
        assert info.description and info.description.split()[0] in text, name
    for variable in ("LLMCHAT_PRESET", "LLMCHAT_CONFIG_DIR", "GRADIO_SERVER_NAME", "GRADIO_SERVER_PORT"):
        assert variable in text
    # Every LLMCHAT_* variable README lists gives a default for a flag.
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for field in WebSettings.model_fields:
        variable = "LLMCHAT_" + field.upper()
        if variable in readme and field not in ("host", "port"):
            assert variable in text, variable


def test_a_flag_wins_over_its_variable_which_wins_over_the_default() -> None:
    env = {"GRADIO_SERVER_PORT": "7000", "LLMCHAT_MAX_FILES": "3", "LLMCHAT_LANG": "ja"}
    config = parse_args(["--port", "8001", "--lang", "en"], environ=env)
    assert (config.port, config.limits.max_files, config.lang) == (8001, 3, "en")
    assert parse_args([], environ={}).port == 7860


def test_an_empty_variable_counts_as_unset() -> None:
    config = parse_args([], environ={"GRADIO_SERVER_PORT": "", "LLMCHAT_LANG": "", "LLMCHAT_AUTH": ""})
    assert (config.port, config.lang, config.auth) == (7860, None, None)


def test_the_size_flags_become_the_visitor_limits() -> None:
    config = parse_args(
        ["--max-attachments-mb", "0.5", "--keep-uploads-hours", "2", "--max-message-chars", "900"], {}
    )
    assert config.limits.max_attachment_bytes == 500_000
    assert config.limits.keep_uploads_seconds == 7200
    assert config.limits.max_message_chars == 900
    assert config.limits.max_upload_bytes == DEFAULT_LIMITS.max_upload_bytes
    assert parse_args([], {}).limits == DEFAULT_LIMITS


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (["--port", "abc"], {}, "--port: abc is invalid; expected a whole number from 1 to 65535"),
        (
            [],
            {"GRADIO_SERVER_PORT": "abc"},
            "GRADIO_SERVER_PORT (environment): abc is invalid; expected a whole",
        ),
        (["--concurrency", "0"], {}, "--concurrency: 0 is invalid; expected a whole number of at least 1"),
        ([], {"LLMCHAT_MAX_FILES": "0"}, "LLMCHAT_MAX_FILES (environment): 0 is invalid; expected a whole"),
        (["--lang", "fr"], {}, "--lang: fr is invalid; expected en or ja"),
        ([], {"LLMCHAT_LANG": "fr"}, "LLMCHAT_LANG (environment): fr is invalid; expected en or ja"),
        (
            [],
            {"LLMCHAT_MAX_ATTACHMENTS_MB": "lots"},
            "LLMCHAT_MAX_ATTACHMENTS_MB (environment): lots is invalid; expected a number above 0",
        ),
        (["--max-upload-mb", "0"], {}, "--max-upload-mb: 0 is invalid; expected a number of at least 0.001"),
        (["--max-answers-per-visitor", "-2"], {}, "--max-answers-per-visitor: -2 is invalid; expected 0 (no"),
        (["--port", "8000", "--max-files", "x y"], {}, "--max-files: 'x y' is invalid"),
    ],
)
def test_a_bad_value_is_one_line_naming_where_it_came_from(
    argv: list[str], env: dict[str, str], message: str
) -> None:
    with pytest.raises(UsageError) as info:
        parse_args(argv, environ=env)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_every_bad_value_is_named_at_once() -> None:
    with pytest.raises(UsageError) as info:
        parse_args(["--port", "0", "--lang", "xx"], environ={"LLMCHAT_CONCURRENCY": "-1"})
    text = str(info.value)
    assert "--port: 0" in text and "--lang: xx" in text and "LLMCHAT_CONCURRENCY (environment): -1" in text


def test_a_bad_login_is_refused_without_showing_the_password() -> None:
    for argv, env in ((["--auth", "ann:hunter2,bob"], {}), ([], {"LLMCHAT_AUTH": "ann:hunter2,bob"})):
        with pytest.raises(UsageError, match="expected USER:PASS") as info:
            parse_args(argv, environ=env)
        assert "hunter2" not in str(info.value) and "not shown" in str(info.value)
    assert parse_args(["--auth", "ann:pw1, bob:pw2"], {}).auth == [("ann", "pw1"), ("bob", "pw2")]


def test_the_presets_come_from_the_checkout_when_run_from_source() -> None:
    assert default_config_dir() == ROOT / "configs"
    assert parse_args([], {}).config_dir == ROOT / "configs"
    assert parse_args([], {"LLMCHAT_CONFIG_DIR": "/srv/presets"}).config_dir == Path("/srv/presets")


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("LLMCHAT_", "GRADIO_"))}
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**environ, **(env or {})},
        check=False,
    )


@pytest.mark.parametrize("entry", [["gradio_app.py"], ["-m", "llmchat", "web"]])
def test_a_bad_variable_stops_the_app_with_one_line_and_status_2(entry: list[str]) -> None:
    """It used to be a traceback (``int('abc')``) for GRADIO_SERVER_PORT."""
    result = run(*entry, env={"GRADIO_SERVER_PORT": "abc"})
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "llmchat: error: GRADIO_SERVER_PORT (environment): abc is invalid; "
        "expected a whole number from 1 to 65535"
    )


def test_llmchat_help_names_the_commands() -> None:
    result = run("-m", "llmchat", "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "'llmchat ask QUESTION'" in text and "'llmchat presets'" in text
    assert "--max-answers-per-address" in text and "GRADIO_SERVER_PORT" in text
