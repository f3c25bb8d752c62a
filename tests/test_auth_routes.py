"""With ``--auth``, every route answers only a logged-in visitor, except the login page's own needs.

The routes come from the app itself (``/gradio_api/openapi.json`` and the server's route table), so
a route a Gradio upgrade adds is checked too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from llmchat.core.presets import load_catalog
from llmchat.ports import free_port
from llmchat.testing.openai_server import OpenAITestServer
from llmchat.web.app import build_demo

# What the login page itself needs before anyone has logged in: the page shell, its scripts and
# styles, icons, the login form's own endpoints (token and user answer null to a stranger);
# Gradio's app_id (a random number clients use to tell one launch from the next); startup-events
# (launch() itself calls it once; later calls do nothing). None carries the app's config or data.
PUBLIC = re.compile(
    r"^/(|login/?|logout|static/.*|assets/.*|svelte/.*|favicon\.ico|(gradio_api/)?theme\.css|robots\.txt"
    r"|manifest\.json|pwa_icon.*|gradio_api/deep_link|gradio_api/app_id/?|gradio_api/custom_component/.*|gradio_api/startup-events|gradio_api/(token|user)/?)$"
)


@pytest.fixture(scope="module")
def protected(config_dir: Path, llm_server: OpenAITestServer) -> Iterator[tuple[str, object]]:
    demo = build_demo(load_catalog(config_dir, environ={}), "test-chat")
    _, url, _ = demo.launch(
        server_name="127.0.0.1",
        server_port=free_port(),
        prevent_thread_lock=True,
        quiet=True,
        auth=[("ann", "s3cret")],
    )
    yield url, demo
    demo.close()


def every_route(app: object) -> set[tuple[str, str]]:
    """(method, path) of every route, in mounted sub-applications and routers too."""
    found: set[tuple[str, str]] = set()
    for route in getattr(app, "routes", []):
        path = getattr(route, "path", "")
        inner = getattr(route, "original_router", None) or getattr(route, "app", None)
        if getattr(route, "methods", None):
            found |= {(method, path) for method in route.methods if method != "HEAD"}
        elif inner is not None and inner is not app:
            # An included router (FastAPI keeps its prefix in the include context) or a mount.
            context = getattr(route, "include_context", None)
            prefix = getattr(context, "prefix", "") or path or ""
            found |= {(m, prefix + p) for m, p in every_route(inner)}
    return found


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_route_needs_a_login(protected: tuple[str, object]) -> None:
    url, demo = protected
    visitor = httpx.Client(timeout=10)
    assert visitor.post(url + "login", data={"username": "ann", "password": "s3cret"}).status_code == 200
    spec = visitor.get(url + "gradio_api/openapi.json").json()
    routes = {(method.upper(), path) for path, item in spec["paths"].items() for method in item}
    routes |= every_route(demo.app)  # type: ignore[attr-defined]
    assert len(routes) > 30
    stranger = httpx.Client(timeout=10)
    checked = []
    for method, path in sorted(routes):
        if PUBLIC.match(path):
            continue
        response = stranger.request(method, url.rstrip("/") + concrete(path), json={"data": ["hi"]})
        # 401/403 from the login check; 4xx where Gradio answers before it (unknown stream, bad
        # parameter): either way nothing is served to a stranger.
        assert 400 <= response.status_code < 500, (method, path, response.status_code)
        checked.append(path)
    assert "/gradio_api/call/v2/chat" in checked and "/config" in checked and "/gradio_api/upload" in checked
    # The logged-in visitor does get through.
    assert visitor.get(url + "config").status_code == 200
