"""Presets: one YAML file per preset, validated strictly, with environment fallbacks.

A preset is everything needed to talk to one server in one way: where the server is, which model,
and the starting values of every sampling control. Files are read with ``yaml.safe_load`` and
checked by a pydantic model with ``extra="forbid"`` and bounded fields, so a typo or an
out-of-range value is caught at start-up and reported as one line naming the file, the key, the
value and what is allowed - never a traceback. That line is shown on the page to every visitor,
so a value that may hold a secret (``api_key``, ``extra_body``, ``embedded.extra_args``, a URL's
credentials) is masked in it (see :mod:`llmchat.core.redaction`).
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    create_model,
    field_validator,
)

from llmchat.core import controls
from llmchat.core.embedded_settings import EmbeddedSettings
from llmchat.core.redaction import (
    args_secrets,
    display_url,
    mapping_secrets,
    mask,
    redact_text,
    url_secrets,
)

# The seed tutorial's module constants: what a preset falls back to for every key it leaves out.
SEED_BASE_URL = "http://localhost:8080/v1"
SEED_API_KEY = "Dummy"
SEED_MODEL = "gpt-3.5-turbo"
SEED_SYSTEM_PROMPT = controls.SEED_SYSTEM_PROMPT

# Environment variables that fill in what a preset leaves out (Hugging Face Spaces secrets).
ENV_BASE_URL = "OPENAI_BASE_URL"
ENV_API_KEY = "OPENAI_API_KEY"
ENV_MODEL = "LLMCHAT_MODEL"

Number = StrictFloat | StrictInt
ExtraValue = StrictStr | StrictInt | StrictFloat | StrictBool | list[StrictStr | Number] | None


class PresetBase(BaseModel):
    """The keys of a preset that are not controls (see :class:`Preset`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: StrictStr | None = Field(None, min_length=1, max_length=80)
    description: StrictStr = Field("", max_length=2000)
    # The page in Japanese shows these instead (each falls back to the English one).
    name_ja: StrictStr | None = Field(None, min_length=1, max_length=80)
    description_ja: StrictStr = Field("", max_length=2000)
    # The empty chat's welcome line and example prompts (none set: the page's own).
    welcome: StrictStr = Field("", max_length=500)
    welcome_ja: StrictStr = Field("", max_length=500)
    examples: list[Annotated[StrictStr, Field(min_length=1, max_length=300)]] = Field([], max_length=6)
    examples_ja: list[Annotated[StrictStr, Field(min_length=1, max_length=300)]] = Field([], max_length=6)

    # Where and what: None means "environment variable, else the seed's value".
    base_url: StrictStr | None = Field(None, pattern=r"^https?://\S+$")
    api_key: SecretStr | None = None
    model: StrictStr | None = Field(None, min_length=1, max_length=200)

    # Server-specific keys sent in the request body as they are (llama.cpp, vLLM, Ollama).
    extra_body: dict[StrictStr, ExtraValue] = {}

    # Behaviour of the app with this server.
    max_tokens_limit: StrictInt = Field(4096, ge=1, le=1_048_576)
    timeout: Number = Field(120.0, gt=0, le=3600)
    concurrency_limit: StrictInt | None = Field(None, ge=1, le=1000)
    context_window: StrictInt | None = Field(None, ge=256, le=10_000_000)
    # Whether the model reads images: false refuses an attached image at once (saying why) instead
    # of sending it to a model that answers nothing; unset: not known, the image is sent.
    images: StrictBool | None = None
    # After an answer, when the next turn will leave out older turns, have a llama.cpp server
    # evaluate the shortened conversation right away (see llmchat/engine/warmup.py).
    warm_cache: StrictBool = True
    # The page's language for every visitor when the app starts with this preset (--lang wins).
    lang: Literal["en", "ja"] | None = None
    stream_usage: StrictBool = True

    # A local model llmchat runs itself when nothing answers at base_url.
    embedded: EmbeddedSettings | None = None

    @field_validator("extra_body")
    @classmethod
    def _no_overrides_of_core_keys(cls, value: dict[str, Any]) -> dict[str, Any]:
        reserved = {"model", "messages", "stream", "stream_options"}
        clash = sorted(reserved & set(value))
        if clash:
            raise ValueError(f"must not set {', '.join(clash)} (llmchat sets them itself)")
        return value


# The schema of one preset file. Every key is optional; the controls' keys (mode, system_prompt,
# the sampling values...) and their bounds and defaults come from llmchat.core.controls.
Preset: type[PresetBase] = create_model(  # type: ignore[call-overload]
    "Preset",
    __base__=PresetBase,
    **{control.name: control.field() for control in controls.CONTROLS},
)


@dataclass(frozen=True)
class LoadedPreset:
    """A validated preset, with environment fallbacks applied. ``api_key`` never leaves the server."""

    id: str  # the file stem, used by --preset and by the UI's dropdown
    path: Path
    label: str
    settings: Preset
    base_url: str
    model: str
    api_key: SecretStr = field(repr=False)

    def label_in(self, lang: str) -> str:
        """The preset's name in ``lang`` ("ja": ``name_ja`` when set)."""
        return (self.settings.name_ja if lang == "ja" else None) or self.label

    def description_in(self, lang: str) -> str:
        return (self.settings.description_ja if lang == "ja" else "") or self.settings.description

    @property
    def slider_max_tokens(self) -> int:
        return max(self.settings.max_tokens_limit, self.settings.max_tokens)

    @property
    def limits(self) -> dict[str, int]:
        """The preset's own maximums of controls (see ``Control.limited_by``)."""
        return {"max_tokens_limit": self.slider_max_tokens}

    def reads_images(self, model: str = "") -> bool | None:
        """Whether ``model`` (the preset's own when empty) reads images; None when not known.

        The preset's ``images:`` speaks of its own model only: another one picked from the
        server's list is not known. A model llmchat runs itself (``embedded:``) is the only one
        its server offers, and llama.cpp reads images only with a CLIP projector
        (``--clip_model_path`` in ``extra_args``): without one, it reads text only.
        """
        s = self.settings
        if s.embedded is not None:
            clip = any(arg.split("=", 1)[0] == "--clip_model_path" for arg in s.embedded.extra_args)
            return s.images if s.images is not None else clip
        if model and model != self.model:
            return None
        return s.images

    def control_values(self) -> dict[str, Any]:
        """Every control's value as this preset sets it."""
        return {control.name: getattr(self.settings, control.name) for control in controls.CONTROLS}

    @property
    def secrets(self) -> list[str]:
        """Every string of this preset that must never be shown or logged: the key, its URLs'
        credentials, credential values in ``extra_body`` and ``embedded.extra_args``."""
        s = self.settings
        found = [self.api_key.get_secret_value(), *url_secrets(self.base_url), *url_secrets(s.base_url)]
        found += mapping_secrets(s.extra_body)
        if s.embedded is not None:
            found += args_secrets(s.embedded.extra_args)
        return found

    @property
    def server(self) -> str:
        """The server as people may see it: ``scheme://host:port/path``, no credentials."""
        return display_url(self.base_url)


class PresetError(Exception):
    """A preset that cannot be used. ``str(error)`` is the one-line message for the user."""

    def __init__(self, message: str) -> None:
        # One line whatever the file holds: keys and values may contain line breaks.
        super().__init__(message.replace("\r", "\\r").replace("\n", "\\n"))


# Where a value may be a credential whatever it looks like: only its shape is shown. ("headers"
# is no preset key today; a future one would hold Authorization and the like.)
_SECRET_KEYS = frozenset({"api_key", "headers"})
_MASKED_KEYS = frozenset({"extra_body", "embedded.extra_args", "embedded"})


def _describe_value(loc: list[str], value: Any) -> str:
    """The offending value for the error line, with anything that may be a secret masked."""
    key = loc[0] if loc else "?"
    where = ".".join(loc[:2]) if key == "embedded" and len(loc) > 1 else key
    if key in _SECRET_KEYS:
        return "(hidden)"
    if where in _MASKED_KEYS:
        text = repr(mask(value))
    elif key == "base_url" and isinstance(value, str):
        text = repr(display_url(value))
    else:
        text = redact_text(repr(value))
    return text if len(text) <= 60 else text[:57] + "..."


def _allowed_for(key: str, model: type[BaseModel] | None = None) -> str:
    """A short statement of what a key accepts, read from the schema itself."""
    if model is None and key in controls.BY_NAME:
        return controls.expected(controls.BY_NAME[key])
    info = (model or Preset).model_fields.get(key)
    if info is None:
        return ""
    bounds = {}
    for item in info.metadata:
        for attr in ("ge", "gt", "le", "lt", "min_length", "max_length", "pattern"):
            if getattr(item, attr, None) is not None:
                bounds[attr] = getattr(item, attr)
    if "ge" in bounds and "le" in bounds:
        kind = "a number" if "float" in repr(info.annotation) else "a whole number"
        return f"{kind} from {bounds['ge']} to {bounds['le']}"
    if "gt" in bounds and "le" in bounds:
        return f"a number above {bounds['gt']} and at most {bounds['le']}"
    if key == "base_url":
        return "an http:// or https:// URL, such as http://localhost:8080/v1"
    if key == "lang":
        return "en or ja"
    if key == "extra_body":
        return "a mapping of key: value"
    if key == "embedded":
        return "a mapping such as {model: smollm2, n_ctx: 2048}"
    if key in (
        "api_key",
        "name",
        "model",
        "description",
        "name_ja",
        "description_ja",
        "welcome",
        "welcome_ja",
    ):
        return "text"
    if key in ("examples", "examples_ja"):
        return "a list of at most 6 prompts, each up to 300 characters"
    return ""


def format_validation_error(path: Path | str, error: ValidationError, data: dict[str, Any]) -> str:
    problems = []
    seen: set[str] = set()
    for item in error.errors():
        loc = [str(part) for part in item["loc"] if not str(part).startswith("function-after")]
        key = loc[0] if loc else "?"
        nested = key == "embedded" and len(loc) > 1
        if item["type"] == "extra_forbidden":
            schema = EmbeddedSettings if nested else Preset
            name = loc[-1]
            close = difflib.get_close_matches(name, schema.model_fields, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            where = "embedded." if nested else ""
            allowed = ", ".join(schema.model_fields)
            problems.append(f"unknown key '{where}{name}'{hint}; allowed keys: {allowed}")
            continue
        # Union members ("temperature.float", "temperature.int") are one key to a user.
        shown_key = ".".join(loc[:2]) if key in ("stop", "extra_body", "embedded") and len(loc) > 1 else key
        if shown_key in seen:
            continue
        seen.add(shown_key)
        value = _describe_value(loc, item.get("input") if len(loc) > 1 else data.get(key, item.get("input")))
        allowed = _allowed_for(loc[1], EmbeddedSettings) if nested else _allowed_for(key)
        message = item["msg"].removeprefix("Value error, ")
        expected = f"; expected {allowed}" if allowed else ""
        problems.append(f"key '{shown_key}' has value {value}: {message}{expected}")
    return f"{path}: " + "; ".join(problems)


def load_preset(path: Path, environ: dict[str, str] | None = None) -> LoadedPreset:
    """Read, validate and resolve one preset file, or raise PresetError with a one-line message."""
    env = os.environ if environ is None else environ
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PresetError(f"{path}: cannot be read ({exc.__class__.__name__}: {exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise PresetError(f"{path}: not valid YAML{at}: {redact_text(problem)}") from None
    except RecursionError:
        raise PresetError(f"{path}: not valid YAML: nested too deeply") from None
    except Exception as exc:
        # PyYAML's constructors raise ValueError, IndexError, KeyError... for values such as
        # 2024-02-30 or an empty `!!int`; whatever it is, the file cannot be read.
        # The message quotes the value ("invalid literal for int(): 'sk-...'"): leave it out.
        detail = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
        detail = redact_text(re.sub(r"'[^']*'|\"[^\"]*\"", "'...'", detail))
        raise PresetError(f"{path}: not valid YAML: a value cannot be read ({detail})") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise PresetError(f"{path}: expected a mapping of 'key: value' lines, got {type(data).__name__}")
    bad_keys = [k for k in data if not isinstance(k, str)]
    if bad_keys:
        shown = redact_text(repr(bad_keys[0]))[:60]
        raise PresetError(f"{path}: key {shown} is not text; keys must be names")
    try:
        settings = Preset.model_validate(data)
    except ValidationError as exc:
        raise PresetError(format_validation_error(path, exc, data)) from None

    api_key = settings.api_key or SecretStr(env.get(ENV_API_KEY) or SEED_API_KEY)
    return LoadedPreset(
        id=path.stem,
        path=path,
        label=settings.name or path.stem,
        settings=settings,
        base_url=(settings.base_url or env.get(ENV_BASE_URL) or SEED_BASE_URL).rstrip("/"),
        model=settings.model or env.get(ENV_MODEL) or SEED_MODEL,
        api_key=api_key,
    )


@dataclass
class PresetCatalog:
    """All presets of a config directory: the valid ones by id, and one line per problem.

    ``broken`` maps the id (file stem) of each unusable file to its one-line message, so that
    ``--preset NAME`` can report exactly why NAME cannot be used.
    """

    presets: dict[str, LoadedPreset]
    broken: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        return [*self.notes, *self.broken.values()]

    def get(self, preset_id: str) -> LoadedPreset:
        """The preset with that id. Visitors can only ever pick presets that exist on disk."""
        try:
            return self.presets[preset_id]
        except KeyError:
            choices = ", ".join(self.presets) or "none"
            raise PresetError(f"unknown preset '{preset_id}' (available: {choices})") from None


def load_catalog(config_dir: Path, environ: dict[str, str] | None = None) -> PresetCatalog:
    """Load every ``*.yaml`` / ``*.yml`` in ``config_dir``; broken files are listed, not fatal."""
    if not config_dir.is_dir():
        return PresetCatalog({}, notes=[f"{config_dir}: config directory not found"])
    catalog = PresetCatalog({})
    files = sorted([*config_dir.glob("*.yaml"), *config_dir.glob("*.yml")])
    for path in files:
        if path.stem in catalog.presets or path.stem in catalog.broken:
            catalog.notes.append(f"{path}: preset '{path.stem}' is defined twice; file skipped")
            continue
        try:
            catalog.presets[path.stem] = load_preset(path, environ)
        except PresetError as exc:
            catalog.broken[path.stem] = str(exc)
    if not files:
        catalog.notes.append(f"{config_dir}: no preset files (*.yaml) found")
    return catalog
