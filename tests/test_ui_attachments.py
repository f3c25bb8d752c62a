"""Attachments, multimodal history and the model check, without a browser.

Files are written into Gradio's upload folder, because that is the only place llmchat reads
attachments from (a history from the browser or an imported file may name any path).
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llmchat.core import attachments
from llmchat.core.attachments import AttachmentError, read_part, text_block
from llmchat.core.limits import VisitorLimits
from llmchat.core.messages import build_messages, compose_content, content_files, history_to_messages
from llmchat.core.presets import load_catalog, load_preset
from llmchat.engine.models import ModelDirectory, ModelNotOffered, choices
from llmchat.engine.servers import ServerResolver
from llmchat.engine.stream import ClientPool
from llmchat.i18n import notice_text
from llmchat.testing.openai_server import OpenAITestServer
from llmchat.web.uploads import upload_root

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def english(error: Exception) -> str:
    """What a visitor reads for this error (its notice's title and body, in English)."""
    return "\n".join(notice_text(error.notice, "en"))  # type: ignore[attr-defined]


@pytest.fixture
def uploads() -> Iterator[Path]:
    folder = upload_root() / f"llmchat-test-{uuid.uuid4().hex}"
    folder.mkdir(parents=True)
    yield folder
    for path in folder.iterdir():
        path.unlink()
    folder.rmdir()


def write(folder: Path, name: str, data: bytes | str) -> str:
    path = folder / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return str(path)


def test_text_files_become_fenced_blocks_under_their_name(uploads: Path) -> None:
    part = read_part(write(uploads, "notes.md", "\ufeff# Title\n\nsome `code`\n"), upload_root())
    assert part == {"type": "text", "text": "notes.md:\n```markdown\n# Title\n\nsome `code`\n```"}
    weird = read_part(write(uploads, "data.weird", "a;b\n"), upload_root())
    assert weird["text"] == "data.weird:\n```\na;b\n```"


def test_a_fence_inside_the_file_cannot_close_the_block() -> None:
    block = text_block("readme.md", "before\n````python\nx\n````\nafter")
    assert block.startswith("readme.md:\n`````markdown\n") and block.endswith("\n`````")


def test_images_are_recognised_by_their_bytes_not_their_name(uploads: Path) -> None:
    part = read_part(write(uploads, "photo.bin", PNG), upload_root())
    assert part["type"] == "image_url"
    assert part["image_url"]["url"] == "data:image/png;base64," + base64.b64encode(PNG).decode()
    webp = b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 8
    webp_part = read_part(write(uploads, "x.webp", webp), upload_root())
    assert webp_part["image_url"]["url"].startswith("data:image/webp;base64,")
    with pytest.raises(AttachmentError) as caught:
        read_part(write(uploads, "fake.png", "not an image"), upload_root())
    assert "named like an image" in english(caught.value)


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("latin1.txt", "café".encode("latin-1"), "not UTF-8 text (byte 4 is invalid)"),
        ("utf16.txt", "hi".encode("utf-16-le"), "not UTF-8 text"),
        ("big.txt", "x" * (attachments.MAX_TEXT_BYTES + 1), "200 kB"),
    ],
)
def test_files_that_cannot_be_sent_say_why(uploads: Path, name: str, data: bytes | str, message: str) -> None:
    with pytest.raises(AttachmentError) as caught:
        read_part(write(uploads, name, data), upload_root())
    assert message in english(caught.value) and name in english(caught.value)


def test_files_outside_the_upload_folder_are_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "preset.yaml"
    secret.write_text("api_key: sk-secret\n", encoding="utf-8")
    for path in (str(secret), "/etc/hostname", str(upload_root() / ".." / "etc")):
        with pytest.raises(AttachmentError) as caught:
            read_part(path, upload_root())
        assert "could not be read" in english(caught.value)
    assert attachments.RequestFiles(upload_root()).history([(str(secret), None)]) == [
        {"type": "text", "text": "[preset.yaml: attachment no longer available]"}
    ]


def test_too_many_files_in_one_message(uploads: Path) -> None:
    paths = [write(uploads, f"f{i}.txt", "x") for i in range(attachments.MAX_FILES + 1)]
    with pytest.raises(AttachmentError) as caught:
        attachments.RequestFiles(upload_root()).message(paths)
    assert "11 files" in english(caught.value)
    # An earlier message of the history is held to the same limit (the API can send any history).
    with pytest.raises(attachments.LimitExceeded) as limit:
        attachments.RequestFiles(upload_root()).history([(path, None) for path in paths])
    assert "11 files" in english(limit.value)


def test_each_file_is_read_once_per_request_and_every_reference_counts(uploads: Path) -> None:
    note = write(uploads, "note.txt", "first version")
    files = attachments.RequestFiles(upload_root(), VisitorLimits(max_attachment_bytes=100))
    [first] = files.history([(note, None)])
    Path(note).write_text("changed on disk meanwhile", encoding="utf-8")
    [again] = files.message([note])
    assert again == first  # read once: the second reference reuses what was read
    assert files.total_bytes == 2 * len("first version")
    sent = 2
    with pytest.raises(attachments.LimitExceeded) as caught:
        for _ in range(10):
            files.history([(note, None)])
            sent += 1
    assert sent * len("first version") <= 100 < (sent + 1) * len("first version")
    assert english(caught.value).startswith("⚠️ Too many attachments in one request")


def test_an_export_names_what_does_not_fit_instead_of_failing(uploads: Path) -> None:
    big = write(uploads, "big.txt", "x" * 80)
    limits = VisitorLimits(max_attachment_bytes=100)
    files = attachments.RequestFiles(upload_root(), limits, over_limit_note=True)
    assert files.history([(big, None)])[0]["text"].startswith("big.txt:")
    assert files.history([(big, None)]) == [{"type": "text", "text": "[big.txt: left out, too large]"}]


def test_message_shapes_from_the_ui_and_from_api_clients() -> None:
    assert attachments.split_message("hi") == ("hi", [])
    assert attachments.split_message({"text": "hi", "files": ["/a", {"path": "/b"}, {"x": 1}]}) == (
        "hi",
        ["/a", "/b"],
    )
    assert attachments.split_message(None) == ("", [])


def test_history_with_files_in_both_gradio_shapes_is_sent_again(uploads: Path) -> None:
    csv = write(uploads, "fruit.csv", "apple,3\n")
    png = write(uploads, "dot.png", PNG)
    browser = [  # what the Chatbot hands back (browser sessions)
        {"role": "user", "content": [
            {"type": "file", "file": {"path": csv, "orig_name": "fruit.csv"}},
            {"type": "file", "file": {"path": png, "orig_name": "dot.png"}},
            {"type": "text", "text": "what?"},
        ]},
        {"role": "assistant", "content": [{"type": "text", "text": "fruit"}]},
    ]  # fmt: skip
    api = [  # what ChatInterface appends for gradio_client sessions
        {"role": "user", "content": [{"path": csv}, {"path": png}, "what?"]},
        {"role": "assistant", "content": "fruit"},
    ]
    for history in (browser, api):
        [user, answer] = history_to_messages(history, attachments.RequestFiles(upload_root()).history)
        [text, image] = user["content"]
        assert text == {"type": "text", "text": "fruit.csv:\n```csv\napple,3\n```\n\nwhat?"}
        assert image["image_url"]["url"].startswith("data:image/png;base64,")
        assert answer == {"role": "assistant", "content": "fruit"}
    assert history_to_messages(api) == [  # without a converter, attachments are left out
        {"role": "user", "content": "what?"},
        {"role": "assistant", "content": "fruit"},
    ]


def test_content_helpers() -> None:
    assert content_files(("/tmp/x.png",)) == [("/tmp/x.png", None)]
    assert content_files({"type": "text", "text": "/not/a/file"}) == []
    assert compose_content("q", []) == "q"
    assert compose_content("", [{"type": "text", "text": "file"}]) == "file"
    image = {"type": "image_url", "image_url": {"url": "data:,"}}
    assert compose_content("", [image]) == [image]
    messages = build_messages("qa", "sys", [{"role": "user", "content": "old"}], [image])
    assert messages == [{"role": "system", "content": "sys"}, {"role": "user", "content": [image]}]


# --- the model check -----------------------------------------------------------------------------


def test_only_the_presets_model_or_a_listed_one_is_accepted(
    config_dir: Path, server: OpenAITestServer
) -> None:
    server.models = ["test-model", "big-model"]
    preset = load_catalog(config_dir, environ={}).presets["test-chat"]
    models = ModelDirectory(ClientPool(), ServerResolver())

    async def check(name: str) -> str:
        return await models.check(preset, name)

    assert asyncio.run(check("")) == "test-model"
    assert asyncio.run(check("big-model")) == "big-model"
    for bad in ("evil-model", "x" * 300, "big-model\x00", "http://evil/v1"):
        with pytest.raises(ModelNotOffered):
            asyncio.run(check(bad))
    listing = asyncio.run(models.listing(preset))
    assert listing.online and listing.models == ("test-model", "big-model")
    assert choices(preset, listing, "test-model") == [("test-model", ""), ("big-model", "big-model")]


def test_a_model_picked_a_moment_ago_stays_usable_while_the_server_blinks(
    config_dir: Path, server: OpenAITestServer
) -> None:
    server.models = ["test-model", "big-model"]
    preset = load_catalog(config_dir, environ={}).presets["test-chat"]
    models = ModelDirectory(ClientPool(), ServerResolver(), ttl=0)

    async def scenario() -> tuple[str, bool]:
        await models.listing(preset)
        server.models_status = 503
        offline = await models.listing(preset, refresh=True)
        return await models.check(preset, "big-model"), bool(offline.online)

    assert asyncio.run(scenario()) == ("big-model", False)


def test_a_local_model_preset_offers_only_its_model(tmp_path: Path) -> None:
    path = tmp_path / "local.yaml"
    path.write_text("model: smol\nembedded:\n  model: smollm2\n", encoding="utf-8")
    preset = load_preset(path, environ={})
    models = ModelDirectory(ClientPool(), ServerResolver())
    listing = asyncio.run(models.listing(preset))
    assert listing.local and listing.models == ("smol",) and listing.online is None
    assert asyncio.run(models.check(preset, "")) == "smol"
    with pytest.raises(ModelNotOffered):
        asyncio.run(models.check(preset, "other"))


# --- checked when attached, and which models read images ------------------------------------------


def test_a_file_is_checked_when_attached_by_the_rules_of_sending(uploads: Path) -> None:
    root = upload_root()
    attachments.check_attached(write(uploads, "notes.md", "# fine\n"), root)
    attachments.check_attached(write(uploads, "dot.png", PNG), root)  # a model that may read images
    for name, data, says in [
        ("app.bin", b"\x7fELF\x02\x01\x01\x00\xff\xfe", "`app.bin` is not UTF-8 text (byte 9 is invalid)"),
        ("fake.png", "not an image", "named like an image"),
        ("big.txt", "x" * (attachments.MAX_TEXT_BYTES + 1), "200 kB"),
    ]:
        with pytest.raises(AttachmentError) as caught:
            attachments.check_attached(write(uploads, name, data), root)
        assert says in english(caught.value)
    with pytest.raises(AttachmentError) as refused:
        attachments.check_attached(write(uploads, "red.png", PNG), root, text_only_model="smollm2")
    said = english(refused.value)
    assert said.startswith("⚠️ This model reads text only") and "`red.png`" in said and "**smollm2**" in said
    assert "context" not in said
    with pytest.raises(AttachmentError) as outside:
        attachments.check_attached("/etc/hostname", root)
    assert "could not be read" in english(outside.value)


def test_which_models_are_known_to_read_text_only(tmp_path: Path) -> None:
    def preset(text: str) -> Any:
        path = tmp_path / "p.yaml"
        path.write_text(text, encoding="utf-8")
        return load_preset(path, environ={})

    text_only = preset("base_url: http://127.0.0.1:9/v1\nmodel: small\nimages: false\n")
    assert text_only.reads_images() is False and text_only.reads_images("small") is False
    assert text_only.reads_images("big-vision") is None  # another model of that server: not known
    assert preset("base_url: http://127.0.0.1:9/v1\nmodel: m\n").reads_images() is None
    assert preset("base_url: http://127.0.0.1:9/v1\nmodel: m\nimages: true\n").reads_images() is True
    # llama.cpp run by llmchat reads images only with a CLIP projector.
    assert preset("model: smol\nembedded:\n  model: smollm2\n").reads_images() is False
    clip = "model: llava\nembedded:\n  model: smollm2\n  extra_args: ['--clip_model_path', 'mmproj.gguf']\n"
    assert preset(clip).reads_images() is True
