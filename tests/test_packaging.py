"""The package as a user gets it: build the wheel, install it into a new virtual environment, and
run the ``llmchat`` command from a directory that is not the checkout.

Quick by design (seconds, not a dependency install): the wheel is built without build isolation
(hatchling is in the ``test`` extra), installed with ``--no-deps`` into a venv that sees this
environment's packages after its own (a ``.pth`` file), so the wheel's ``llmchat`` — not the
checkout's — is what runs, with the same dependencies the suite uses.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from llmchat.testing.openai_server import Behavior, OpenAITestServer
from tests.conftest import SECRET_KEY

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted(path.stem for path in (ROOT / "configs").glob("*.yaml"))


def run(command: list[str | Path], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, timeout=120, check=False, **kwargs
    )


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv with the wheel of this checkout installed; its ``bin`` directory."""
    work = tmp_path_factory.mktemp("packaging")
    built = run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", work, ROOT]
    )
    assert built.returncode == 0, built.stderr
    [wheel] = work.glob("llmchat-*.whl")
    assert run([sys.executable, "-m", "venv", "--without-pip", work / "venv"]).returncode == 0
    scripts = work / "venv" / ("Scripts" if os.name == "nt" else "bin")
    python = scripts / "python"
    installed = run([sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", wheel])
    assert installed.returncode == 0, installed.stderr
    site = run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip()
    ours = sysconfig.get_paths()["purelib"]  # the dependencies: this environment's, after the venv's own
    Path(site, "llmchat_test_dependencies.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
    return scripts


@pytest.fixture
def elsewhere(tmp_path: Path) -> dict[str, object]:
    """Run from a temporary directory, with none of the caller's settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLMCHAT_", "OPENAI_", "GRADIO_"))}
    env.pop("PYTHONPATH", None)
    env.update(LANG="C.UTF-8", PYTHONIOENCODING="utf-8")
    env.pop("LC_ALL", None)
    env.pop("LC_MESSAGES", None)
    return {"cwd": tmp_path, "env": env}


def test_the_wheel_holds_the_app_and_the_presets(venv: Path, elsewhere: dict[str, object]) -> None:
    code = "import llmchat, llmchat.settings as s; print(llmchat.__file__); print(s.default_config_dir())"
    result = run([venv / "python", "-c", code], **elsewhere)
    package, configs = result.stdout.split()
    assert Path(package).is_relative_to(venv.parent), "the checkout's llmchat ran, not the wheel's"
    assert Path(configs) == Path(package).parent / "configs"
    assert sorted(path.stem for path in Path(configs).glob("*.yaml")) == SHIPPED


def test_llmchat_help(venv: Path, elsewhere: dict[str, object]) -> None:
    result = run([venv / "llmchat", "--help"], **elsewhere)
    assert result.returncode == 0, result.stderr
    assert "--preset" in result.stdout and "--max-answers-per-visitor" in result.stdout
    assert "llmchat ask" in " ".join(result.stdout.split())


def test_llmchat_presets_lists_the_shipped_presets(venv: Path, elsewhere: dict[str, object]) -> None:
    result = run([venv / "llmchat", "presets"], **elsewhere)
    assert (result.returncode, result.stderr) == (0, "")
    ids = [line[2:].split()[0] for line in result.stdout.splitlines()[1:]]
    assert ids == SHIPPED
    assert "* smollm2 " in result.stdout  # the one llmchat starts with
    assert "https://api.openai.com/v1" in result.stdout


def test_llmchat_presets_exits_2_on_a_broken_preset(
    venv: Path, elsewhere: dict[str, object], tmp_path: Path
) -> None:
    (tmp_path / "good.yaml").write_text("name: Good\n")
    (tmp_path / "bad.yaml").write_text("temperature: 9\n")
    result = run([venv / "llmchat", "presets", "--config-dir", tmp_path], **elsewhere)
    assert result.returncode == 2
    assert result.stderr == (
        f"llmchat: error: {tmp_path / 'bad.yaml'}: key 'temperature' has value 9: Input should be "
        "less than or equal to 2; expected a number from 0.0 to 2.0\n"
    )
    assert "good" in result.stdout and "bad" not in result.stdout


def test_llmchat_ask_streams_the_answer_from_the_server(
    venv: Path, elsewhere: dict[str, object], tmp_path: Path, server: OpenAITestServer
) -> None:
    (tmp_path / "mine.yaml").write_text(
        f"base_url: {server.base_url}\napi_key: {SECRET_KEY}\nmodel: test-model\n"
    )
    server.set_behavior(Behavior(reply="Hello from the wheel"))
    flags = ["--temperature", "0.7", "--max-tokens", "33", "--seed", "5", "--system-prompt", "Be brief."]
    command = [venv / "llmchat", "ask", "--config-dir", tmp_path, "--preset", "mine", *flags, "Who are you?"]
    result = run(command, **elsewhere)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Hello from the wheel\n"
    assert SECRET_KEY not in result.stdout + result.stderr
    [body] = server.chat_bodies
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Who are you?"},
    ]
    assert (body["temperature"], body["max_tokens"], body["seed"], body["model"]) == (
        0.7,
        33,
        5,
        "test-model",
    )


def test_llmchat_ask_fails_when_the_server_is_unreachable(
    venv: Path, elsewhere: dict[str, object], tmp_path: Path
) -> None:
    from llmchat.ports import free_port

    (tmp_path / "down.yaml").write_text(f"base_url: http://127.0.0.1:{free_port()}/v1\n")
    result = run([venv / "llmchat", "ask", "--config-dir", tmp_path, "--preset", "down", "hi"], **elsewhere)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("⚠️ Cannot reach the LLM server\n")


def requirement_lines(text: str) -> set[str]:
    return {line.split("#")[0].strip() for line in text.splitlines() if line.split("#")[0].strip()}


@pytest.mark.skipif(sys.version_info < (3, 11), reason="tomllib")
def test_requirements_txt_is_the_app_and_the_local_model_as_pyproject_says() -> None:
    """Spaces installs requirements.txt; everything else installs the package: the same pins."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = set(project["dependencies"]) | set(project["optional-dependencies"]["local"])
    assert requirement_lines((ROOT / "requirements.txt").read_text(encoding="utf-8")) == wanted
    assert project["scripts"] == {"llmchat": "llmchat.cli:main"}
