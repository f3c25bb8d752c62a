"""The project's OpenAI test server in a process of its own, remote-controlled over HTTP.

``benchmarks.stream_bench`` runs the fake LLM server as a child process so that it does not share
a GIL (or a core's time slices) with the clients being timed. Everything under ``/v1`` is
``llmchat.testing.openai_server.OpenAITestServer`` unchanged; three extra routes let the benchmark
script it and read its clock:

- ``GET /bench/streams``: every streamed response so far (``started_at``/``ended_at`` are
  ``time.monotonic()`` values; on Linux that clock is shared by all processes, so the benchmark
  can compare them with its own),
- ``POST /bench/enqueue``: a JSON object of ``Behavior`` fields, used by the next chat request
  that carries no ``[[test ...]]`` directive,
- ``POST /bench/clear``: forget requests and streams,
- ``GET /bench/requests``: every request so far, as ``[method, path, client port]`` (one port is
  one connection, so the benchmark can count the connections a client opened),
- ``POST /bench/configure``: ``{"n_ctx": int | null, "tokenizer": str | null}``, llama.cpp's
  ``/props`` and tokenizer endpoint on or off (off at start, as for the test server).

The first line on stdout is the port. The server stops when stdin closes (so it never outlives
the benchmark) or on SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import signal
import sys
import threading

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from llmchat.testing.openai_server import Behavior, OpenAITestServer


class BenchLLMServer(OpenAITestServer):
    async def _app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/bench/"):
            response = await self._bench(Request(scope, receive), scope["path"])
            await response(scope, receive, send)
            return
        await super()._app(scope, receive, send)

    async def _bench(self, request: Request, path: str) -> JSONResponse:
        if path == "/bench/streams":
            with self._cond:
                records = [dataclasses.asdict(s) for s in self.streams]
            return JSONResponse(records)
        if path == "/bench/enqueue" and request.method == "POST":
            self.enqueue(Behavior(**json.loads(await request.body())))
            return JSONResponse({"ok": True})
        if path == "/bench/clear" and request.method == "POST":
            self.clear()
            return JSONResponse({"ok": True})
        if path == "/bench/requests":
            with self._cond:
                seen = [[r.method, r.path, r.client[1] if r.client else None] for r in self.requests]
            return JSONResponse(seen)
        if path == "/bench/configure" and request.method == "POST":
            settings = json.loads(await request.body())
            with self._cond:
                self.n_ctx, self.tokenizer = settings.get("n_ctx"), settings.get("tokenizer")
            return JSONResponse({"ok": True})
        return JSONResponse({"error": f"no such bench route {path}"}, status_code=404)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    server = BenchLLMServer(port=args.port).start()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())

    def watch_stdin() -> None:
        sys.stdin.read()  # returns at EOF: the benchmark exited or closed the pipe
        done.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    print(server.port, flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        done.wait()
    server.stop()


if __name__ == "__main__":
    main()
