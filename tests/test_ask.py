"""``llmchat ask``: one answer on the terminal, through the same chat service as the page.

Against our test server over real HTTP: what the server received for each flag, what stdout and
stderr hold, the exit status for each way a turn can end. The installed command is tested in
tests/test_packaging.py; the local model (``-m e2e``) at the end of this file.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from llmchat.cli import ask as ask_cli
from llmchat.cli.terminal import INCOMPLETE_KINDS, PROGRESS_KINDS
from llmchat.core import controls
from llmchat.core.controls import Control
from llmchat.i18n.catalog import NOTICES
from llmchat.settings import UsageError
from llmchat.testing.openai_server import Behavior, OpenAITestServer

ROOT = Path(__file__).resolve().parent.parent


def ask(
    config_dir: Path, *argv: str, stdin: str = "", environ: dict[str, str] | None = None
) -> tuple[int, str, str]:
    """``llmchat ask --config-dir CONFIG_DIR ARGV``, in this process: (status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    code = ask_cli.run(
        ["--config-dir", str(config_dir), *argv],
        stdin=io.StringIO(stdin),
        out=out,
        err=err,
        environ={} if environ is None else environ,
    )
    return code, out.getvalue(), err.getvalue()


def sample(control: Control) -> Any:
    """A value for ``control`` that no preset of the tests uses."""
    if control.kind == "number":
        return round(control.minimum + (control.maximum - control.minimum) * 0.3, 2)  # type: ignore[operator]
    if control.kind in ("integer", "seed"):
        return 42
    if control.kind == "choice":
        return control.choices[-1]
    if control.kind == "flag":
        return not control.default
    return "Answer in one word."


def control_args(values: dict[str, Any]) -> list[str]:
    args: list[str] = []
    for name, value in values.items():
        option = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            args.append(option if value else option.replace("--", "--no-", 1))
        else:
            args += [option, str(value)]
    return args


def test_every_control_of_the_page_is_a_flag_and_reaches_the_server(
    config_dir: Path, server: OpenAITestServer
) -> None:
    values = {control.name: sample(control) for control in controls.VISITOR_CONTROLS}
    server.set_behavior(Behavior(reply="Paris."))
    code, out, err = ask(config_dir, "--preset", "stats", *control_args(values), "Capital of France?")
    assert (code, out) == (0, "Paris.\n")
    [body] = server.chat_bodies
    for control in controls.VISITOR_CONTROLS:
        if control.send == "body":
            assert body[control.name] == values[control.name], control.name
    assert body["messages"] == [
        {"role": "system", "content": values["system_prompt"]},
        {"role": "user", "content": "Capital of France?"},
    ]
    assert values["show_stats"] is False and "⏱" not in err  # the "stats" preset shows them otherwise


def test_the_answer_alone_goes_to_stdout_and_the_stats_to_stderr(
    config_dir: Path, server: OpenAITestServer
) -> None:
    server.set_behavior(Behavior(reply="Hello there, 世界"))
    code, out, err = ask(config_dir, "--preset", "stats", "hi")
    assert (code, out) == (0, "Hello there, 世界\n")
    assert err.startswith("⏱ ") and "tokens/s" in err and err.count("\n") == 1
    body = server.chat_bodies[0]
    assert body["model"] == "test-model" and body["messages"][-1] == {"role": "user", "content": "hi"}


@pytest.mark.parametrize("argv", [["-"], []])
def test_the_question_comes_from_stdin_with_a_dash_or_without_one(
    config_dir: Path, server: OpenAITestServer, argv: list[str]
) -> None:
    code, out, _ = ask(config_dir, "--preset", "test-chat", *argv, stdin="What is 2+2?\n")
    assert (code, out) == (0, "Echo: What is 2+2?\n")


def test_a_bad_flag_is_one_line_naming_it_and_nothing_is_sent(
    config_dir: Path, server: OpenAITestServer
) -> None:
    with pytest.raises(UsageError, match=r"--temperature: 'warm' is invalid \(.*\); expected a number"):
        ask(config_dir, "--preset", "test-chat", "--temperature", "warm", "hi")
    with pytest.raises(
        UsageError, match=r"--max-tokens: 5000 is invalid \(above the limit of preset 'test-chat'"
    ):
        ask(config_dir, "--preset", "test-chat", "--max-tokens", "5000", "hi")
    with pytest.raises(UsageError, match=r"--mode: 'debate' is invalid"):
        ask(config_dir, "--preset", "test-chat", "--mode", "debate", "hi")
    with pytest.raises(UsageError, match=r"broken\.yaml: key 'temperature' has value 5"):
        ask(config_dir, "--preset", "broken", "hi")
    assert server.chat_bodies == []


def test_an_unreachable_server_fails_with_its_notice_in_the_terminals_language(config_dir: Path) -> None:
    code, out, err = ask(config_dir, "--preset", "unreachable", "hi")
    assert (code, out) == (1, "")
    assert err.startswith("⚠️ Cannot reach the LLM server\n")
    code, _, err = ask(config_dir, "--preset", "unreachable", "hi", environ={"LANG": "ja_JP.UTF-8"})
    assert code == 1 and err.startswith("⚠️ LLM サーバーに接続できません\n")
    code, _, err = ask(config_dir, "--preset", "unreachable", "--lang", "en", "hi", environ={"LANG": "ja_JP"})
    assert err.startswith("⚠️ Cannot reach")


def test_an_answer_cut_off_is_kept_and_fails(config_dir: Path, server: OpenAITestServer) -> None:
    server.set_behavior(Behavior(tokens=20, fault="drop_after:5"))
    code, out, err = ask(config_dir, "--preset", "test-chat", "hi")
    assert code == 1
    assert out == "tok0 tok1 tok2 tok3 tok4 \n"
    assert err.startswith("✂️ The answer was cut off\n")


def test_an_answer_that_reached_max_tokens_succeeds_and_says_so(
    config_dir: Path, server: OpenAITestServer
) -> None:
    server.set_behavior(Behavior(tokens=50))
    code, out, err = ask(config_dir, "--preset", "test-chat", "--max-tokens", "5", "hi")
    assert code == 0 and out.split() == ["tok0", "tok1", "tok2", "tok3", "tok4"]
    assert err.startswith("ℹ️ Reached the Max tokens limit\n")


def test_the_thinking_goes_to_stderr_prefixed(config_dir: Path, server: OpenAITestServer) -> None:
    server.set_behavior(Behavior(reasoning="First this.\nThen that.", reply="42"))
    code, out, err = ask(config_dir, "--preset", "test-chat", "hi")
    assert (code, out) == (0, "42\n")
    assert err == "💭 Thinking\n│ First this.\n│ Then that.\n"


def test_the_model_flag_picks_a_listed_model_and_refuses_others(
    config_dir: Path, server: OpenAITestServer
) -> None:
    server.models = ["test-model", "big-model"]
    assert ask(config_dir, "--preset", "test-chat", "--model", "big-model", "hi")[0] == 0
    assert server.chat_bodies[0]["model"] == "big-model"
    code, _, err = ask(config_dir, "--preset", "test-chat", "--model", "other", "hi")
    assert code == 1 and err.startswith("⚠️ Model not available")
    assert len(server.chat_bodies) == 1


def test_what_counts_as_failed_agrees_with_the_catalogues_marks() -> None:
    """⚠️ titles fail a turn without an answer; ✂️ fails any; ℹ️ and ⏳ only tell what happens."""
    for kind, entry in NOTICES.items():
        if entry.title is None or kind == "thinking":
            continue
        mark = entry.title.en.split()[0]
        assert entry.title.ja.split()[0] == mark, kind
        if mark == "⚠️":
            assert kind not in PROGRESS_KINDS | INCOMPLETE_KINDS, kind
        elif mark == "✂️":
            assert kind in INCOMPLETE_KINDS, kind
        else:
            assert mark in ("ℹ️", "⏳") and kind in PROGRESS_KINDS, kind


def test_ask_never_imports_gradio(config_dir: Path) -> None:
    code = (
        "import sys\n"
        "from llmchat.cli import main\n"
        f"status = main(['ask', '--config-dir', {str(config_dir)!r}, '--preset', 'unreachable', 'hi'])\n"
        "print(status, sorted(m for m in sys.modules if m.split('.')[0] == 'gradio'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60, check=False
    )
    assert result.stdout.strip() == "1 []", result.stderr


# ----- with a local model (llama_cpp.server started by ask itself) -------------------------------


def pids_with(text: str) -> list[int]:
    """Live processes whose command line contains ``text``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if text in cmdline and state != "Z":
                found.append(int(entry.name))
    return found


def local_preset(directory: Path, n_ctx: int) -> str:
    """A preset of SmolLM2 whose n_ctx tells its llama_cpp.server apart from any other."""
    directory.mkdir(exist_ok=True)
    (directory / "local.yaml").write_text(
        f"embedded:\n  n_ctx: {n_ctx}\nmax_tokens: 24\ntemperature: 0\nshow_stats: false\n", encoding="utf-8"
    )
    return f"--n_ctx {n_ctx} "


@pytest.mark.e2e
def test_ask_starts_a_local_model_and_stops_it_on_exit(tmp_path: Path) -> None:
    marker = local_preset(tmp_path, 1234)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "llmchat",
            "ask",
            "--config-dir",
            str(tmp_path),
            "--preset",
            "local",
            "Say hi.",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    assert result.stderr.startswith("⏳ Starting the local model")
    assert pids_with(marker) == []


@pytest.mark.e2e
def test_sigterm_while_a_local_model_answers_stops_it(tmp_path: Path) -> None:
    marker = local_preset(tmp_path, 1236)
    ask_process = subprocess.Popen(
        [sys.executable, "-m", "llmchat", "ask", "--config-dir", str(tmp_path), "--preset", "local",
         "--max-tokens", "2000", "Write a long story about a bicycle."],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not pids_with(marker) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert pids_with(marker), "the local model never started"
        time.sleep(1)
        ask_process.send_signal(signal.SIGTERM)
        assert ask_process.wait(30) == 128 + signal.SIGTERM
        deadline = time.monotonic() + 10
        while pids_with(marker) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert pids_with(marker) == []
    finally:
        ask_process.kill()
        ask_process.wait()
        for pid in pids_with(marker):
            os.kill(pid, signal.SIGKILL)
