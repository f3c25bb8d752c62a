"""What one visitor's request may cost the app: files, bytes, memory, limits, private handlers.

Each test plays the hostile visitor of issue #11 against the running app, over its API or over
raw HTTP as a script imitating the page would, and checks what the visitor sees and what the LLM
server received.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from gradio_client import Client

from llmchat.core import conversation_store as store
from llmchat.core.conversation_file import Settings, stored
from llmchat.core.conversation_store import Conversation
from llmchat.core.conversation_tree import Tree
from llmchat.core.presets import load_catalog
from llmchat.testing.app_process import AppProcess
from llmchat.testing.openai_server import OpenAITestServer
from llmchat.web import cache_sweep
from llmchat.web.chat_page import ChatPage
from llmchat.web.conversations import Conversations
from llmchat.web.handlers import Page
from tests import raw_gradio
from tests.conftest import launch_app, write_presets
from tests.replies import answer_of, notes_of

MB = 1_000_000
PNG_HEADER = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def configs(llm_server: OpenAITestServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = write_presets(tmp_path_factory.mktemp("bounded-configs"), llm_server.base_url)
    (folder / "capped.yaml").write_text(
        f"name: Capped\nbase_url: {llm_server.base_url}\nmodel: test-model\nmax_tokens: 64\n"
        "max_tokens_limit: 128\nshow_stats: false\n",
        encoding="utf-8",
    )
    return folder


@pytest.fixture(scope="module")
def url(configs: Path) -> Iterator[str]:
    yield from launch_app(configs)


@pytest.fixture
def visitor(url: str, server: OpenAITestServer) -> Iterator[Client]:
    client = Client(url, verbose=False)
    yield client
    client.close()


def one_mb_image(folder: Path) -> Path:
    image = folder / "big.png"
    image.write_bytes(PNG_HEADER + os.urandom(MB - len(PNG_HEADER)))
    return image


def history_naming(path: str, times: int) -> list[dict[str, Any]]:
    """A hand-made conversation in which one upload is attached ``times`` times."""
    history: list[dict[str, Any]] = []
    for turn in range(times):
        file = {
            "type": "file",
            "file": {"path": path, "orig_name": "big.png", "meta": {"_type": "gradio.FileData"}},
        }
        history.append({"role": "user", "content": [file, {"type": "text", "text": f"look {turn}"}]})
        history.append({"role": "assistant", "content": [{"type": "text", "text": "I see."}]})
    return history


def chat_in_session(
    url: str, session: str, history: list[dict[str, Any]], message: str, **controls: Any
) -> Any:
    """Put ``history`` into a session the way a page's script can: as the document of a kept
    conversation it opens (any script can send any document), then send ``message`` from the
    page's box. Returns the reply as ``/chat`` would."""
    raw_gradio.page_open(url, session, store.stored(Conversation(tree=Tree.linear(history))))
    chat = raw_gradio.page_send(url, session, message, **controls)[0]
    return raw_gradio.last_reply(chat)


def test_a_history_naming_one_upload_many_times_is_refused_and_memory_stays_bounded(
    server: OpenAITestServer, configs: Path, tmp_path: Path
) -> None:
    with AppProcess("--config-dir", str(configs), "--preset", "test-chat") as app:
        path = raw_gradio.upload(app.url, one_mb_image(tmp_path))
        # Warm up: one real turn, so the measurement is about the hostile request alone.
        assert answer_of(chat_in_session(app.url, uuid.uuid4().hex, [], "hello")) == "Echo: hello"
        before = app.peak_rss_mb()
        reply = chat_in_session(app.url, uuid.uuid4().hex, history_naming(path, 30), "and now?")
        after = app.peak_rss_mb()
    print(f"peak RSS {before:.0f} MB -> {after:.0f} MB")
    assert "⚠️ Too many attachments in one request" in notes_of(reply), reply
    assert "20 MB" in notes_of(reply)["⚠️ Too many attachments in one request"]
    assert len(server.chat_bodies) == 1  # the warm-up turn only: nothing of the hostile one was sent
    assert after - before < 25, (before, after)  # was 248 -> 394 MB (issue #11)


def test_a_history_within_the_limits_sends_each_attachment_and_reads_it_once(
    url: str, server: OpenAITestServer, tmp_path: Path
) -> None:
    path = raw_gradio.upload(url, one_mb_image(tmp_path))
    reply = chat_in_session(url, uuid.uuid4().hex, history_naming(path, 3), "and now?")
    assert answer_of(reply) == "Echo: and now?"
    [body] = server.chat_bodies
    images = [
        part
        for message in body["messages"]
        if isinstance(message["content"], list)
        for part in message["content"]
        if part.get("type") == "image_url"
    ]
    assert len(images) == 3 and len({image["image_url"]["url"] for image in images}) == 1


def test_too_many_files_in_one_earlier_message_is_refused(
    url: str, server: OpenAITestServer, tmp_path: Path
) -> None:
    note = tmp_path / "note.txt"
    note.write_text("hello", encoding="utf-8")
    path = raw_gradio.upload(url, note)
    file = {
        "type": "file",
        "file": {"path": path, "orig_name": "note.txt", "meta": {"_type": "gradio.FileData"}},
    }
    history = [
        {"role": "user", "content": [file] * 11 + [{"type": "text", "text": "many"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "ok"}]},
    ]
    reply = chat_in_session(url, uuid.uuid4().hex, history, "next")
    assert "11 files" in notes_of(reply)["⚠️ Too many files"]
    assert server.chat_bodies == []


def test_the_pages_own_handlers_cannot_be_called_by_name(url: str, server: OpenAITestServer) -> None:
    info = httpx.get(url + "gradio_api/info", timeout=10).json()
    assert set(info["named_endpoints"]) == {"/chat", "/preset_values"}
    names = ("persist", "start", "open", "send", "retry", "act", "import_file", "export_all")
    names += ("refresh_models", "gauge")
    for name in (*names, "_take", "lambda", "preset_switched", "new_chat", "unclear"):
        for route in (f"gradio_api/call/{name}", f"gradio_api/call/v2/{name}", f"gradio_api/run/{name}"):
            response = httpx.post(url + route, json={"data": []}, timeout=10)
            assert response.status_code == 404, (route, response.status_code, response.text[:200])
    # The documented API still answers by name.
    response = httpx.post(url + "gradio_api/call/preset_values", json={"data": ["test-qa"]}, timeout=10)
    assert response.status_code == 200


def test_an_upload_over_the_size_limit_is_refused(url: str, tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * (10 * MB + 1))
    with big.open("rb") as file:
        response = httpx.post(url + "gradio_api/upload", files={"files": ("big.bin", file)}, timeout=60)
    assert response.status_code == 413, response.text[:200]


def test_an_import_is_sized_before_it_is_read(configs: Path, tmp_path: Path) -> None:
    huge = tmp_path / "huge.json"
    with huge.open("wb") as file:
        file.truncate(50_000 * MB)  # a sparse 50 GB file: reading it would not end well
    page = Page(load_catalog(configs, environ={}), None, "en")  # type: ignore[arg-type]
    conversations = Conversations(page, ChatPage(None, page))  # type: ignore[arg-type]
    outputs = conversations.import_file(str(huge), Conversation(), None)  # type: ignore[arg-type]
    assert "larger than 10 MB" in outputs[-2]["value"]


def test_max_tokens_above_the_presets_limit_never_reaches_the_server(
    visitor: Client, server: OpenAITestServer
) -> None:
    client = visitor
    reply = client.predict("hi", preset="capped", max_tokens=1_000, api_name="/chat")
    assert "above the limit of preset 'capped'" in notes_of(reply)["⚠️ Invalid settings"]
    assert server.chat_bodies == []
    assert answer_of(client.predict("hi", preset="capped", max_tokens=128, api_name="/chat")) == "Echo: hi"
    assert server.chat_bodies[-1]["max_tokens"] == 128


def test_an_import_with_an_out_of_range_max_tokens_is_lowered_to_the_limit(
    url: str, server: OpenAITestServer, tmp_path: Path
) -> None:
    exported = tmp_path / "conversation.json"
    exported.write_text(
        '{"preset": "capped", "parameters": {"max_tokens": 1000000}, '
        '"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}',
        encoding="utf-8",
    )
    path = raw_gradio.upload(url, exported)
    index = raw_gradio.fn_index(url, "import_file")
    session = uuid.uuid4().hex
    uploaded = {"path": path, "meta": {"_type": "gradio.FileData"}}
    outputs = raw_gradio.call(url, index, [uploaded, None], session)
    status = outputs[-2]["value"]
    assert "max_tokens 1000000 is above this preset's limit; 128 is used instead" in status
    max_tokens = next(
        o for o in outputs if isinstance(o, dict) and o.get("__type__") == "update" and o.get("maximum")
    )
    assert (max_tokens["value"], max_tokens["maximum"]) == (128, 128)
    # Then a send from that session with the imported value: refused, nothing reaches the server.
    client = Client(url, verbose=False)
    client.session_hash = session
    try:
        reply = client.predict("go on", preset="capped", max_tokens=1_000, api_name="/chat")
    except Exception as exc:
        reply = str(exc)
    finally:
        client.close()
    assert "128" in str(reply) and server.chat_bodies == []


def test_a_lone_surrogate_is_replaced_and_the_message_still_sent(url: str, server: OpenAITestServer) -> None:
    # gradio_client cannot even encode it; a raw JSON body carries it as "\ud800".
    reply = raw_gradio.call_by_name(url, "chat", {"message": "caf\ud800e"})
    assert answer_of(reply) == "Echo: caf\ufffde"
    assert server.chat_bodies[-1]["messages"][-1]["content"] == "caf\ufffde"


def test_unused_uploads_are_swept_and_used_ones_kept(configs: Path, tmp_path: Path) -> None:
    old, used, export = (
        tmp_path / "a" / "old.png",
        tmp_path / "b" / "used.png",
        tmp_path / "c" / "llmchat-conversation.json",
    )
    for path in (old, used, export):
        path.parent.mkdir()
        path.write_bytes(b"x")
    hour_ago = time.time() - 3600
    for path in (old, used):
        os.utime(path, (hour_ago, hour_ago))
    os.utime(export, (time.time() - 700, time.time() - 700))
    os.utime(used)  # what reading it for a turn, or restoring its conversation, does
    assert cache_sweep.sweep(tmp_path, keep_seconds=1800) == 2
    assert [p.exists() for p in (old, used, export)] == [False, True, False]
    assert not (tmp_path / "a").exists()  # emptied folders go too


def test_restoring_a_conversation_marks_its_uploads_as_used(url: str, configs: Path, tmp_path: Path) -> None:
    note = tmp_path / "kept.txt"
    note.write_text("kept", encoding="utf-8")
    path = raw_gradio.upload(url, note)
    hour_ago = time.time() - 3600
    os.utime(path, (hour_ago, hour_ago))
    page = Page(load_catalog(configs, environ={}), None, "en")  # type: ignore[arg-type]
    kept = stored(history_naming(path, 1), Settings.of(page.catalog.presets["test-chat"]))  # format 1
    conversations = Conversations(page, ChatPage(None, page))  # type: ignore[arg-type]
    outputs = conversations.start(kept, "", Conversation(), None)  # type: ignore[arg-type]
    assert outputs[0]["value"][0]["content"][0]["file"]["path"] == path
    assert time.time() - Path(path).stat().st_mtime < 60
