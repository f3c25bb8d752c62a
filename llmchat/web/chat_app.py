"""The app object: ``gr.Blocks`` with llmchat's own launch settings, and the message box.

Kept apart from the page layout (:mod:`llmchat.web.app`) because these apply however the app
is launched (the CLI, the tests, ``gradio gradio_app.py``, Spaces): ``launch`` is where Gradio
takes them.
"""

from __future__ import annotations

from typing import Any

import gradio as gr
from gradio.components.multimodal_textbox import MultimodalData
from pydantic import model_validator
from starlette.middleware import Middleware

from llmchat.core.limits import DEFAULT_LIMITS, VisitorLimits
from llmchat.web import csp, page_assets
from llmchat.web.cache_sweep import CacheSweeper
from llmchat.web.i18n import label
from llmchat.web.route_guard import PrivateRouteGuard
from llmchat.web.uploads import upload_root


class _MessageData(MultimodalData):
    """The message box's data, which also accepts a plain string (text-only API clients)."""

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        return {"text": value, "files": []} if isinstance(value, str) else value


def message_box(**kwargs: Any) -> gr.MultimodalTextbox:
    """Gradio's MultimodalTextbox whose data model also takes a plain string, so that
    ``client.predict("hello", api_name="/chat")`` goes on working as before attachments.

    The data model is set on the instance: subclassing a component would make Gradio write a
    ``.pyi`` stub next to this module at import time.
    """
    box = gr.MultimodalTextbox(**kwargs)
    box.data_model = _MessageData
    return box


class ChatApp(gr.Blocks):
    """``gr.Blocks`` that brings its own launch settings, whoever launches it (the CLI, the
    tests, ``gradio gradio_app.py``, Spaces): translations, the Content-Security-Policy
    (:mod:`llmchat.web.csp`), the upload size limit, the guard of the page's private handlers, and
    the sweep of unused uploads."""

    llmchat_i18n: gr.I18n | None = None
    llmchat_limits: VisitorLimits = DEFAULT_LIMITS
    llmchat_sweeper: CacheSweeper | None = None
    llmchat_head: str = ""

    def page_only_names(self) -> set[str]:
        """API names of the handlers only the page itself calls: every one not in the API docs
        (ours are private; ChatInterface's own are "undocumented")."""
        return {str(fn.api_name) for fn in self.fns.values() if fn.api_visibility != "public"}

    def logged_out(self, cookies: dict[str, str]) -> bool:
        """True when the app requires a login (``--auth``) and these cookies hold none; the same
        check as Gradio's own ``login_check``."""
        app = getattr(self, "server_app", None)
        if app is None or app.auth is None or app.auth_dependency is not None:
            return False
        token = cookies.get(f"access-token-{app.cookie_id}") or cookies.get(
            f"access-token-unsecure-{app.cookie_id}"
        )
        return app.tokens.get(token) is None

    def launch(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("i18n", self.llmchat_i18n)
        kwargs.setdefault("theme", page_assets.theme())
        if self.llmchat_head:
            head = kwargs.get("head")
            kwargs["head"] = self.llmchat_head if not head else f"{self.llmchat_head}\n{head}"
        kwargs.setdefault("max_file_size", self.llmchat_limits.max_upload_bytes)
        # Gradio's run history page (/gradio_api/runs) records API calls in the browser: a chat
        # keeps its own conversations, so it is off.
        kwargs.setdefault("run_history", False)
        app_kwargs = dict(kwargs.get("app_kwargs") or {})
        guard = Middleware(PrivateRouteGuard, private_names=self.page_only_names, logged_out=self.logged_out)
        app_kwargs["middleware"] = [*app_kwargs.get("middleware", []), guard]
        kwargs["app_kwargs"] = app_kwargs
        if self.llmchat_sweeper is None:
            self.llmchat_sweeper = CacheSweeper(upload_root(), self.llmchat_limits.keep_uploads_seconds)
        self.llmchat_sweeper.start()
        return super().launch(*args, **csp.launch_options(kwargs))

    def close(self, *args: Any, **kwargs: Any) -> Any:
        if self.llmchat_sweeper is not None:
            self.llmchat_sweeper.stop()
        return super().close(*args, **kwargs)


def problems_markdown(problems: list[str]) -> str:
    """The presets that could not be loaded, one line each (already free of secrets)."""
    if not problems:
        return ""
    lines = "\n".join(f"- `{line}`" for line in problems)
    return f"{label('presets_skipped')}\n{lines}"
