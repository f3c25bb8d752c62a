"""The page's Content-Security-Policy: the browser itself refuses to load images, media, objects
or frames from another origin, and to submit a form anywhere.

:mod:`llmchat.core.safe_markdown` already keeps such things out of what the chat shows; this is the
second wall, for whatever a future Gradio or a gap in that rewrite lets through. It restricts only
what chat content could abuse: scripts, styles and fonts keep Gradio's own rules (its theme loads
fonts from Google Fonts; Gradio's login posts with ``fetch``, not a form).

Sent two ways, because Gradio serves the page in two ways: as an HTTP header on every response of
the app (its own page, files, API), and as a ``<meta http-equiv>`` in the page's head, which also
holds when Gradio's Node server renders the page (SSR mode, e.g. on some Spaces). Both come from
:func:`launch_options`, which :class:`llmchat.web.app.ChatApp` applies to every ``launch()``: our CLI,
the tests, ``gradio gradio_app.py`` and Spaces all go through it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.middleware import Middleware

POLICY = (
    "img-src 'self' data: blob:; media-src 'self' data: blob:; object-src 'none'; "
    "frame-src 'none'; form-action 'none'; base-uri 'self'"
)
META = f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">'

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class ContentSecurityPolicy:
    """ASGI middleware adding :data:`POLICY` to every HTTP response that has none of its own."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                if not any(name.lower() == b"content-security-policy" for name, _ in headers):
                    headers.append((b"content-security-policy", POLICY.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_policy)


def launch_options(kwargs: dict[str, Any]) -> dict[str, Any]:
    """``launch()`` keyword arguments with the policy added (the caller's own head and app
    options are kept)."""
    head = kwargs.get("head")
    kwargs["head"] = META if not head else f"{META}\n{head}"
    app_kwargs = dict(kwargs.get("app_kwargs") or {})
    app_kwargs["middleware"] = [*(app_kwargs.get("middleware") or []), Middleware(ContentSecurityPolicy)]
    kwargs["app_kwargs"] = app_kwargs
    return kwargs
