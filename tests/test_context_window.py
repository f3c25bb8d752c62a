"""The context window learned wherever a server says it: its model list, LiteLLM's and Ollama's
model info, and its own refusal of a request that is too long (then the turn is sent again)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from llmchat.core import windows
from llmchat.core.presets import load_catalog
from llmchat.core.turn import TurnView
from llmchat.engine.budget import ContextBudget
from llmchat.engine.http import HttpPool
from llmchat.engine.service import ChatService, TurnRequest
from llmchat.testing.openai_server import OpenAITestServer
from llmchat.testing.overflow import prompt_tokens

# --- what each server's reply says --------------------------------------------------------------


def models(*entries: dict[str, Any]) -> bytes:
    return json.dumps({"object": "list", "data": list(entries)}).encode()


def test_a_model_entry_states_its_window_in_the_fields_servers_use() -> None:
    assert windows.models_window(models({"id": "m", "max_model_len": 8192}), "m") == 8192  # vLLM
    assert windows.models_window(models({"id": "m", "context_length": 4096}), "m") == 4096  # OpenRouter
    assert windows.models_window(models({"id": "m", "context_window": 32768}), "m") == 32768  # Groq
    assert windows.models_window(models({"id": "x", "max_model_len": 8192}), "m") is None  # another model
    assert windows.models_window(models({"id": "m"}), "m") is None


def test_lm_studio_is_believed_only_for_the_loaded_size() -> None:
    loaded = {"id": "m", "state": "loaded", "max_context_length": 131072, "loaded_context_length": 4096}
    assert windows.models_window(models(loaded), "m") == 4096
    idle = {"id": "m", "state": "not-loaded", "max_context_length": 131072}
    assert windows.models_window(models(idle), "m") is None  # the trained maximum is not what it runs


@pytest.mark.parametrize("value", ["4096", 4096.0, True, 10, 10**12, None, [4096], {"n": 1}])
def test_a_window_of_the_wrong_type_or_size_is_not_known(value: object) -> None:
    assert windows.models_window(models({"id": "m", "max_model_len": value}), "m") is None


def test_a_listing_of_the_wrong_shape_states_nothing() -> None:
    for body in (b"[]", b"not json", b'{"data": 3}', b'{"data": [1, "x"]}'):
        assert windows.models_window(body, "m") is None
        assert windows.litellm_window(body, "m") is None


def test_litellm_model_info_states_max_input_tokens_of_the_models_entry() -> None:
    body = models(
        {
            "model_name": "m",
            "litellm_params": {"model": "openai/x"},
            "model_info": {"max_input_tokens": 8192},
        },
        {"model_name": "m", "model_info": {"max_input_tokens": 2048}},  # a second deployment: smaller wins
        {"model_name": "other", "model_info": {"max_input_tokens": 999999}},
        {"model_name": "m", "model_info": {"max_input_tokens": "lots"}},
    )
    assert windows.litellm_window(body, "m") == 2048
    assert windows.litellm_window(body, "nobody") is None


def test_ollama_states_num_ctx_else_its_default_capped_by_the_trained_size() -> None:
    show = {
        "parameters": 'stop "<|eot_id|>"\nnum_ctx 8192',
        "model_info": {"general.architecture": "llama", "llama.context_length": 131072},
    }
    assert windows.ollama_window(json.dumps(show).encode()) == 8192
    show["parameters"] = 'stop "<|eot_id|>"'
    assert windows.ollama_window(json.dumps(show).encode()) == windows.OLLAMA_DEFAULT_WINDOW
    show["model_info"] = {"llama.context_length": 2048}
    assert windows.ollama_window(json.dumps(show).encode()) == 2048
    assert windows.ollama_window(b'{"parameters": 5, "model_info": []}') is None


@pytest.mark.parametrize(
    ("message", "window"),
    [
        ("request (2064 tokens) exceeds the available context size (2048 tokens)", 2048),
        ("This model's maximum context length is 4,097 tokens. However, your messages resulted in", 4097),
        ("litellm.ContextWindowExceededError: This model's maximum context length is 8192 tokens", 8192),
        ("Requested tokens (5000) exceed context window of 4096", 4096),
        ("The input (5000 tokens) is longer than the model's context length (4096 tokens).", 4096),
        ("Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096. Given: 4000", 4096),
        ("the request exceeds the available context size, try increasing it", None),
        ("maximum context length is 12 tokens", None),  # not a window any model has
        ("model 'x' not found", None),
    ],
)
def test_a_refusal_states_the_window_as_each_server_words_it(message: str, window: int | None) -> None:
    assert windows.stated_window(message) == window


def test_llama_servers_refusal_carries_the_window_as_a_field() -> None:
    assert windows.stated_window("too long", {"message": "too long", "n_ctx": 2048}) == 2048
    assert windows.stated_window("too long", {"error": {"n_ctx": "2048"}}) is None


# --- asked over HTTP ----------------------------------------------------------------------------


def learn(server: OpenAITestServer, model: str = "test-model") -> int | None:
    async def ask() -> int | None:
        pool = HttpPool()
        try:
            return await ContextBudget(http=pool).window(server.base_url, {}, None, model)
        finally:
            await pool.aclose()

    return asyncio.run(ask())


def test_the_window_is_learned_from_every_place_a_server_says_it(server: OpenAITestServer) -> None:
    assert learn(server) is None
    server.model_fields = {"max_model_len": 3000}
    assert learn(server) == 3000
    server.model_fields = {}
    server.json_routes[("GET", "/api/v0/models")] = json.loads(
        models({"id": "test-model", "state": "loaded", "loaded_context_length": 5000})
    )
    assert learn(server) == 5000
    server.json_routes.clear()
    server.json_routes[("GET", "/model/info")] = json.loads(
        models({"model_name": "test-model", "model_info": {"max_input_tokens": 6000}})
    )
    assert learn(server) == 6000
    server.json_routes.clear()
    server.json_routes[("POST", "/api/show")] = {"parameters": "num_ctx 7000"}
    assert learn(server) == 7000
    assert [r.body for r in server.requests if r.path == "/api/show"][-1] == {"model": "test-model"}
    server.n_ctx = 2048  # llama.cpp's /props is asked first
    assert learn(server) == 2048
    assert learn(server, "another-model") == 2048


# --- learned from the refusal, and the turn sent again ------------------------------------------


def chat(service: ChatService, turns: int, preset: str = "test-chat", words: int = 40) -> list[TurnView]:
    """``turns`` paragraph-long turns; the last view of each."""

    async def run() -> list[TurnView]:
        history: list[dict[str, Any]] = []
        last = []
        for turn in range(turns):
            message = f"turn {turn}: " + " ".join(f"w{turn}x{i}" for i in range(words))
            request = TurnRequest(message=message, preset=preset, history=list(history))
            views = [view async for view in service.turn(request)]
            last.append(views[-1])
            history += [
                {"role": "user", "content": message},
                {"role": "assistant", "content": views[-1].answer},
            ]
        return last

    return asyncio.run(run())


@pytest.mark.parametrize("style", ["llama.cpp", "openai", "vllm", "llama-cpp-python"])
def test_a_refusal_that_states_the_window_is_learned_and_the_turn_sent_again_once(
    server: OpenAITestServer, config_dir: Path, style: str
) -> None:
    server.enforce_window, server.overflow_style = 1024, style
    service = ChatService(load_catalog(config_dir, environ={}))
    views = chat(service, 14)
    assert all(view.answer.startswith(f"Echo: turn {n}:") for n, view in enumerate(views))
    refused = [
        body for body in server.chat_bodies if prompt_tokens(body["messages"]) + body["max_tokens"] > 1024
    ]
    assert len(refused) == 1  # once; every later turn fits the learned window
    [learned] = [n for n, view in enumerate(views) if any(x.kind == "window_learned" for x in view.notices)]
    assert views[learned].before[0].params == {"window": 1024}
    assert any(x.kind == "history_trimmed" for x in views[learned].notices)
    assert all(not view.after for view in views)


def test_a_refusal_that_states_no_window_says_what_to_set(server: OpenAITestServer, config_dir: Path) -> None:
    server.enforce_window, server.overflow_style = 1024, "unstated"
    views = chat(ChatService(load_catalog(config_dir, environ={})), 10)
    failed = [view for view in views if view.failed]
    assert failed and all(view.after[0].kind == "bad_request_context" for view in failed)
    from llmchat.i18n import notice_text

    assert "`context_window:`" in notice_text(failed[0].after[0], "en")[1]
    assert "`context_window:`" in notice_text(failed[0].after[0], "ja")[1]
    sent = len(server.chat_bodies)
    assert sent == 10  # no second try when nothing was learned


def test_a_window_set_in_the_preset_larger_than_the_servers_is_corrected(
    server: OpenAITestServer, config_dir: Path, tmp_path: Path
) -> None:
    preset = (config_dir / "test-chat.yaml").read_text() + "context_window: 100000\n"
    (tmp_path / "big.yaml").write_text(preset)
    server.enforce_window = 1024
    views = chat(ChatService(load_catalog(tmp_path, environ={})), 14, preset="big")
    assert all(not view.after for view in views)
    assert sum(1 for view in views if any(x.kind == "window_learned" for x in view.notices)) == 1
