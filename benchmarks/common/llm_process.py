"""The fake LLM server (``benchmarks.llm_server``) in a child process, and its remote control.

A process of its own so that it does not share a GIL (or a core's time slices) with the clients
being timed; its stream records are read over HTTP.
"""

from __future__ import annotations

import contextlib
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks.common.paths import PYTHON, ROOT


class LLMServer:
    """``benchmarks.llm_server`` in a child process, plus its remote control."""

    def __init__(self, log_path: Path) -> None:
        self._log = open(log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [PYTHON, "-m", "benchmarks.llm_server", "--port", "0"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(self.proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(30)
        if not line or not line[0].strip().isdigit():
            self.stop()
            raise RuntimeError(f"LLM test server did not start; see {log_path}")
        self.port = int(line[0])
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=10)

    def streams(self) -> list[dict[str, Any]]:
        return self.http.get("/bench/streams").json()

    def enqueue(self, **behavior: Any) -> None:
        self.http.post("/bench/enqueue", json=behavior).raise_for_status()

    def clear(self) -> None:
        self.http.post("/bench/clear").raise_for_status()

    def requests(self) -> list[tuple[str, str, int | None]]:
        """Every request since the last ``clear()``: (method, path, client port)."""
        return [tuple(r) for r in self.http.get("/bench/requests").json()]

    def configure(self, n_ctx: int | None = None, tokenizer: str | None = None) -> None:
        """Serve llama.cpp's ``/props`` (with ``n_ctx``) and a tokenizer endpoint, or not (None)."""
        self.http.post("/bench/configure", json={"n_ctx": n_ctx, "tokenizer": tokenizer}).raise_for_status()

    def last_stream(self, timeout: float = 10.0) -> dict[str, Any]:
        """The latest stream once it has ended (its ``ended_at`` is the last chunk's time)."""
        deadline = time.monotonic() + timeout
        while True:
            streams = self.streams()
            if streams and streams[-1]["ended_at"] is not None:
                return streams[-1]
            if time.monotonic() > deadline:
                raise TimeoutError(f"no ended stream after {timeout}s: {streams[-1:]}")
            time.sleep(0.02)

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.http.close()
        if self.proc.poll() is None:
            with contextlib.suppress(Exception):
                self.proc.stdin.close()  # the server exits when its stdin closes
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()
