"""The app under test for the benchmarks: ``gradio_app.py`` in a child process with a preset.

A child process makes the app's CPU time clean (read from ``/proc/<pid>/stat``, without the
clients or the LLM server). The process itself is ``llmchat.testing.app_process.AppProcess``,
the same harness the tests use; this adds the benchmark's preset and ``--concurrency``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from benchmarks.common.paths import ROOT
from llmchat.testing.app_process import AppProcess, AppStartError

PRESET = "bench"
PRESET_YAML = """\
name: Bench
mode: qa
base_url: {base_url}
api_key: sk-bench-not-a-secret
model: test-model
system_prompt: ""
temperature: 0.0
max_tokens: 100000
max_tokens_limit: 100000
timeout: 120
show_stats: false
stream_usage: false
"""


class App:
    """``gradio_app.py`` in a child process, with a preset pointing at the LLM test server."""

    def __init__(
        self,
        llm: Any,
        concurrency: int,
        work: Path,
        app_dir: Path = ROOT,
        preset_yaml: str = PRESET_YAML,
        name: str = "",
        extra_args: tuple[str, ...] = (),
    ) -> None:
        """``llm``: anything with a ``base_url``; ``preset_yaml`` is formatted with it.
        ``extra_args``: more command-line flags for the app."""
        self.concurrency = concurrency
        self.app_dir = app_dir
        config_dir = work / f"configs-{name}{concurrency}"
        config_dir.mkdir(parents=True, exist_ok=True)
        yaml = preset_yaml.format(base_url=llm.base_url)
        self.log_path = work / f"app-{name}{concurrency}.log"
        args = ("--config-dir", str(config_dir), "--preset", PRESET, "--concurrency", str(concurrency))
        for _attempt in range(3):
            (config_dir / f"{PRESET}.yaml").write_text(yaml, encoding="utf-8")
            self.process = AppProcess(
                *args, *extra_args, app_dir=app_dir, log_path=self.log_path, ready_timeout=90
            )
            try:
                self.process.start()
                return
            except AppStartError:
                pass
            # Presets are validated strictly: drop an optional key this version does not know.
            text = self.log_path.read_text(errors="replace")
            unknown = [k for k in ("show_stats", "stream_usage") if f"unknown key '{k}'" in text]
            if not unknown:
                break
            yaml = "".join(line for line in yaml.splitlines(True) if line.split(":")[0] not in unknown)
        raise RuntimeError(f"the app did not start; see {self.log_path}")

    @property
    def url(self) -> str:
        return self.process.url

    @property
    def port(self) -> int:
        return self.process.port

    @property
    def proc(self) -> subprocess.Popen[bytes]:
        return self.process.proc

    def cpu_split(self) -> tuple[float, float]:
        """User and system CPU seconds of the app process (all its threads) so far."""
        return self.process.cpu_split()

    def cpu_seconds(self) -> float:
        return self.process.cpu_seconds()

    def stop(self) -> None:
        self.process.stop()
