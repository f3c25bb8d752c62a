"""Everything llmchat reads from an LLM server, checked in one place and bounded in size.

The server behind a preset may be broken or hostile: ``/props`` may be a list, a token count a
string, a model id an object, an error page 30 MB long. Each reply is read here into small typed
values, and anything of the wrong shape or type becomes "not known" (``None``): that feature
degrades (no stats figure, no context window, an estimated token count, no model list) and the
answer itself is never lost to it. The models ignore extra fields (servers add many) but are
strict about the ones llmchat uses: no ``"4096"`` for 4096, no ``true`` for 1.

How much is read is bounded too: :func:`read_body` stops past a limit instead of holding a
reply whole, and :class:`ReplyTooLarge` says so in words the chat can show.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any, Protocol

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, WrapValidator

from llmchat.core.notices import Notice

MAX_EVENT_BYTES = 1_048_576  # one line of the event stream, and one event's data
MAX_ANSWER_CHARS = 2_000_000  # answer + thinking of one reply
MAX_BODY_BYTES = 8_388_608  # a whole reply read at once (a model list, a non-streamed answer)
MAX_PROBE_BYTES = 1_048_576  # llama.cpp's /props (its chat template is the big part)
MAX_ERROR_BYTES = 65_536  # an HTTP error's body: enough for any real explanation
MAX_MODELS = 5_000  # entries in a model list (OpenRouter lists a few hundred)
MAX_MODEL_NAME = 200  # the preset schema's own bound for `model`
MAX_COUNT = 1_000_000_000  # token counts
MAX_RATE = 10_000_000.0  # tokens per second
MIN_WINDOW, MAX_WINDOW = 256, 10_000_000  # the preset schema's bounds for `context_window`
TOKENIZER_SLACK = 64  # special tokens a tokenizer may add beyond one token per byte of text


class ReplyTooLarge(ValueError):
    """The server sent more than llmchat reads; ``reason`` says what (for the chat and the log).

    A ``ValueError`` like the other "not an OpenAI reply" failures, so it is never retried.
    """

    def __init__(self, kind: str, limit: int) -> None:
        super().__init__(f"{kind} (limit {limit:,})")
        self.reason = Notice(kind, limit=limit)


def line_too_long() -> ReplyTooLarge:
    return ReplyTooLarge("why_line_too_long", MAX_EVENT_BYTES)


def answer_too_long() -> ReplyTooLarge:
    return ReplyTooLarge("why_answer_too_long", MAX_ANSWER_CHARS)


def body_too_large(limit: int) -> ReplyTooLarge:
    return ReplyTooLarge("why_reply_too_large", limit)


class _Body(Protocol):
    def aiter_bytes(self) -> AsyncIterator[bytes]: ...


async def read_body(response: _Body, limit: int) -> bytes:
    """The body of an ``httpx`` or ``httpx2`` response read as a stream; never more than ``limit``.

    Raises :class:`ReplyTooLarge` as soon as the body passes ``limit`` bytes (after decoding).
    """
    parts: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise body_too_large(limit)
        parts.append(chunk)
    return b"".join(parts)


def _unknown_if_invalid(value: Any, handler: Any) -> Any:
    """One wrong field is ``None``; the others of the same reply are still used."""
    try:
        return handler(value)
    except ValidationError:
        return None


Count = Annotated[
    Annotated[int, Field(strict=True, ge=0, le=MAX_COUNT)] | None, WrapValidator(_unknown_if_invalid)
]
Rate = Annotated[
    Annotated[float, Field(strict=True, gt=0, le=MAX_RATE, allow_inf_nan=False)] | None,
    WrapValidator(_unknown_if_invalid),
]
_SERVER_REPLY = ConfigDict(extra="ignore", frozen=True)


class Usage(BaseModel):
    """The figures of OpenAI's ``usage`` object that the stats line shows."""

    model_config = _SERVER_REPLY
    prompt_tokens: Count = None
    completion_tokens: Count = None


class Timings(BaseModel):
    """The figures of llama.cpp's ``timings`` object (in its last chunk) that the stats line shows."""

    model_config = _SERVER_REPLY
    prompt_n: Count = None
    predicted_n: Count = None
    predicted_per_second: Rate = None


def read_usage(raw: object) -> Usage | None:
    """A stream's ``usage``; ``None`` when it is not an object."""
    return Usage.model_validate(raw) if isinstance(raw, dict) else None


def read_timings(raw: object) -> Timings | None:
    """A stream's ``timings``; ``None`` when it is not an object."""
    return Timings.model_validate(raw) if isinstance(raw, dict) else None


Window = Annotated[int, Field(strict=True, ge=MIN_WINDOW, le=MAX_WINDOW)]


class _GenerationSettings(BaseModel):
    model_config = _SERVER_REPLY
    n_ctx: Window | None = None


class _Props(BaseModel):
    """llama.cpp's ``/props``: the context window is ``default_generation_settings.n_ctx``."""

    model_config = _SERVER_REPLY
    default_generation_settings: _GenerationSettings | None = None
    n_ctx: Window | None = None  # older servers


def context_window(body: bytes) -> int | None:
    """The context window a ``/props`` body states, or ``None`` (not JSON, wrong shape or type)."""
    try:
        props = _Props.model_validate_json(body)
    except ValidationError:
        return None
    settings = props.default_generation_settings
    return (settings.n_ctx if settings else None) or props.n_ctx


class _Tokens(BaseModel):
    """``/tokenize`` (llama.cpp) and ``/extras/tokenize`` (llama-cpp-python): ``{"tokens": [ids]}``."""

    model_config = _SERVER_REPLY
    tokens: list[Annotated[int, Field(strict=True)]]


def tokenize_limit(text: str) -> int:
    """Bytes a tokenizer's reply for ``text`` may take: a few per token, one token per byte at most."""
    return 4096 + 16 * len(text.encode("utf-8"))


def token_count(body: bytes, text: str) -> int | None:
    """How many tokens the tokenizer's reply lists for ``text``, or ``None`` if it is not believable.

    No tokenizer gives more tokens than the text has bytes (plus a few special ones): a reply
    that does would make llmchat leave out turns, or refuse a message, for nothing.
    """
    try:
        tokens = _Tokens.model_validate_json(body).tokens
    except ValidationError:
        return None
    if len(tokens) > len(text.encode("utf-8")) + TOKENIZER_SLACK:
        return None
    return len(tokens)


def _printable(name: str) -> str:
    if not name.isprintable():
        raise ValueError("not printable")
    return name


ModelName = Annotated[
    str, Field(strict=True, min_length=1, max_length=MAX_MODEL_NAME), AfterValidator(_printable)
]


class _Model(BaseModel):
    model_config = _SERVER_REPLY
    id: ModelName


class _ModelList(BaseModel):
    model_config = _SERVER_REPLY
    data: list[_Model] = Field(max_length=MAX_MODELS)


def model_ids(body: bytes) -> list[str] | None:
    """The ids of a ``/v1/models`` body, or ``None`` when any part of it has the wrong shape.

    A list that is not exactly OpenAI's shape is not shown at all: a half-right list would offer
    names the server may not mean.
    """
    try:
        listing = _ModelList.model_validate_json(body)
    except ValidationError:
        return None
    return [model.id for model in listing.data]


def error_message(raw: object) -> str:
    """The message of an ``error`` event, bounded (it ends up in a notice)."""
    message = raw.get("message") if isinstance(raw, dict) else None
    if not isinstance(message, str) or not message:
        return "An error occurred during streaming"
    return message[:1000]


def finish_reason(raw: object) -> str | None:
    """A choice's ``finish_reason`` when it is a short string ("stop", "length"...), else ``None``."""
    return raw if isinstance(raw, str) and 0 < len(raw) <= 64 else None


class _CompletionMessage(BaseModel):
    model_config = _SERVER_REPLY
    content: Annotated[
        Annotated[str, Field(strict=True, max_length=MAX_ANSWER_CHARS)] | None,
        WrapValidator(_unknown_if_invalid),
    ] = None


class _CompletionChoice(BaseModel):
    model_config = _SERVER_REPLY
    message: _CompletionMessage | None = None


class _Completion(BaseModel):
    model_config = _SERVER_REPLY
    choices: list[_CompletionChoice] = Field(max_length=64)


def completion_text(body: bytes) -> str | None:
    """The answer of a whole (non-streamed) ``chat.completion``, or ``None`` when it has none."""
    try:
        choices = _Completion.model_validate_json(body).choices
    except ValidationError:
        return None
    message = choices[0].message if choices else None
    return message.content if message else None
