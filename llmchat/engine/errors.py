"""Explain server failures in words a visitor understands, without ever showing a secret.

Every failure becomes a :class:`Notice` (a title and a Markdown body) that the chat shows as the
assistant's turn. Server-provided text is passed through :func:`redact` first: OpenAI, for
one, echoes part of a wrong key back in its 401 message. A server is named by
:func:`~llmchat.core.redaction.display_url` (``scheme://host:port/path``): the ``base_url`` itself
may carry a password or a token, and every visitor reads these notices.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import openai

from llmchat.core.redaction import display_url, redact_text, url_secrets
from llmchat.core.server_data import ReplyTooLarge

MAX_SAID = 1000  # characters of a server's own explanation shown in a notice


@dataclass(frozen=True)
class Notice:
    """A message from llmchat itself, shown in the chat as a titled box and never sent to the model."""

    title: str
    body: str

    def as_message(self) -> dict[str, object]:
        return {"role": "assistant", "content": self.body, "metadata": {"title": self.title}}


def redact(text: str, secrets: list[str]) -> str:
    """Remove every secret, URL credential and anything shaped like a key from text meant for
    people or logs (see :func:`llmchat.core.redaction.redact_text`)."""
    return redact_text(text, secrets)


def _is_local(base_url: str) -> bool:
    host = (urlsplit(base_url).hostname or "").lower()
    return host in ("localhost", "::1", "0.0.0.0") or host.startswith("127.")  # noqa: S104


def server_message(exc: openai.APIStatusError) -> str:
    """The server's own explanation, from an OpenAI-style error body or the raw text."""
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
        if body.get("detail"):
            detail = body["detail"]
            return detail if isinstance(detail, str) else json.dumps(detail, ensure_ascii=False)
    try:
        text = exc.response.text.strip()
    except Exception:  # the body of a streamed response may not be readable any more
        text = ""
    return text[:500] or exc.message


def unreachable(base_url: str, detail: str) -> Notice:
    server = display_url(base_url)
    if _is_local(base_url):
        hint = (
            "Is the server running? The seed's set-up starts one with:\n\n"
            "```\npython -m llama_cpp.server --model MODEL.gguf --chat_format llama-2 "
            "--n_gpu_layers 0 --port 8080\n```\n\n"
            "Or pick a preset whose server is up."
        )
    else:
        hint = "Check the address in the preset's `base_url` and this machine's network."
    return Notice("⚠️ Cannot reach the LLM server", f"Nothing answers at **{server}** ({detail}).\n\n{hint}")


def explain(
    exc: BaseException,
    *,
    base_url: str,
    model: str,
    timeout: float,
    secrets: list[str],
    models_offered: list[str] | None = None,
) -> Notice:
    """Turn an exception from the openai client (before the answer started) into a Notice."""
    server = display_url(base_url)
    secrets = [*secrets, *url_secrets(base_url)]
    if isinstance(exc, openai.APITimeoutError):
        return Notice(
            "⚠️ The server did not answer in time",
            f"**{server}** sent nothing for {timeout:g} s. It may be busy or loading a model; "
            "press Retry, or raise the preset's `timeout`.",
        )
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc.__context__
        detail = type(cause).__name__ if cause else "connection failed"
        return unreachable(base_url, redact(detail, secrets))
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        said = redact(server_message(exc), secrets)[:MAX_SAID]  # cut after redacting: no half key
        if status in (401, 403):
            return Notice(
                f"⚠️ The server refused the API key (HTTP {status})",
                f"**{server}** said: {said}\n\nSet the key in the environment variable "
                "`OPENAI_API_KEY` or in the preset's `api_key`, then press Retry.",
            )
        if status == 404:
            if models_offered:
                offered = ", ".join(f"`{m}`" for m in models_offered[:30])
                hint = f"Models this server offers: {offered}. Set one as the preset's `model`."
            else:
                hint = (
                    "Check the preset's `model`, and that `base_url` is right "
                    "(most servers want it to end in `/v1`)."
                )
            return Notice(
                "⚠️ Model or address not found (HTTP 404)",
                f"**{server}** does not know the model `{model}`: {said}\n\n{hint}",
            )
        if status == 400:
            hint = ""
            if re.search(r"context|token|too long|exceed", said, re.IGNORECASE):
                hint = (
                    "\n\nThe conversation is probably longer than the model's context window: "
                    "press Clear, switch to QA mode, or lower Max tokens."
                )
            return Notice("⚠️ The server rejected the request (HTTP 400)", f"{said}{hint}")
        if status == 429:
            retry_after = exc.response.headers.get("retry-after")
            wait = f" It asks to wait {retry_after} s." if retry_after else ""
            return Notice(
                "⚠️ Too many requests (HTTP 429)",
                f"**{server}** is busy or the quota is used up: {said}.{wait} Then press Retry.",
            )
        if status >= 500:
            return Notice(
                f"⚠️ The server failed (HTTP {status})",
                f"**{server}** had an internal error: {said}\n\nPress Retry; if it keeps failing, "
                "look at the server's log.",
            )
        return Notice(f"⚠️ The server answered HTTP {status}", said)
    if isinstance(exc, ValueError):  # e.g. json.JSONDecodeError: not an OpenAI event stream
        return not_openai(base_url)
    if isinstance(exc, openai.APIError):
        return Notice(
            "⚠️ The server reported an error",
            redact(str(exc.message or exc), secrets),
        )
    return Notice(
        "⚠️ Something went wrong",
        f"{type(exc).__name__}: {redact(str(exc), secrets)[:500]}",
    )


def not_openai(base_url: str) -> Notice:
    """The server answered, but not in the OpenAI streaming format (or with nothing at all)."""
    return Notice(
        "⚠️ Unexpected reply from the server",
        f"**{display_url(base_url)}** answered, but not with an OpenAI-style streamed answer. Is it an "
        "OpenAI-compatible endpoint? Most want a `base_url` ending in `/v1`.",
    )


def empty_stream(base_url: str) -> Notice:
    """200 OK but no answer at all: what llama-cpp-python does when the prompt exceeds n_ctx."""
    return Notice(
        "⚠️ The server sent no answer",
        f"**{display_url(base_url)}** accepted the request but sent no text and no end mark. With "
        "llama-cpp-python this happens when the conversation is longer than the model's context "
        "window: press Clear, switch to QA mode, or set the preset's `context_window`. Otherwise "
        "check that `base_url` is an OpenAI-compatible endpoint (most end in `/v1`).",
    )


def cut_off(exc: BaseException | None, tokens: int, secrets: list[str]) -> Notice:
    """The answer started but did not finish: say so, and keep what arrived."""
    if isinstance(exc, ReplyTooLarge):
        why = str(exc)
    elif exc is None:
        why = (
            "The server ended the answer without saying it was complete. It may have been "
            "interrupted by another request (llama-cpp-python does this by default) or run out "
            "of context."
        )
    elif isinstance(exc, openai.APIError) and not isinstance(exc, openai.APIConnectionError):
        why = f"The server reported an error mid-answer: {redact(str(exc.message or exc), secrets)}"
    else:
        why = f"The connection to the server broke ({type(exc).__name__})."
    return Notice(
        "✂️ The answer was cut off",
        f"{why} What arrived ({tokens} chunks) is kept above. Press Retry to ask again.",
    )
