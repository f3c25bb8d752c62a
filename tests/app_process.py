"""The app as a separate process, started the way a user starts it: ``python gradio_app.py ...``.

For what an in-process app cannot show: its memory, its logs, its exit.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from llmchat.ports import free_port

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class AppProcess:
    proc: subprocess.Popen[str]
    url: str
    output: str = ""  # everything it printed, once it has stopped

    def peak_rss_mb(self) -> float:
        """The process's peak resident memory so far (Linux: VmHWM)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmHWM")


@contextmanager
def app_process(
    *args: str, env: dict[str, str] | None = None, host: str = "127.0.0.1"
) -> Iterator[AppProcess]:
    """``gradio_app.py`` with ``args`` on a free port; stopped (and its output kept) on exit."""
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "LLMCHAT_", "GRADIO_"))}
    environ.update(env or {})
    proc = subprocess.Popen(
        [sys.executable, "gradio_app.py", "--host", host, "--port", str(port), *args],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    app = AppProcess(proc, f"http://{host}:{port}/")
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(app.url, timeout=1)
                break
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    proc.kill()
                    raise RuntimeError("the app did not start:\n" + proc.communicate()[0]) from None
                time.sleep(0.3)
        yield app
    finally:
        proc.terminate()
        try:
            app.output = proc.communicate(timeout=30)[0]
        except subprocess.TimeoutExpired:
            proc.kill()
            app.output = proc.communicate()[0]
