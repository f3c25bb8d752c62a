"""Every control of a chat turn, described once.

A control is a value that shapes a turn: the mode, the system prompt, each sampling value, the
seed, whether stats are shown, and the server-specific sampling keys a preset may set. Its one
description here says its type, bounds, default (the seed tutorial's value), label, kind of
widget, where it is kept and how it is sent. Everything else is derived from :data:`CONTROLS`:

- the preset schema's fields for these keys (:mod:`llmchat.core.presets`);
- the widgets on the page and the API's parameter names and order (:mod:`llmchat.web`);
- the check of a visitor's values at send time, with the preset's own limits (:func:`check`);
- the request body (:func:`request_fields`);
- what browser storage, export and import keep (:mod:`llmchat.core.conversation_file`).

Adding a control is one entry here plus its label in the catalogue (``llmchat/i18n/labels.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    create_model,
)

Kind = Literal[
    "number", "integer", "text", "seed", "flag", "choice", "stop", "optional_number", "optional_integer"
]
Widget = Literal["slider", "textbox", "checkbox", "radio"]
# How a value reaches the server: a key of the request body, a key of llama.cpp/vLLM/Ollama's
# extra body, or not at all (it changes what llmchat does, not what the model does).
Send = Literal["body", "extra", "none"]

SEED_SYSTEM_PROMPT = "あなたは日本語の優秀なアシスタントです。"  # the seed's, typo fixed
Number = StrictFloat | StrictInt


@dataclass(frozen=True)
class Control:
    """One control. ``name`` is its preset key, API parameter name and stored key alike."""

    name: str
    kind: Kind
    default: Any
    send: Send = "body"
    widget: Widget | None = None  # None: set by presets only, not shown on the page nor in the API
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    max_length: int | None = None
    choices: tuple[str, ...] = ()
    # The preset field that lowers ``maximum`` for that preset (max_tokens ≤ max_tokens_limit).
    limited_by: str | None = None
    stored: Literal["top", "parameters"] = "parameters"  # where a conversation file keeps it
    placement: Literal["toolbar", "parameters"] = "parameters"  # the page: above the chat, or tucked away
    lines: int = 1  # text boxes

    @property
    def label(self) -> str:
        """The catalogue key of its label (and of its placeholder, with ``_placeholder``)."""
        return self.name

    def annotation(self) -> Any:
        """The pydantic type of this control's value, bounds included."""
        bounds: dict[str, Any] = {}
        if self.minimum is not None:
            bounds["ge"] = self.minimum
        if self.maximum is not None:
            bounds["le"] = self.maximum
        if self.max_length is not None:
            bounds["max_length"] = self.max_length
        base: Any = {
            "number": Number,
            "optional_number": Number,
            "optional_integer": StrictInt,
            "integer": StrictInt,
            "seed": StrictInt,
            "text": StrictStr,
            "flag": StrictBool,
            "choice": Literal[self.choices] if self.choices else StrictStr,  # type: ignore[valid-type]
            "stop": list[Annotated[StrictStr, Field(min_length=1)]],
        }[self.kind]
        typed = Annotated[base, Field(**bounds)] if bounds else base
        return typed | None if self.kind in ("seed", "optional_number", "optional_integer") else typed

    def field(self) -> tuple[Any, Any]:
        """``(annotation, default)`` for :func:`pydantic.create_model`."""
        default = list(self.default) if isinstance(self.default, tuple) else self.default
        return self.annotation(), default

    def from_visitor(self, value: Any) -> Any:
        """A value as a widget or an API client sends it, in this control's own type.

        Sliders send whole numbers as floats (1024.0); the Seed box holds text, empty for none.
        Anything else is left for the schema to judge, so its message names the bad value.
        """
        if self.kind == "integer" and isinstance(value, float) and value.is_integer():
            return int(value)
        if self.kind == "seed":
            if isinstance(value, str):
                value = value.strip()
                if not value:
                    return None
                try:
                    return int(value)
                except ValueError:
                    return value
            if isinstance(value, float) and value.is_integer():
                return int(value)
        if self.kind == "text" and value is None:
            return ""
        return value

    def to_widget(self, value: Any) -> Any:
        """The value as its widget shows it (the Seed box: text)."""
        if self.kind == "seed":
            return "" if value is None else str(value)
        return value


CONTROLS: tuple[Control, ...] = (
    Control(
        "mode",
        "choice",
        "chat",
        send="none",
        widget="radio",
        choices=("chat", "qa"),
        stored="top",
        placement="toolbar",
    ),
    Control(
        "system_prompt",
        "text",
        SEED_SYSTEM_PROMPT,
        send="none",
        widget="textbox",
        max_length=100_000,
        lines=2,
    ),
    Control("temperature", "number", 0.0, widget="slider", minimum=0.0, maximum=2.0, step=0.01),
    Control("top_p", "number", 0.0, widget="slider", minimum=0.0, maximum=1.0, step=0.01),
    Control(
        "max_tokens",
        "integer",
        1024,
        widget="slider",
        minimum=1,
        maximum=1_048_576,
        step=1,
        limited_by="max_tokens_limit",
    ),
    Control("frequency_penalty", "number", 0.0, widget="slider", minimum=-2.0, maximum=2.0, step=0.01),
    Control("presence_penalty", "number", 0.0, widget="slider", minimum=-2.0, maximum=2.0, step=0.01),
    Control("seed", "seed", 0, widget="textbox", minimum=-(2**63), maximum=2**63 - 1),
    Control("show_stats", "flag", True, send="none", widget="checkbox"),
    # Set by presets only: stop sequences and the server-specific sampling keys.
    Control("stop", "stop", (), max_length=4),
    Control("top_k", "optional_integer", None, send="extra", minimum=0, maximum=100_000),
    Control("min_p", "optional_number", None, send="extra", minimum=0.0, maximum=1.0),
    Control("repeat_penalty", "optional_number", None, send="extra", minimum=0.0, maximum=10.0),
    # What happens to older turns that no longer fit the context window: left out, or left out
    # with a summary of them sent in their place (llmchat/engine/summary.py).
    Control("overflow", "choice", "drop", send="none", choices=("drop", "summarize")),
)
BY_NAME: Mapping[str, Control] = {control.name: control for control in CONTROLS}
# The controls a visitor sets (page widgets and API parameters), in the API's order.
VISITOR_CONTROLS: tuple[Control, ...] = tuple(c for c in CONTROLS if c.widget is not None)

ControlValues: type[BaseModel] = create_model(  # type: ignore[call-overload]
    "ControlValues",
    __config__=ConfigDict(extra="forbid", frozen=True),
    **{control.name: control.field() for control in CONTROLS},
)
ControlValues.__doc__ = "Every control's value for one turn, checked against the controls' bounds."


class ControlError(ValueError):
    """Values that cannot be sent. ``problems`` are ``(name, value, reason, expected)`` tuples;
    ``str()`` is one line naming each key, its value and what it accepts."""

    def __init__(self, problems: list[tuple[str, Any, str, str]], where: str = "Parameters") -> None:
        parts = []
        for name, value, reason, accepts in problems:
            shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
            parts.append(
                f"key '{name}' has value {shown}: {reason}" + (f"; expected {accepts}" if accepts else "")
            )
        super().__init__(f"{where}: " + "; ".join(parts))
        self.problems = problems


def expected(control: Control, maximum: float | None = None) -> str:
    """What a control accepts, in words (for messages about a bad value)."""
    top = control.maximum if maximum is None else maximum
    if control.kind == "seed":
        return "a whole number, or nothing for a random seed"
    if control.kind == "choice":
        return " or ".join(control.choices)
    if (
        control.kind in ("number", "optional_number", "integer", "optional_integer")
        and control.minimum is not None
    ):
        integer = control.kind in ("integer", "optional_integer")
        what = "a whole number" if integer else "a number"
        return f"{what} from {control.minimum!r} to {top!r}"
    if control.kind == "flag":
        return "true or false"
    if control.kind == "stop":
        return f"a list of at most {control.max_length} non-empty strings"
    return "text"


def check(
    values: Mapping[str, Any], limits: Mapping[str, int] | None = None, preset: str | None = None
) -> BaseModel:
    """Values from a visitor (page or API) or a file, as :data:`ControlValues`, or ControlError.

    ``limits`` are the preset's own maximums by preset field (``max_tokens_limit``), which lower a
    control's ``maximum``: an out-of-range value never reaches the server. ``preset`` names it.
    """
    given = {name: BY_NAME[name].from_visitor(value) for name, value in values.items() if name in BY_NAME}
    unknown = sorted(set(values) - set(BY_NAME))
    problems: list[tuple[str, Any, str, str]] = [(n, values[n], "unknown control", "") for n in unknown]
    try:
        checked = ControlValues.model_validate(given)
    except ValidationError as exc:
        seen: set[str] = set()
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "?"
            if name in seen or name not in BY_NAME:
                continue
            seen.add(name)
            reason = error["msg"].removeprefix("Value error, ")
            problems.append((name, given.get(name), reason, expected(BY_NAME[name])))
        raise ControlError(problems) from None
    for control in CONTROLS:
        if control.limited_by and limits and control.limited_by in limits:
            top = limits[control.limited_by]
            value = getattr(checked, control.name)
            if value is not None and value > top:
                where = f"preset '{preset}'" if preset else "this preset"
                problems.append((control.name, value, f"above the limit of {where}", expected(control, top)))
    if problems:
        raise ControlError(problems)
    return checked


def request_fields(values: BaseModel) -> dict[str, Any]:
    """The request body's sampling keys, with ``extra_body`` for the server-specific ones."""
    body: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for control in CONTROLS:
        value = getattr(values, control.name)
        if control.send == "none" or value is None or value == []:
            continue
        (body if control.send == "body" else extra)[control.name] = value
    if extra:
        body["extra_body"] = extra
    return body
