"""Keep the page's own event handlers off Gradio's by-name API routes, and strangers off the
routes Gradio leaves open with ``--auth``.

Gradio makes every event handler callable by name, private ones included:
``POST /gradio_api/call/persist`` runs the handler that writes a visitor's export files. This
ASGI middleware answers 404 for a private handler's name on those routes, so only the
documented API (``/chat``, ``/preset_values``) is callable by name.

What it cannot do: the page itself calls its handlers by number, through
``/gradio_api/queue/join`` or ``/gradio_api/run/predict`` with a ``fn_index``, and nothing
distinguishes a browser from a script that does the same. So every handler also checks and
bounds what it receives as if it came from the API (see :mod:`llmchat.web.handlers` and
:mod:`llmchat.core.conversation_file`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from starlette.requests import HTTPConnection
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

_BY_NAME = re.compile(r"/gradio_api/(?:call/v2|run|api|call)/([^/]+)(?:/[^/]*)?/?$")
# Gradio 6.31 serves its session heartbeat without checking the login (a stranger could hold
# connections open, and end another session by its hash), and FastAPI its own schema of every route.
_LOGIN_ONLY = re.compile(r"^(/gradio_api/heartbeat/.*|/openapi\.json)$")


class PrivateRouteGuard:
    """ASGI middleware: 404 for by-name calls of the handlers ``private_names()`` returns.

    The names are read per request because Gradio builds its function table at launch.
    """

    def __init__(
        self,
        app: ASGIApp,
        private_names: Callable[[], set[str]],
        logged_out: Callable[[dict[str, str]], bool] = lambda cookies: False,
    ) -> None:
        self.app = app
        self.private_names = private_names
        self.logged_out = logged_out  # True when a login is required and these cookies have none

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope.get("path", "")
            root = scope.get("root_path", "")
            if root and path.startswith(root):
                path = path[len(root) :]
            match = _BY_NAME.search(path)
            if match is not None and match.group(1) in self.private_names():
                await PlainTextResponse("Not found", status_code=404)(scope, receive, send)
                return
            if _LOGIN_ONLY.match(path) and self.logged_out(dict(HTTPConnection(scope).cookies)):
                await PlainTextResponse("Not authenticated", status_code=401)(scope, receive, send)
                return
        await self.app(scope, receive, send)
