"""The app as a separate process, started the way a user starts it: ``python gradio_app.py ...``.

For what an in-process app cannot show (its memory, its CPU time, its logs, its exit, what it
does on a signal, how the environment alone configures it) and for benchmarks, whose clients must
not share the app's interpreter. One harness for tests and benchmarks: the app gets a free port
(or the caller's), an environment without the caller's ``OPENAI_*``, ``LLMCHAT_*`` and
``GRADIO_*`` variables (only what ``env`` adds), and its output goes to a file rather than a pipe,
so a chatty app can never block on a full pipe nobody reads. ``start()`` returns once the app
answers HTTP; ``stop()`` ends it (SIGTERM, then SIGKILL) and keeps its output.

``gradio_app.py`` is looked for in ``app_dir``: by default the source checkout this package is
part of; a benchmark passes another checkout to compare two versions of the app. Where there is
none (llmchat installed from a wheel), the app is started as ``python -m llmchat web``: the same
code, as the ``llmchat`` command runs it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

import httpx

from llmchat.ports import free_port
from llmchat.testing import procfs

__all__ = ["CHECKOUT", "AppProcess", "AppStartError"]

CHECKOUT = Path(__file__).resolve().parents[2]  # where gradio_app.py is, when run from a checkout
_CALLERS_SETTINGS = ("OPENAI_", "LLMCHAT_", "GRADIO_")


class AppStartError(RuntimeError):
    """The app exited or did not answer in time; ``output`` is everything it printed."""

    def __init__(self, message: str, output: str) -> None:
        super().__init__(f"{message}:\n{output[-3000:]}")
        self.output = output


class AppProcess:
    """``gradio_app.py`` with ``args`` in a child process: ``with AppProcess(...) as app:``, or
    ``start()`` and ``stop()``.

    ``address_in_env`` gives the address as ``GRADIO_SERVER_NAME``/``GRADIO_SERVER_PORT`` (as
    Hugging Face Spaces does) instead of ``--host``/``--port``. ``log_path`` keeps the output in
    that file (else a temporary one, removed on ``stop()``). ``new_session`` puts the app in a
    process group of its own, which ``stop()`` ends whole. ``preexec_fn`` runs in the child
    before the app starts. ``ready_timeout``: seconds ``start()`` waits for the app's answer.
    """

    def __init__(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        host: str = "127.0.0.1",
        port: int | None = None,
        address_in_env: bool = False,
        app_dir: Path = CHECKOUT,
        log_path: Path | None = None,
        new_session: bool = False,
        preexec_fn: Callable[[], None] | None = None,
        ready_timeout: float = 60,
    ) -> None:
        self.args, self.host, self.app_dir = args, host, app_dir
        self.port = port or free_port(host)
        self.url = f"http://{host}:{self.port}/"
        self.env = env or {}
        self.address_in_env = address_in_env
        self.new_session, self.preexec_fn = new_session, preexec_fn
        self.ready_timeout = ready_timeout
        self._own_log = log_path is None
        self.log_path = log_path or Path(tempfile.mkstemp(prefix="llmchat-app-", suffix=".log")[1])
        self.output = ""  # everything it printed, once it has stopped
        self._log: IO[bytes] | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def proc(self) -> subprocess.Popen[bytes]:
        if self._proc is None:
            raise RuntimeError("the app was never started")
        return self._proc

    @property
    def from_checkout(self) -> bool:
        """Whether the app is started from a checkout's ``gradio_app.py`` (else ``-m llmchat``)."""
        return (self.app_dir / "gradio_app.py").is_file()

    def command(self) -> list[str]:
        address = [] if self.address_in_env else ["--host", self.host, "--port", str(self.port)]
        entry = ["gradio_app.py"] if self.from_checkout else ["-m", "llmchat", "web"]
        return [sys.executable, *entry, *address, *self.args]

    def environment(self) -> dict[str, str]:
        environ = {k: v for k, v in os.environ.items() if not k.startswith(_CALLERS_SETTINGS)}
        environ.update(GRADIO_ANALYTICS_ENABLED="False", PYTHONUNBUFFERED="1")
        if self.address_in_env:
            environ.update(GRADIO_SERVER_NAME=self.host, GRADIO_SERVER_PORT=str(self.port))
        environ.update(self.env)
        return environ

    def start(self) -> AppProcess:
        """Start the app; return once it answers HTTP (within ``ready_timeout`` seconds), else
        stop it and raise ``AppStartError``."""
        self._log = self.log_path.open("wb")
        self._proc = subprocess.Popen(  # noqa: S603 - our own interpreter and entry point
            self.command(),
            cwd=self.app_dir if self.from_checkout else None,
            env=self.environment(),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=self.new_session,
            preexec_fn=self.preexec_fn,
        )
        deadline = time.monotonic() + self.ready_timeout
        while True:
            try:
                httpx.get(self.url, timeout=2, trust_env=False)
                return self
            except httpx.HTTPError:
                exited = self._proc.poll() is not None
                if exited or time.monotonic() > deadline:
                    self.stop()
                    what = f"exited with status {self._proc.returncode}" if exited else "did not answer"
                    raise AppStartError(f"the app {what} ({self.url})", self.output) from None
                time.sleep(0.2)

    def output_so_far(self) -> str:
        """What the app has printed until now (it keeps running)."""
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 15) -> str:
        """SIGTERM, then SIGKILL after ``timeout`` seconds; return (and keep) the app's output."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                proc.wait(5)
        if proc is not None and self.new_session:  # whatever the app started in its group goes too
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        if self._log is not None:
            self._log.close()
            self._log = None
            self.output = self.output_so_far()
            if self._own_log:
                self.log_path.unlink(missing_ok=True)
        return self.output

    def _signal(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            if self.new_session:
                os.killpg(self.proc.pid, sig)
            else:
                self.proc.send_signal(sig)

    def __enter__(self) -> AppProcess:
        return self if self._proc is not None else self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ----- what the process uses (Linux) ------------------------------------------------------
    def cpu_split(self) -> tuple[float, float]:
        """User and system CPU seconds of the app process (all its threads) so far."""
        return procfs.cpu_split(self.proc.pid)

    def cpu_seconds(self) -> float:
        return procfs.cpu_seconds(self.proc.pid)

    def rss_kib(self) -> int | None:
        """The app's resident memory now; None once it is gone."""
        with contextlib.suppress(OSError, ValueError):
            return procfs.status_kib(self.proc.pid, "VmRSS")
        return None

    def peak_rss_mb(self) -> float:
        """The app's peak resident memory so far (VmHWM)."""
        peak = procfs.status_kib(self.proc.pid, "VmHWM")
        if peak is None:
            raise RuntimeError("no VmHWM")
        return peak / 1024
