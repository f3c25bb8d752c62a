"""No secret on any page, in any notice, in any log, in any export (issue #11, point 2).

Secrets are planted where an owner really puts them - a key in ``embedded.extra_args``, a token
in ``extra_body``, a password and a query token in ``base_url`` - and then looked for in
everything a visitor or a log reader gets: the page, ``/config``, the API description, the
notices of failed turns, the app's log, the export files and the browser's copy.
"""

from __future__ import annotations

import logging
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from gradio_client import Client

from llmchat.core.conversation_store import Conversation
from llmchat.core.conversation_tree import Tree
from llmchat.core.presets import PresetError, load_catalog, load_preset
from llmchat.core.redaction import display_url, mask, redact_text
from llmchat.engine.embedded import EmbeddedServer, EmbeddedSettings
from llmchat.engine.models import ModelDirectory
from llmchat.engine.servers import ServerResolver
from llmchat.engine.service import ChatService
from llmchat.ports import free_port
from llmchat.testing.openai_server import Behavior, OpenAITestServer
from llmchat.web.chat_page import ChatPage
from llmchat.web.conversations import Conversations
from llmchat.web.handlers import Page
from tests.conftest import SECRET_KEY, launch_app
from tests.replies import notes_of
from tests.test_spaces import space
from tests.turns import run_turn

USER = "admin-user-5e1"
PASSWORD = "pw-Url-Secret-7f3a"
TOKEN = "qtok-Url-Secret-91c2"
ARG_KEY = "argkey-Secret-1b2c"
HF_TOKEN = "hftok-Secret-3d4e"
BODY_TOKEN = "body-Secret-5f6a"
BODY_NESTED = "nested-Secret-7a8b"
EMBEDDED = "emb-Secret-9c0d"
KEY_IN_LIST = "listkey-Secret-2e3f"
TAGGED = "tagged-Secret-4a5b"
SECRETS = [USER, PASSWORD, TOKEN, ARG_KEY, HF_TOKEN, BODY_TOKEN, BODY_NESTED, EMBEDDED, KEY_IN_LIST, TAGGED]
SECRETS.append(SECRET_KEY)

# One file per place a secret hides; each is broken, so its error line is on the page.
BROKEN = {
    "broken-args": f'embedded:\n  extra_args: ["--api_key={ARG_KEY}", "--hf_token", "{HF_TOKEN}"]\n',
    "broken-body": f"extra_body:\n  model: x\n  api_token: {BODY_TOKEN}\n",
    "broken-body-nested": f"extra_body:\n  top_k: 40\n  opts: {{password: {BODY_NESTED}}}\n",
    "broken-url": f'base_url: "ftp://{USER}:{PASSWORD}@example.test:2121/v1?token={TOKEN}#frag"\n',
    "broken-url-space": f'base_url: "https://{USER}:{PASSWORD}@example.test/v1 ?token={TOKEN}"\n',
    "broken-embedded": f'embedded: "--hf_token {EMBEDDED}"\n',
    "broken-key": f"api_key: [{KEY_IN_LIST}]\n",
    "broken-tag": f"api_key: !!int {TAGGED}\n",
    "broken-description": f'description: ["see", "https://{USER}:{PASSWORD}@wiki.test/p?token={TOKEN}"]\n',
}


def assert_no_secret(text: str, where: str) -> None:
    leaked = [secret for secret in SECRETS if secret in text]
    assert not leaked, f"{leaked} in {where}: {text[:3000]}"


def credentialed(base_url: str) -> str:
    """``http://host:port/v1`` with a user, a password and a query token added."""
    scheme, rest = base_url.split("://", 1)
    return f"{scheme}://{USER}:{PASSWORD}@{rest}?token={TOKEN}"


def write_configs(directory: Path, base_url: str) -> tuple[Path, int]:
    """Two valid presets whose base_url carries credentials (the test server and a closed
    port), and every broken file of BROKEN. Returns the folder and the closed port."""
    directory.mkdir(parents=True, exist_ok=True)
    closed = free_port()
    common = f"api_key: {SECRET_KEY}\nmodel: test-model\nshow_stats: false\nstream_usage: false\n"
    (directory / "creds.yaml").write_text(f'base_url: "{credentialed(base_url)}"\n{common}', encoding="utf-8")
    closed_url = credentialed(f"http://127.0.0.1:{closed}/v1")
    (directory / "closed.yaml").write_text(f'base_url: "{closed_url}"\n{common}', encoding="utf-8")
    for stem, text in BROKEN.items():
        (directory / f"{stem}.yaml").write_text(text, encoding="utf-8")
    return directory, closed


# --- the helpers themselves ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://admin:pass@host/v1?token=abc", "http://host/v1"),
        ("https://USER:p%40ss@Example.test:8443/v1/#frag", "https://Example.test:8443/v1/"),
        ("HTTPS://tok@[::1]:8080/v1?api_key=x", "https://[::1]:8080/v1"),
        ("http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1"),
        ("user:pass@localhost:8080?x=1", "localhost:8080"),
        ("http://[::1", "http://[::1"),
    ],
)
def test_a_server_is_shown_as_scheme_host_port_path(url: str, shown: str) -> None:
    assert display_url(url) == shown


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Nothing at http://u:pw12@h:1/v1?token=t0k3n.", "Nothing at http://h:1/v1."),
        ("error: unrecognized arguments: --hf_token abc12 -v", "arguments: --hf_token [hidden] -v"),
        ("--api-key=abcd --n_ctx 512", "--api-key=[hidden] --n_ctx 512"),
        ('{"api_key": "zzzz1", "n": 3}', '{"api_key": "[hidden]", "n": 3}'),
        ("Authorization: Bearer abc.def", "Authorization: [hidden]"),
        ("X-Api-Key: k-1234\nCookie: s=1", "X-Api-Key: [hidden]\nCookie: [hidden]"),
        ("max_tokens=5000 is more than 4096 tokens", "max_tokens=5000 is more than 4096 tokens"),
        ("the key refused; keep_alive=5m", "the key refused; keep_alive=5m"),
    ],
)
def test_free_text_loses_urls_credentials_and_named_secrets(text: str, shown: str) -> None:
    assert shown in redact_text(text)


def test_values_of_extra_args_and_extra_body_are_masked_but_names_stay() -> None:
    assert mask(["--api_key=sk-1", "--hf-token", "t", "-v", 5, True]) == [
        "--api_key=[hidden]", "--hf-token", "[hidden]", "-v", "[hidden]", True,
    ]  # fmt: skip
    assert mask({"top_k": 40, "headers": {"Authorization": "Bearer x"}, "flag": None}) == {
        "top_k": "[hidden]",
        "headers": {"Authorization": "[hidden]"},
        "flag": None,
    }


def test_a_presets_secrets_include_its_url_credentials_and_credential_flags(tmp_path: Path) -> None:
    text = (
        f'base_url: "https://{USER}:{PASSWORD}@h.test/v1?token={TOKEN}"\n'
        f"extra_body: {{api_token: {BODY_TOKEN}, top_k: 40}}\n"
        f'embedded: {{extra_args: ["--hf_token", "{HF_TOKEN}", "--n_keep", "64"]}}\n'
    )
    (tmp_path / "p.yaml").write_text(text, encoding="utf-8")
    preset = load_preset(tmp_path / "p.yaml", environ={})
    assert {USER, PASSWORD, TOKEN, BODY_TOKEN, HF_TOKEN} <= set(preset.secrets)
    assert "64" not in preset.secrets and "40" not in preset.secrets
    assert preset.server == "https://h.test/v1"


# --- broken presets: the error lines on the page, /config, the API description -------------------


@pytest.fixture(scope="module")
def secret_configs(
    llm_server: OpenAITestServer, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, int]:
    return write_configs(tmp_path_factory.mktemp("secret-configs"), llm_server.base_url)


@pytest.fixture(scope="module")
def secret_app(secret_configs: tuple[Path, int]) -> Iterator[str]:
    yield from launch_app(secret_configs[0], preset="creds")


def test_broken_preset_lines_keep_file_key_and_reason_but_no_secret(secret_configs: tuple[Path, int]) -> None:
    catalog = load_catalog(secret_configs[0], environ={})
    assert set(catalog.broken) == set(BROKEN)
    for stem, line in catalog.broken.items():
        assert_no_secret(line, stem)
        assert line.startswith(str(secret_configs[0] / f"{stem}.yaml"))
    broken = catalog.broken
    assert (
        "key 'embedded.extra_args' has value ['--api_key=[hidden]', '--hf_token', '[hidden]']"
        in broken["broken-args"]
    )
    assert "--api_key is set by llmchat" in broken["broken-args"]
    assert "'extra_body'" in broken["broken-body"] and "must not set model" in broken["broken-body"]
    assert "'api_token': '[hidden]'" in broken["broken-body"]
    assert "'extra_body.opts' has value {'password': '[hidden]'}" in broken["broken-body-nested"]
    assert "has value 'ftp://example.test:2121/v1'" in broken["broken-url"]
    assert "expected an http:// or https:// URL" in broken["broken-url"]
    assert "has value 'https://example.test/v1 '" in broken["broken-url-space"]
    assert "key 'embedded' has value '[hidden]'" in broken["broken-embedded"]
    assert "key 'api_key' has value (hidden)" in broken["broken-key"]
    assert "not valid YAML: a value cannot be read" in broken["broken-tag"]
    assert "https://wiki.test/p" in broken["broken-description"]


def test_no_secret_on_the_page_in_config_or_in_the_api_description(secret_app: str) -> None:
    page = httpx.get(secret_app, timeout=10).text
    config = httpx.get(secret_app + "config", timeout=10).text
    info = httpx.get(secret_app + "gradio_api/info", timeout=10).text
    visitor = Client(secret_app, verbose=False)
    try:
        view = str(visitor.view_api(print_info=False, return_format="str"))
        values = str(visitor.predict("creds", api_name="/preset_values"))
    finally:
        visitor.close()
    for where, text in [("/", page), ("/config", config), ("/gradio_api/info", info), ("view_api", view)]:
        assert_no_secret(text, where)
    assert_no_secret(values, "/preset_values")
    # The lines are still there, and still say what is wrong.
    assert "broken-args.yaml" in config and "--api_key=[hidden]" in config
    assert "ftp://example.test:2121/v1" in config and "must not set model" in config


# --- notices and logs of a server with credentials in its URL -----------------------------------


@pytest.fixture
def visitor(secret_app: str, server: OpenAITestServer) -> Iterator[Client]:
    client = Client(secret_app, verbose=False)
    yield client
    client.close()


def test_unreachable_server_is_named_without_credentials_in_notice_and_log(
    visitor: Client, secret_configs: tuple[Path, int], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="llmchat")
    reply = visitor.predict("hi", preset="closed", api_name="/chat")
    [(title, body)] = notes_of(reply).items()
    assert "Cannot reach the LLM server" in title
    assert f"**http://127.0.0.1:{secret_configs[1]}/v1**" in body
    assert_no_secret(str(reply), "the notice")
    assert f"request to http://127.0.0.1:{secret_configs[1]}/v1 failed" in caplog.text
    assert_no_secret(caplog.text, "the log")


@pytest.mark.parametrize(
    ("status", "title"), [(500, "The server failed (HTTP 500)"), (401, "refused the API key (HTTP 401)")]
)
def test_failing_server_is_named_without_credentials_in_notice_and_log(
    visitor: Client, server: OpenAITestServer, caplog: pytest.LogCaptureFixture, status: int, title: str
) -> None:
    caplog.set_level(logging.INFO, logger="llmchat")
    # A server that echoes what it got, as some proxies do.
    echo = f"bad request to /v1?token={TOKEN} from {USER}:{PASSWORD}"
    server.enqueue(Behavior(fault="http", status=status, message=echo))
    reply = visitor.predict("hi", preset="creds", api_name="/chat")
    [(got, body)] = notes_of(reply).items()
    assert title in got
    assert f"**{server.base_url}**" in body and "[hidden]" in body
    assert_no_secret(str(reply), "the notice")
    assert f"request to {server.base_url} failed" in caplog.text
    assert_no_secret(caplog.text, "the log")
    [request] = [r for r in server.requests if r.path == "/v1/chat/completions"]
    assert request.body is not None  # the request did reach the server


def test_the_app_run_from_the_command_line_logs_no_secret(
    server: OpenAITestServer, secret_configs: tuple[Path, int]
) -> None:
    output: list[str] = []
    env = {"LLMCHAT_CONFIG_DIR": str(secret_configs[0]), "LLMCHAT_PRESET": "creds"}
    server.enqueue(Behavior(fault="http", status=500, message=f"echo {TOKEN}"))
    with space(env, output=output) as url:
        client = Client(url, verbose=False)
        for preset in ("creds", "closed", "creds"):
            client.predict("hi", preset=preset, show_stats=False, api_name="/chat")
        client.close()
    [log] = output
    assert "broken-args.yaml" in log and f"request to {server.base_url} failed" in log
    assert_no_secret(log, "the app's output")


# --- exports and the browser's copy ---------------------------------------------------------------


def test_exports_of_a_conversation_with_failed_turns_hold_no_secret(
    server: OpenAITestServer, secret_configs: tuple[Path, int]
) -> None:
    catalog = load_catalog(secret_configs[0], environ={})
    resolver = ServerResolver()
    service = ChatService(catalog, resolver=resolver)
    server.enqueue(Behavior(fault="http", status=500, message=f"echo {TOKEN}"))
    controls = {"system_prompt": "Be brief.", "temperature": 0.3, "top_p": 0.9, "max_tokens": 64}

    def turn(preset: str, text: str) -> list[dict[str, Any]]:
        final = run_turn(service, text, preset=preset, seed="", show_stats=False, **controls)[-1]
        answer = [{"role": "assistant", "content": final}] if isinstance(final, str) else final
        return [{"role": "user", "content": text}, *answer]

    history = turn("creds", "one") + turn("closed", "two") + turn("creds", "three")
    assert len(notes_of(history)) == 2
    page = Page(catalog, ModelDirectory(None, resolver), None)  # type: ignore[arg-type]
    conversations = Conversations(page, ChatPage(service, page))
    request = types.SimpleNamespace(session_hash="visitor", headers={})
    widgets = ["chat", "Be brief.", 0.3, 0.9, 64, 0, 0, "", False]
    conversation = Conversation(tree=Tree.linear(history))
    kept, as_json, as_md, _ = conversations.persist(conversation, "creds", *widgets, "", request)  # type: ignore[arg-type]
    exported = Path(as_json.value["path"]).read_text(encoding="utf-8")
    markdown = Path(as_md.value["path"]).read_text(encoding="utf-8")
    assert "Echo: three" in exported and "Echo: three" in markdown
    assert_no_secret(exported, "the JSON export")
    assert_no_secret(markdown, "the Markdown export")
    assert_no_secret(str(kept), "the browser's copy")


# --- a local model's log, shown in the chat when it fails -------------------------------------------


def test_a_local_models_log_tail_hides_credential_flags() -> None:
    settings = EmbeddedSettings(extra_args=["--hf_token", HF_TOKEN, "--lora_path", "/tmp/x"])
    server = EmbeddedServer(settings)
    server._logfile.write_text(
        f"usage: __main__.py [-h] ...\n__main__.py: error: unrecognized arguments: --hf_token {HF_TOKEN}\n"
        f"fetching https://{USER}:{PASSWORD}@hub.test/m.gguf?token={TOKEN}\n",
        encoding="utf-8",
    )
    tail = server.log_tail()
    assert_no_secret(tail, "the log tail")
    assert "unrecognized arguments: --hf_token [hidden]" in tail and "https://hub.test/m.gguf" in tail


def test_a_secret_shaped_tagged_value_is_not_echoed(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(f"seed: !!int {TAGGED}\n", encoding="utf-8")
    with pytest.raises(PresetError) as info:
        load_preset(tmp_path / "t.yaml", environ={})
    assert TAGGED not in str(info.value) and "invalid literal for int()" in str(info.value)
