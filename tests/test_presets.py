"""Preset loading: valid files, env fallbacks, and the one-line messages for broken files."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmchat.core.presets import (
    SEED_BASE_URL,
    SEED_MODEL,
    SEED_SYSTEM_PROMPT,
    PresetError,
    load_catalog,
    load_preset,
)

REPO_CONFIGS = Path(__file__).resolve().parent.parent / "configs"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_presets_all_load() -> None:
    catalog = load_catalog(REPO_CONFIGS, environ={})
    assert catalog.problems == []
    assert {"local-chat", "local-qa", "openai"} <= set(catalog.presets)
    seed_chat = catalog.presets["local-chat"]
    assert seed_chat.settings.system_prompt == "あなたは日本語の優秀なアシスタントです。"
    assert seed_chat.base_url == "http://localhost:8080/v1"
    assert catalog.presets["local-qa"].settings.mode == "qa"
    assert catalog.presets["openai"].settings.api_key is None  # the key comes from the environment


def test_empty_preset_falls_back_to_the_seed_values(tmp_path: Path) -> None:
    preset = load_preset(write(tmp_path, "bare.yaml", ""), environ={})
    assert preset.id == "bare" and preset.label == "bare"
    assert preset.base_url == SEED_BASE_URL
    assert preset.model == SEED_MODEL
    assert preset.api_key.get_secret_value() == "Dummy"
    s = preset.settings
    assert (s.system_prompt, s.temperature, s.top_p, s.max_tokens) == (SEED_SYSTEM_PROMPT, 0.0, 0.0, 1024)
    assert (s.frequency_penalty, s.presence_penalty, s.seed, s.mode) == (0.0, 0.0, 0, "chat")


def test_environment_fills_what_the_preset_leaves_out(tmp_path: Path) -> None:
    env = {
        "OPENAI_BASE_URL": "http://example.test:9000/v1/",
        "OPENAI_API_KEY": "sk-from-env-123456",
        "LLMCHAT_MODEL": "env-model",
    }
    preset = load_preset(write(tmp_path, "p.yaml", "name: P\n"), environ=env)
    assert preset.base_url == "http://example.test:9000/v1"
    assert preset.api_key.get_secret_value() == "sk-from-env-123456"
    assert preset.model == "env-model"
    explicit = load_preset(
        write(tmp_path, "q.yaml", "base_url: http://h:1/v1\napi_key: k-file\nmodel: m-file\n"),
        environ=env,
    )
    assert (explicit.base_url, explicit.model) == ("http://h:1/v1", "m-file")
    assert explicit.api_key.get_secret_value() == "k-file"


def test_api_key_is_hidden_in_reprs(tmp_path: Path) -> None:
    preset = load_preset(write(tmp_path, "k.yaml", "api_key: sk-very-secret-value\n"), environ={})
    assert "sk-very-secret-value" not in repr(preset)
    assert "sk-very-secret-value" not in repr(preset.settings)


@pytest.mark.parametrize(
    ("text", "expected_parts"),
    [
        ("temprature: 0.5\n", ["bad.yaml", "unknown key 'temprature'", "did you mean 'temperature'"]),
        ("temperature: 3.5\n", ["bad.yaml", "'temperature'", "3.5", "from 0.0 to 2.0"]),
        ("top_p: -0.1\n", ["'top_p'", "-0.1", "from 0.0 to 1.0"]),
        ("max_tokens: lots\n", ["'max_tokens'", "'lots'", "integer"]),
        ("max_tokens: 0\n", ["'max_tokens'", "0", "from 1 to"]),
        ("frequency_penalty: 2.5\n", ["'frequency_penalty'", "2.5", "from -2.0 to 2.0"]),
        ("mode: debate\n", ["'mode'", "'debate'", "'chat' or 'qa'"]),
        ("base_url: localhost:8080\n", ["'base_url'", "'localhost:8080'", "http://"]),
        ("temperature: '0.5'\n", ["'temperature'", "'0.5'", "from 0.0 to 2.0"]),
        ("seed: 1.5\n", ["'seed'", "1.5", "integer"]),
        ("stop: [a, b, c, d, e]\n", ["'stop'", "at most 4"]),
        ("extra_body: {model: x}\n", ["'extra_body'", "must not set model"]),
        ("- just\n- a list\n", ["bad.yaml", "expected a mapping", "list"]),
        ("name: [unclosed\n", ["bad.yaml", "not valid YAML", "line"]),
    ],
)
def test_broken_preset_gives_one_line_naming_file_key_value_and_allowed(
    tmp_path: Path, text: str, expected_parts: list[str]
) -> None:
    with pytest.raises(PresetError) as info:
        load_preset(write(tmp_path, "bad.yaml", text), environ={})
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(tmp_path / "bad.yaml"))
    for part in expected_parts:
        assert part in message, f"{part!r} not in {message!r}"


def test_wrong_api_key_type_does_not_echo_the_value(tmp_path: Path) -> None:
    with pytest.raises(PresetError) as info:
        load_preset(write(tmp_path, "bad.yaml", "api_key: [sk-secret-one-two-three]\n"), environ={})
    assert "sk-secret-one-two-three" not in str(info.value)
    assert "'api_key'" in str(info.value)


def test_catalog_skips_broken_files_and_keeps_the_others(tmp_path: Path) -> None:
    write(tmp_path, "good.yaml", "name: Good\n")
    write(tmp_path, "bad.yaml", "temperature: 9\n")
    write(tmp_path, "notes.txt", "not a preset")
    catalog = load_catalog(tmp_path, environ={})
    assert list(catalog.presets) == ["good"]
    assert list(catalog.broken) == ["bad"]
    assert len(catalog.problems) == 1 and "temperature" in catalog.problems[0]


def test_catalog_of_missing_directory_says_so(tmp_path: Path) -> None:
    catalog = load_catalog(tmp_path / "nope", environ={})
    assert catalog.presets == {}
    assert "config directory not found" in catalog.problems[0]


def test_unknown_preset_id_lists_the_available_ones(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "")
    with pytest.raises(PresetError, match=r"unknown preset 'zzz' \(available: a\)"):
        load_catalog(tmp_path, environ={}).get("zzz")
