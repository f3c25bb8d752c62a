"""Turn server failures into notices a visitor understands, without ever showing a secret.

Every failure becomes a :class:`~llmchat.core.notices.Notice` (a kind and its values; the front
end words it). Server-provided text is passed through :func:`redact` first: OpenAI, for one,
echoes part of a wrong key back in its 401 message. A server is named by
:func:`~llmchat.core.redaction.display_url` (``scheme://host:port/path``): the ``base_url`` itself
may carry a password or a token, and every visitor reads these notices.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import openai

from llmchat.core.notices import Notice
from llmchat.core.redaction import display_url, redact_text, url_secrets
from llmchat.core.server_data import ReplyTooLarge

MAX_SAID = 1000  # characters of a server's own explanation shown in a notice


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


_CONTEXT_WORDS = re.compile(r"context|token|too long|exceed", re.IGNORECASE)
_IMAGE_WORDS = re.compile(r"image|vision|multi-?modal", re.IGNORECASE)


def unreachable(base_url: str, detail: str | Notice) -> Notice:
    hint = Notice("hint_start_server") if _is_local(base_url) else Notice("hint_check_address")
    return Notice("unreachable", server=display_url(base_url), detail=detail, hint=hint)


def explain(
    exc: BaseException,
    *,
    base_url: str,
    model: str,
    timeout: float,
    secrets: list[str],
    models_offered: list[str] | None = None,
    sent_images: bool = False,
) -> Notice:
    """Turn an exception from the openai client (before the answer started) into a Notice.

    ``sent_images``: the request carried images, so a 400 about images is about them.
    """
    server = display_url(base_url)
    secrets = [*secrets, *url_secrets(base_url)]
    if isinstance(exc, openai.APITimeoutError):
        return Notice("timeout", server=server, seconds=timeout)
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc.__context__
        return unreachable(
            base_url, redact(type(cause).__name__, secrets) if cause else Notice("connection_failed")
        )
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        said = redact(server_message(exc), secrets)[:MAX_SAID]  # cut after redacting: no half key
        if status in (401, 403):
            return Notice("key_refused", server=server, status=status, said=said)
        if status == 404:
            if models_offered:
                hint = Notice("hint_models_offered", models=", ".join(f"`{m}`" for m in models_offered[:30]))
            else:
                hint = Notice("hint_check_model")
            return Notice("not_found", server=server, model=model, said=said, hint=hint)
        if status == 400:
            if sent_images and _IMAGE_WORDS.search(said):
                return Notice("images_refused", said=said)
            kind = "bad_request_context" if _CONTEXT_WORDS.search(said) else "bad_request"
            return Notice(kind, said=said)
        if status == 429:
            retry_after = exc.response.headers.get("retry-after")
            if retry_after:
                return Notice("rate_limited_wait", server=server, said=said, seconds=retry_after[:20])
            return Notice("rate_limited", server=server, said=said)
        if status >= 500:
            return Notice("server_failed", server=server, status=status, said=said)
        return Notice("http_status", status=status, said=said)
    if isinstance(exc, ValueError):  # e.g. json.JSONDecodeError: not an OpenAI event stream
        return not_openai(base_url)
    if isinstance(exc, openai.APIError):
        return Notice("api_error", said=redact(str(exc.message or exc), secrets))
    return Notice("unexpected", error=type(exc).__name__, said=redact(str(exc), secrets)[:500])


def not_openai(base_url: str) -> Notice:
    """The server answered, but not in the OpenAI streaming format (or with nothing at all)."""
    return Notice("not_openai", server=display_url(base_url))


def empty_stream(base_url: str) -> Notice:
    """200 OK but no answer at all: what llama-cpp-python does when the prompt exceeds n_ctx."""
    return Notice("empty_stream", server=display_url(base_url))


def cut_off(exc: BaseException | None, chunks: int, secrets: list[str]) -> Notice:
    """The answer started but did not finish: say so, and keep what arrived."""
    why: Notice
    if isinstance(exc, ReplyTooLarge):
        why = exc.reason
    elif exc is None:
        why = Notice("why_no_finish")
    elif isinstance(exc, openai.APIError) and not isinstance(exc, openai.APIConnectionError):
        why = Notice("why_error_mid_answer", said=redact(str(exc.message or exc), secrets))
    else:
        why = Notice("why_connection_broke", error=type(exc).__name__)
    return Notice("cut_off", why=why, chunks=chunks)
