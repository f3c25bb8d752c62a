"""What a server says about its context window, read from each place it may say it.

llmchat leaves out old turns only when it knows the window. llama.cpp's ``/props`` is read in
:mod:`llmchat.core.server_data`; this module reads the other places, each checked the same way
(strict types, the preset schema's bounds, anything else "not known"):

- a ``/v1/models`` entry's own fields: vLLM's ``max_model_len``; ``context_length`` (OpenRouter,
  Together), ``context_window`` (Groq), ``max_context_length`` (Mistral); LM Studio's
  ``/api/v0/models`` entries (they have a ``state``) only by ``loaded_context_length``, the loaded
  model's own size: their ``max_context_length`` is the trained maximum, not what it runs with;
- LiteLLM's ``/model/info``: ``data[].model_info.max_input_tokens`` of the entry whose
  ``model_name`` is the preset's model;
- Ollama's ``/api/show``: ``num_ctx`` in ``parameters`` (what the model runs with). Without it
  Ollama runs with its own default (4,096 tokens below 24 GiB of VRAM, set by
  ``OLLAMA_CONTEXT_LENGTH``) and silently drops what does not fit, so the window is taken as
  that default, capped by ``model_info``'s ``<arch>.context_length`` (the trained maximum);
- the server's own refusal of a request for its length (:func:`stated_window`): llama-server's
  ``exceed_context_size_error`` with ``n_ctx``, or a sentence stating the window, as
  llama-server, llama-cpp-python, OpenAI, vLLM, LiteLLM, SGLang and TGI word it.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, WrapValidator

from llmchat.core.server_data import MAX_MODEL_NAME, MAX_MODELS, MAX_WINDOW, MIN_WINDOW

OLLAMA_DEFAULT_WINDOW = 4096  # Ollama's documented default context below 24 GiB of VRAM
MAX_STATED_CHARS = 4000  # the part of an error message searched for a stated window
_SERVER_REPLY = ConfigDict(extra="ignore", frozen=True)


def _unknown_if_invalid(value: Any, handler: Any) -> Any:
    try:
        return handler(value)
    except ValidationError:
        return None


Window = Annotated[
    Annotated[int, Field(strict=True, ge=MIN_WINDOW, le=MAX_WINDOW)] | None,
    WrapValidator(_unknown_if_invalid),
]
Name = Annotated[
    Annotated[str, Field(strict=True, max_length=MAX_MODEL_NAME)] | None, WrapValidator(_unknown_if_invalid)
]


def in_bounds(value: object) -> int | None:
    """``value`` when it is a whole number a window can be (the preset schema's bounds)."""
    if type(value) is int and MIN_WINDOW <= value <= MAX_WINDOW:
        return value
    return None


# --- /v1/models ---------------------------------------------------------------------------------


class _ModelEntry(BaseModel):
    model_config = _SERVER_REPLY
    id: Name = None
    loaded_context_length: Window = None  # LM Studio: the loaded instance's own context
    max_model_len: Window = None  # vLLM
    context_length: Window = None  # OpenRouter, Together
    context_window: Window = None  # Groq
    max_context_length: Window = None  # LM Studio, Mistral
    state: Name = None  # LM Studio: "loaded" or "not-loaded"

    def window(self) -> int | None:
        if self.state is not None:  # LM Studio: max_context_length is the trained maximum, not
            return self.loaded_context_length  # what the loaded model runs with
        return self.max_model_len or self.context_length or self.context_window or self.max_context_length


class _ModelEntries(BaseModel):
    model_config = _SERVER_REPLY
    data: list[dict[str, Any]] = Field(max_length=MAX_MODELS)


def models_window(body: bytes, model: str) -> int | None:
    """The window a ``/v1/models`` body (or LM Studio's ``/api/v0/models``) states for ``model``."""
    try:
        entries = _ModelEntries.model_validate_json(body).data
    except ValidationError:
        return None
    for raw in entries:
        entry = _ModelEntry.model_validate(raw)
        if entry.id == model:
            return entry.window()
    return None


# --- LiteLLM /model/info ------------------------------------------------------------------------


class _LiteLLMInfo(BaseModel):
    model_config = _SERVER_REPLY
    max_input_tokens: Window = None


class _LiteLLMEntry(BaseModel):
    model_config = _SERVER_REPLY
    model_name: Name = None
    model_info: Annotated[_LiteLLMInfo | None, WrapValidator(_unknown_if_invalid)] = None


def litellm_window(body: bytes, model: str) -> int | None:
    """``max_input_tokens`` of ``model``'s entry in LiteLLM's ``/model/info`` (the smallest, when
    several deployments share the name: a request may go to any of them)."""
    try:
        entries = _ModelEntries.model_validate_json(body).data
    except ValidationError:
        return None
    found = []
    for raw in entries:
        entry = _LiteLLMEntry.model_validate(raw)
        if entry.model_name == model and entry.model_info and entry.model_info.max_input_tokens:
            found.append(entry.model_info.max_input_tokens)
    return min(found) if found else None


# --- Ollama /api/show ---------------------------------------------------------------------------


class _OllamaShow(BaseModel):
    model_config = _SERVER_REPLY
    parameters: Annotated[str | None, WrapValidator(_unknown_if_invalid)] = None
    model_info: Annotated[dict[str, Any] | None, WrapValidator(_unknown_if_invalid)] = None


_NUM_CTX = re.compile(r"^\s*num_ctx\s+(\d{1,9})\s*$", re.MULTILINE)


def ollama_window(body: bytes) -> int | None:
    """The window Ollama runs a model with, from its ``/api/show`` reply (see the module doc)."""
    try:
        show = _OllamaShow.model_validate_json(body)
    except ValidationError:
        return None
    match = _NUM_CTX.search((show.parameters or "")[:MAX_STATED_CHARS])
    if match:
        return in_bounds(int(match.group(1)))
    info = show.model_info or {}
    trained = [in_bounds(v) for k, v in list(info.items())[:2000] if k.endswith(".context_length")]
    trained_max = min((t for t in trained if t), default=None)
    if trained_max is None:
        return None
    return min(trained_max, OLLAMA_DEFAULT_WINDOW)


# --- the server's refusal -----------------------------------------------------------------------

_NUMBER = r"(\d{1,3}(?:,\d{3})+|\d{3,9})"
_STATED = [
    re.compile(p, re.IGNORECASE)
    for p in (
        # llama-server: "request (2064 tokens) exceeds the available context size (2048 tokens)"
        rf"available context size \({_NUMBER} tokens?\)",
        # OpenAI, vLLM, LiteLLM: "This model's maximum context length is 4097 tokens"
        rf"maximum context length is {_NUMBER}",
        # llama-cpp-python: "Requested tokens (5000) exceed context window of 4096"
        rf"exceed(?:s|ed)? (?:the )?context window of {_NUMBER}",
        # SGLang: "... is longer than the model's context length (4096 tokens)"
        rf"context length \({_NUMBER} tokens?\)",
        # TGI: "`inputs` tokens + `max_new_tokens` must be <= 4096"
        rf"max_new_tokens`? must be <= {_NUMBER}",
        # Mistral: "too large for model with 32768 maximum context length"
        rf"model with {_NUMBER} maximum context length",
    )
]


def stated_window(message: str, body: object = None) -> int | None:
    """The context window a server's refusal states, or ``None`` when it does not say.

    ``body`` is the error's parsed JSON: llama-server puts the window in ``error.n_ctx``.
    """
    inner = body.get("error", body) if isinstance(body, dict) else None
    if isinstance(inner, dict):
        window = in_bounds(inner.get("n_ctx"))
        if window:
            return window
    text = message[:MAX_STATED_CHARS]
    for pattern in _STATED:
        match = pattern.search(text)
        if match:
            return in_bounds(int(match.group(1).replace(",", "")))
    return None
