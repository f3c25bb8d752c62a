"""Without Chromium the browser tests skip, with the reason, except in CI, where they fail:
a CI run must never turn green by skipping what it was meant to check."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ONE_TEST = "tests/test_browser.py::test_clear_chat_starts_a_conversation_without_history"


def run_without_chromium(ci: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["LLMCHAT_CHROMIUM"] = "/nonexistent/chromium"
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "pytest", ONE_TEST, "-q", "-rs", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("ci", [False, True])
def test_missing_chromium_skips_locally_and_fails_in_ci(ci: bool) -> None:
    result = run_without_chromium(ci)
    output = result.stdout + result.stderr
    assert "/nonexistent/chromium not found" in output and "install_chromium.sh" in output, output
    if ci:
        assert result.returncode == 1 and "1 error" in output, output
    else:
        assert result.returncode == 0 and "1 skipped" in output, output
