"""Every command-line flag and environment variable of llmchat, described once.

Each setting is one field of a pydantic-settings model: its type and bounds, its default, its help
text (the field's description), and the environment variable that gives it a default (an
:class:`Env` in its annotation). From that one description come

- the ``argparse`` flags (:func:`add_args_from_model`, like llama-cpp-python's server CLI): a
  field ``max_files`` is ``--max-files``; ``--help`` shows its description, default and variable;
- the reading of the environment (:class:`EnvironSource`): a variable set to an empty string
  counts as unset, as it always has;
- the check of both (:func:`load`): a bad value, from a flag or a variable, becomes one line
  naming that flag or variable, the value and what is expected (:class:`UsageError`, exit
  status 2), never a traceback.

A flag wins over its variable, which wins over the default. Flags reach the model as the text the
user typed, so a flag and a variable are checked by the same rules and worded the same way.
"""

from __future__ import annotations

import argparse
import contextvars
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import Field, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from llmchat.core.limits import DEFAULT_LIMITS, MB, VisitorLimits
from llmchat.engine.fairness import DEFAULT_PER_ADDRESS, DEFAULT_PER_VISITOR

# Answers stream while the app mostly waits on the LLM server, so each costs the app almost
# nothing; the server itself queues or batches. Gradio's default of 1 would make every visitor
# wait for the previous visitor's whole answer; 128 lets a classroom chat at once while bounding
# how many connections one app opens to the server.
DEFAULT_CONCURRENCY = 128
_PACKAGE = Path(__file__).resolve().parent


def default_config_dir() -> Path:
    """The shipped presets: the checkout's ``configs/`` when llmchat runs from its source tree
    (edits there take effect at once), else the copy installed with the package
    (``llmchat/configs``, put there by the wheel build)."""
    checkout = _PACKAGE.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "configs").is_dir():
        return checkout / "configs"
    return _PACKAGE / "configs"


class UsageError(Exception):
    """A problem with the command line, the environment or the presets: one line, exit status 2."""


@dataclass(frozen=True)
class Env:
    """Annotation of a settings field: the environment variable that gives its default.

    ``expected`` says what the setting accepts, for messages (derived from the type and bounds
    when empty); ``secret`` keeps a bad value out of messages; ``metavar`` is ``--help``'s name
    for the value.
    """

    variable: str | None = None
    expected: str = ""
    metavar: str | None = None
    secret: bool = False


def _env(info: FieldInfo) -> Env:
    return next((item for item in info.metadata if isinstance(item, Env)), Env())


# The environment a model is being loaded from: os.environ unless load() was given another.
_ENVIRON: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar(
    "llmchat_environ", default=None
)


class EnvironSource(PydanticBaseSettingsSource):
    """Reads each field's :class:`Env` variable, exactly as named (empty counts as unset)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        variable = _env(field).variable
        environ = _ENVIRON.get()
        environ = os.environ if environ is None else environ
        value = environ.get(variable) if variable else None
        return (value or None), field_name, False

    def __call__(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for name, info in self.settings_cls.model_fields.items():
            value, key, _ = self.get_field_value(info, name)
            if value is not None:
                found[key] = value
        return found


class Settings(BaseSettings):
    """Base of the settings models: keyword arguments (the flags given), then the environment."""

    model_config = SettingsConfigDict(extra="forbid", frozen=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, EnvironSource(settings_cls)


class CatalogSettings(Settings):
    """Where the presets are: every command has this."""

    config_dir: Annotated[Path, Env("LLMCHAT_CONFIG_DIR", "a directory", "DIR")] = Field(
        default_factory=default_config_dir,
        description="directory of *.yaml presets; default: the shipped presets (configs/)",
    )


class PresetSettings(CatalogSettings):
    """Where the presets are and which to use."""

    preset: Annotated[str | None, Env("LLMCHAT_PRESET", "a preset id (a file stem)", "ID")] = Field(
        None, description="preset to use: a file stem in the config directory"
    )


Count = Annotated[int, Field(ge=1)]


class WebSettings(PresetSettings):
    """The web app's flags (``llmchat``, ``llmchat web``, ``python gradio_app.py``)."""

    host: Annotated[str, Env("GRADIO_SERVER_NAME", "an address", "ADDRESS")] = Field(
        "127.0.0.1", min_length=1, description="address to listen on (0.0.0.0 for every interface)"
    )
    port: Annotated[int, Env("GRADIO_SERVER_PORT", metavar="PORT")] = Field(
        7860, ge=1, le=65535, description="port"
    )
    share: bool = Field(False, description="also publish a public gradio.live link (use with --auth)")
    auth: Annotated[
        str | None,
        Env("LLMCHAT_AUTH", "USER:PASS (several separated by commas)", "USER:PASS", secret=True),
    ] = Field(None, description="require a login; several as U1:P1,U2:P2")
    concurrency: Annotated[int, Env("LLMCHAT_CONCURRENCY", metavar="N")] = Field(
        DEFAULT_CONCURRENCY, ge=1, description="answers streamed at once"
    )
    max_message_chars: Annotated[int, Env("LLMCHAT_MAX_MESSAGE_CHARS", metavar="N")] = Field(
        DEFAULT_LIMITS.max_message_chars, ge=1, description="longest message, characters"
    )
    max_files: Annotated[int, Env("LLMCHAT_MAX_FILES", metavar="N")] = Field(
        DEFAULT_LIMITS.max_files, ge=1, description="files per message"
    )
    max_attachments_mb: Annotated[float, Env("LLMCHAT_MAX_ATTACHMENTS_MB", metavar="N")] = Field(
        DEFAULT_LIMITS.max_attachment_bytes / MB,
        gt=0,
        description="MB of attachments one request may send (each file counted every time it is sent)",
    )
    max_upload_mb: Annotated[float, Env("LLMCHAT_MAX_UPLOAD_MB", metavar="N")] = Field(
        DEFAULT_LIMITS.max_upload_bytes / MB, ge=0.001, description="MB per uploaded or imported file"
    )
    keep_uploads_hours: Annotated[float, Env("LLMCHAT_KEEP_UPLOADS_HOURS", metavar="N")] = Field(
        DEFAULT_LIMITS.keep_uploads_seconds / 3600,
        ge=1 / 60,
        description="uploads unused this long are deleted",
    )
    max_answers_per_visitor: Annotated[
        int, Env("LLMCHAT_MAX_ANSWERS_PER_VISITOR", "0 (no limit) or more", "N")
    ] = Field(
        DEFAULT_PER_VISITOR,
        ge=0,
        description="answers one visitor (browser tab, API session) may have streaming at once, and as "
        "many more waiting; the rest are refused (0 = no limit)",
    )
    max_answers_per_address: Annotated[
        int, Env("LLMCHAT_MAX_ANSWERS_PER_ADDRESS", "0 (no limit) or more", "N")
    ] = Field(
        DEFAULT_PER_ADDRESS,
        ge=0,
        description="the same for all visitors from one client address, e.g. one network behind NAT "
        "(0 = no limit)",
    )
    lang: Annotated[Literal["en", "ja"] | None, Env("LLMCHAT_LANG", metavar="en|ja")] = Field(
        None, description="language of the page for every visitor (default: each browser's language)"
    )

    @field_validator("auth")
    @classmethod
    def _user_pass_pairs(cls, value: str | None) -> str | None:
        if value:
            auth_pairs(value)
        return value

    def auth_pairs(self) -> list[tuple[str, str]] | None:
        """``--auth`` as (user, password) pairs; None when no login is required."""
        return auth_pairs(self.auth) if self.auth else None

    def visitor_limits(self) -> VisitorLimits:
        return VisitorLimits(
            max_message_chars=self.max_message_chars,
            max_files=self.max_files,
            max_attachment_bytes=int(self.max_attachments_mb * MB),
            max_upload_bytes=int(self.max_upload_mb * MB),
            keep_uploads_seconds=self.keep_uploads_hours * 3600,
        )


class AskSettings(PresetSettings):
    """``llmchat ask``'s own settings (the sampling flags come from the controls, see
    :mod:`llmchat.cli.ask`)."""

    model: Annotated[str | None, Env(metavar="NAME")] = Field(
        None,
        min_length=1,
        max_length=200,
        description="model to ask: the preset's own (the default) or one its server lists",
    )
    lang: Annotated[Literal["en", "ja"] | None, Env(metavar="en|ja")] = Field(
        None, description="language of notices (default: the terminal's, from LC_ALL, LC_MESSAGES or LANG)"
    )
    verbose: bool = Field(False, description="log what llmchat does, on stderr")


def auth_pairs(value: str) -> list[tuple[str, str]]:
    pairs = []
    for item in value.split(","):
        user, sep, password = item.strip().partition(":")
        if not sep or not user or not password:
            raise ValueError("expected USER:PASS")
        pairs.append((user, password))
    return pairs


# ----- flags from fields -------------------------------------------------------------------------


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _shown(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def _help(info: FieldInfo) -> str:
    parts = []
    if info.default_factory is None and info.default not in (None, False):
        parts.append(f"default {_shown(info.default)}")
    variable = _env(info).variable
    if variable:
        parts.append(f"env {variable}")
    text = info.description or ""
    return f"{text} ({'; '.join(parts)})" if parts else text


def add_args_from_model(parser: argparse.ArgumentParser, model: type[Settings]) -> None:
    """One flag per field of ``model``; a flag left out is absent from the parsed namespace, so
    the environment and then the field's default decide."""
    for name, info in model.model_fields.items():
        if info.annotation is bool:
            parser.add_argument(
                flag(name), dest=name, action="store_true", default=argparse.SUPPRESS, help=_help(info)
            )
            continue
        parser.add_argument(
            flag(name),
            dest=name,
            default=argparse.SUPPRESS,
            metavar=_env(info).metavar or name.upper(),
            help=_help(info),
        )


def environment_help(model: type[Settings]) -> str:
    """The variables that give the flags their defaults, for ``--help``'s epilog."""
    names = [_env(info).variable for info in model.model_fields.values()]
    return ", ".join(name for name in names if name)


# ----- loading and messages ----------------------------------------------------------------------


def expected(info: FieldInfo) -> str:
    """What a field accepts, in words, from its :class:`Env` or its type and bounds."""
    told = _env(info).expected
    if told:
        return told
    kinds = [arg for arg in get_args(info.annotation) if arg is not type(None)] or [info.annotation]
    kind = kinds[0]
    if get_origin(kind) is Literal:
        return " or ".join(str(choice) for choice in get_args(kind))
    bounds = {
        attr: getattr(item, attr)
        for item in info.metadata
        for attr in ("ge", "gt", "le")
        if getattr(item, attr, None) is not None
    }
    what = "a whole number" if kind is int else "a number" if kind is float else "text"
    if "ge" in bounds and "le" in bounds:
        return f"{what} from {_shown(bounds['ge'])} to {_shown(bounds['le'])}"
    if "ge" in bounds:
        return f"{what} of at least {_shown(bounds['ge'])}"
    if "gt" in bounds:
        return f"{what} above {_shown(bounds['gt'])}"
    return what


def _value(value: Any) -> str:
    text = str(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return text if text and not any(c.isspace() for c in text) else repr(text)


def describe(model: type[Settings], error: ValidationError, given: Mapping[str, Any]) -> str:
    """One line for everything wrong: where each bad value came from, the value, what is expected."""
    problems = []
    seen = set()
    for item in error.errors():
        name = str(item["loc"][0]) if item["loc"] else ""
        info = model.model_fields.get(name)
        if info is None or name in seen:
            continue
        seen.add(name)
        env = _env(info)
        source = flag(name) if name in given else f"{env.variable} (environment)"
        shown = "the value (not shown)" if env.secret else _value(item.get("input"))
        problems.append(f"{source}: {shown} is invalid; expected {expected(info)}")
    return " | ".join(problems) or str(error).splitlines()[0]


def load(model: type[Settings], given: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Any:
    """``model`` from the flags ``given`` (field name → value), then ``environ`` (default:
    ``os.environ``), then the defaults; UsageError with one line when a value is bad."""
    token = _ENVIRON.set(environ)
    try:
        return model(**{name: value for name, value in given.items() if name in model.model_fields})
    except ValidationError as exc:
        raise UsageError(describe(model, exc, given)) from None
    finally:
        _ENVIRON.reset(token)
