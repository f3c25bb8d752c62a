"""The new inputs of ``/chat`` through gradio_client: files, the model, the visitor's language.

Text-only calls (``client.predict("hi", api_name="/chat")``) are what tests/test_app.py makes;
here the message is ``{"text": ..., "files": [handle_file(...)]}``, as the multimodal box sends it.
"""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
from gradio_client import Client, handle_file

from llmchat.testing.openai_server import Behavior, OpenAITestServer
from tests.replies import notes_of as notes

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def test_attached_files_reach_the_server_and_are_sent_again_with_the_history(
    client: Client, server: OpenAITestServer, tmp_path: Path
) -> None:
    (tmp_path / "plan.md").write_text("# Plan\n- ship it\n", encoding="utf-8")
    (tmp_path / "dot.png").write_bytes(PNG)
    files = [handle_file(str(tmp_path / "plan.md")), handle_file(str(tmp_path / "dot.png"))]
    reply = client.predict({"text": "Thoughts?", "files": files}, api_name="/chat")
    assert reply.startswith("Echo: plan.md:")
    [text, image] = server.chat_bodies[0]["messages"][-1]["content"]
    assert text["text"] == "plan.md:\n```markdown\n# Plan\n- ship it\n```\n\nThoughts?"
    assert image["image_url"]["url"] == "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert client.predict("And then?", api_name="/chat") == "Echo: And then?"
    again = server.chat_bodies[1]["messages"]
    assert again[1]["content"] == [text, image]
    assert again[-1] == {"role": "user", "content": "And then?"}


def test_a_file_alone_is_a_message(client: Client, server: OpenAITestServer, tmp_path: Path) -> None:
    (tmp_path / "q.txt").write_text("What is 2+2?", encoding="utf-8")
    reply = client.predict({"text": "", "files": [handle_file(str(tmp_path / "q.txt"))]}, api_name="/chat")
    assert reply == "Echo: q.txt:\n```\nWhat is 2+2?\n```"
    assert server.chat_bodies[0]["messages"][-1]["content"] == "q.txt:\n```\nWhat is 2+2?\n```"


def test_a_refused_image_is_explained(client: Client, server: OpenAITestServer, tmp_path: Path) -> None:
    (tmp_path / "dot.png").write_bytes(PNG)
    server.enqueue(Behavior(fault="http", status=400, message="This model does not support image inputs."))
    message = {"text": "see?", "files": [handle_file(str(tmp_path / "dot.png"))]}
    [(title, body)] = notes(client.predict(message, api_name="/chat")).items()
    assert title == "⚠️ This model cannot read images"
    assert "does not support image inputs" in body and "**Model**" in body


def test_an_image_a_text_only_model_answers_with_nothing_is_explained_as_such(
    client: Client, server: OpenAITestServer, tmp_path: Path
) -> None:
    (tmp_path / "dot.png").write_bytes(PNG)
    server.enqueue(Behavior(tokens=0, fault="no_finish"))  # 200 OK, no text, no end mark
    message = {"text": "see?", "files": [handle_file(str(tmp_path / "dot.png"))]}
    [(title, body)] = notes(client.predict(message, api_name="/chat")).items()
    assert title == "⚠️ This model may not read images" and "**Model**" in body
    assert "context window" not in body and "127.0.0.1" not in body and server.base_url not in body


def test_a_big_or_binary_file_is_refused_before_anything_is_sent(
    client: Client, server: OpenAITestServer, tmp_path: Path
) -> None:
    (tmp_path / "big.log").write_text("x" * 250_000, encoding="utf-8")
    (tmp_path / "app.bin").write_bytes(b"\x7fELF\x02\x01\x01\x00\xff\xfe")
    for name, title, detail in [
        ("big.log", "⚠️ File too large", "250 kB; attached text files may be at most 200 kB"),
        ("app.bin", "⚠️ Not a text file", "`app.bin` is not UTF-8 text"),
    ]:
        message = {"text": "read", "files": [handle_file(str(tmp_path / name))]}
        [(got, body)] = notes(client.predict(message, api_name="/chat")).items()
        assert got == title and detail in body
    assert server.chat_bodies == []


def test_the_model_parameter_takes_listed_models_only(client: Client, server: OpenAITestServer) -> None:
    server.models = ["test-model", "big-model"]
    assert client.predict("hi", model="big-model", api_name="/chat") == "Echo: hi"
    assert server.chat_bodies[-1]["model"] == "big-model"
    [(title, body)] = notes(client.predict("hi", model="gpt-4-free", api_name="/chat")).items()
    assert title == "⚠️ Model not available" and "`gpt-4-free`" in body
    assert len(server.chat_bodies) == 1
    client.predict("hi", preset="test-qa", api_name="/chat")  # empty = that preset's own model
    assert server.chat_bodies[-1]["model"] == "qa-model"


def test_notices_follow_the_visitors_language(app_url: str, server: OpenAITestServer) -> None:
    japanese = Client(app_url, verbose=False, headers={"Accept-Language": "ja-JP,ja;q=0.9"})
    try:
        [(title, body)] = notes(japanese.predict("hi", preset="unreachable", api_name="/chat")).items()
        server.enqueue(Behavior(tokens=30))
        reply = japanese.predict("long", max_tokens=2, api_name="/chat")
    finally:
        japanese.close()
    assert title == "⚠️ LLM サーバーに接続できません"
    assert "から応答がありません" in body and "python -m llama_cpp.server" in body
    assert "ℹ️ 最大トークン数に達しました" in notes(reply)


def test_the_api_description_names_the_new_inputs(app_url: str) -> None:
    info = httpx.get(app_url + "gradio_api/info", timeout=10).json()
    chat = info["named_endpoints"]["/chat"]
    names = [p["parameter_name"] for p in chat["parameters"]]
    assert names[0] == "message" and names[-1] == "model"
    assert next(p for p in chat["parameters"] if p["parameter_name"] == "model")["parameter_default"] == ""
