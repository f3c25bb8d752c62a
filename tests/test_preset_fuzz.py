"""Fuzzing preset loading: whatever a preset file holds, the app gets a preset or one clear line.

``load_preset`` promises that a broken file raises :class:`PresetError` whose message is a single
line starting with the file's path - never another exception, never a traceback. These tests feed
it text that hypothesis makes up three ways: arbitrary text, text made of YAML's own punctuation
and the real preset keys (so the parser gets far), and YAML dumps of arbitrary nested data whose
keys are mostly real preset keys (so pydantic and the message formatter get far).

The crashes it found (PyYAML constructor errors other than YAMLError, deep nesting, keys with
line breaks making multi-line messages) are pinned by the regression tests at the end, each with
its minimal input.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from llmchat.core.presets import LoadedPreset, Preset, PresetError, load_preset
from llmchat.engine.embedded import EmbeddedSettings

PRESET_KEYS = list(Preset.model_fields)
EMBEDDED_KEYS = list(EmbeddedSettings.model_fields)
# A file name with a space and Japanese text: the message must start with it verbatim.
FILE_NAME = "プリセット fuzz.yaml"

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


# ----- the property ------------------------------------------------------------------------------


def load(content: str | bytes) -> LoadedPreset | str:
    """Write ``content`` to a fresh file and load it; assert the promise. A refusal gives its message."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / FILE_NAME
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        try:
            loaded = load_preset(path, environ={})
        except PresetError as exc:
            message = str(exc)
            assert "\n" not in message and "\r" not in message, f"message has several lines: {message!r}"
            assert message.startswith(f"{path}: "), f"message does not start with the path: {message!r}"
            assert len(message) > len(f"{path}: "), "message says nothing after the path"
            assert "Traceback" not in message
            return message
        except Exception as exc:
            raise AssertionError(
                f"load_preset raised {type(exc).__name__} instead of PresetError: {exc!s:.300}"
            ) from exc
    # A preset that loads is fully resolved: what the app needs is there.
    assert isinstance(loaded, LoadedPreset)
    assert loaded.id == Path(FILE_NAME).stem
    assert loaded.label
    assert loaded.base_url.startswith(("http://", "https://"))
    assert loaded.model
    assert loaded.api_key.get_secret_value()  # environ={} -> the preset's key or the seed's "Dummy"
    return loaded


# ----- strategies --------------------------------------------------------------------------------

random_key = st.text(st.characters(blacklist_categories=["Cs"]), max_size=12)
preset_key = st.one_of(st.sampled_from(PRESET_KEYS), st.sampled_from(PRESET_KEYS), random_key)
embedded_key = st.one_of(st.sampled_from(EMBEDDED_KEYS), random_key)

# Values near the real ranges, and everything YAML can express.
scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.integers(min_value=-3, max_value=300_000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-3, max_value=3),
    st.text(max_size=30),
    st.sampled_from(["chat", "qa", "http://127.0.0.1:8080/v1", "https://x", "ftp://x", "", " ", "null"]),
    st.dates(),
    st.binary(max_size=8),
)
embedded_section = st.dictionaries(
    embedded_key, scalar | st.lists(st.text(max_size=12), max_size=3), max_size=4
)
nested = st.recursive(
    scalar,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(random_key, st.integers(), st.booleans(), st.none()), children, max_size=4),
    ),
    max_leaves=12,
)
preset_mapping = st.dictionaries(
    preset_key,
    st.one_of(scalar, scalar, nested, embedded_section),
    max_size=8,
)
document = st.one_of(preset_mapping, preset_mapping, preset_mapping, nested)

YAML_PIECES = [
    *(f"{k}: " for k in PRESET_KEYS),
    *(f"  {k}: " for k in EMBEDDED_KEYS),
    "\n", "\r\n", " ", "  ", "\t", ":", ": ", "- ", "-", "?", "? ", "[", "]", "{", "}", ",", "#", "&a ", "*a",
    "!!str ", "!!int ", "!!binary ", "!!python/object:os.system ", "!foo ", "%YAML 1.1\n", "---\n", "...\n",
    "|", ">", "'", '"', "\\", "\\n", "\\x00", "\\ud800", "~", "null", "true", "no", "0", "1", "-1", "0x1F",
    "0o7", "1e3", "1.5", ".nan", ".inf", "-.inf", "2001-12-14", "1:30", "<<: *a", "http://", "https://x/v1",
    "2024-02-30", "2001-12-14 21:59:43.10 -5", "chat", "qa",
    "あなた", "日本語", "\ufeff", "\x85", "\u2028", "\x00", "\x1b", "😀",
]  # fmt: skip
yaml_like_text = st.lists(st.sampled_from(YAML_PIECES), max_size=40).map("".join)


# ----- the fuzz tests ----------------------------------------------------------------------------


@FUZZ
@given(st.text())
@example("")
@example("\ufeff")
@example("- a\n- b\n")
@example("name: [unclosed")
@example("temperature: 3.5\n")
@example("temprature: 0.5\n")
@example("%YAML 9.9\n---\na: 1\n")
@example("!!python/object/apply:os.system ['true']\n")
@example("extra_body: {model: x}\n")
@example("embedded: {n_ctx: 1, foo: 2}\n")
def test_arbitrary_text_loads_or_gives_one_line(text: str) -> None:
    load(text)


@FUZZ
@given(yaml_like_text)
def test_yaml_shaped_text_loads_or_gives_one_line(text: str) -> None:
    load(text)


@FUZZ
@given(st.binary(max_size=64))
@example(b"\xff\xfe\x00n\x00a")
@example("name: café".encode("latin-1"))
def test_arbitrary_bytes_load_or_give_one_line(content: bytes) -> None:
    load(content)


@FUZZ
@given(
    document,
    st.sampled_from([False, True, None]),  # block, flow, mixed style
    st.booleans(),
)
@example({"temperature": math.nan}, False, True)
@example({"seed": 2**63}, False, True)
@example({"stop": ["a", "b", "c", "d", "e"]}, None, True)
@example({"embedded": {"extra_args": ["--port=1"]}}, False, True)
@example({"extra_body": {"messages": []}}, False, True)
@example({"api_key": ["sk-secret"]}, False, True)
def test_yaml_dump_of_nested_data_loads_or_gives_one_line(
    data: Any, flow_style: bool | None, allow_unicode: bool
) -> None:
    text = yaml.safe_dump(data, default_flow_style=flow_style, allow_unicode=allow_unicode, sort_keys=False)
    loaded = load(text)
    if not isinstance(loaded, str):
        # What loads is exactly what the file said (for the keys it gave).
        assert isinstance(data, dict) or data is None
        given_keys = data or {}
        assert loaded.settings == Preset.model_validate(given_keys)


@FUZZ
@given(preset_mapping)
def test_api_key_never_appears_in_the_message(data: dict[str, Any]) -> None:
    secret = "sk-FUZZ-0123456789abcdef"
    outcome = load(yaml.safe_dump({**data, "api_key": secret}, sort_keys=False))
    if isinstance(outcome, str):
        assert secret not in outcome
    else:
        assert outcome.api_key.get_secret_value() == secret
        assert secret not in repr(outcome)


# ----- crashes found by the fuzzers, pinned with their minimal inputs ----------------------------


def _load_text(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bug.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PresetError) as info:
        load_preset(path, environ={})
    message = str(info.value)
    assert message.startswith(f"{path}: ") and "\n" not in message and "\r" not in message


@pytest.mark.parametrize("text", ['"\\n": 1\n', 'extra_body: {"\\n": {a: 1}}\n', 'embedded: {"\\r": 1}\n'])
def test_key_with_a_line_break_gives_one_line(tmp_path: Path, text: str) -> None:
    _load_text(tmp_path, text)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("name: 2024-02-30\n", id="impossible-date-ValueError"),
        pytest.param("0000-01-01", id="year-0-ValueError"),
        pytest.param("!!int", id="empty-int-IndexError"),
        pytest.param("!!bool", id="empty-bool-KeyError"),
        pytest.param("!!timestamp", id="empty-timestamp-AttributeError"),
        pytest.param("1" * 4301, id="4301-digit-int-ValueError"),
        pytest.param("[" * 1000, id="1000-nested-RecursionError"),
    ],
)
def test_yaml_constructor_errors_are_preset_errors(tmp_path: Path, text: str) -> None:
    _load_text(tmp_path, text)
