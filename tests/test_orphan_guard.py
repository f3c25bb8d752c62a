"""The orphan guard off Linux, for real: a parent that believes it runs on macOS (no prctl) starts a
child through :class:`llmchat.engine.orphan_guard.OrphanGuard`, is SIGKILLed, and the child and
what the child started still go away. No mocks: real processes, a real pipe, real signals.

(The Linux path, ``PR_SET_PDEATHSIG``, is tested with a real local model in
``tests/test_embedded.py``; the Windows Job Object is not tried here, only its structure's layout.)
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from llmchat.engine import orphan_guard
from llmchat.engine.orphan_guard import OrphanGuard, mechanism

ROOT = Path(__file__).resolve().parent.parent
posix_only = pytest.mark.skipif(os.name != "posix", reason="signals and process groups are POSIX")

# The child: starts a grandchild (in its process group), prints both pids, then sleeps.
CHILD = textwrap.dedent(
    """
    import signal, subprocess, sys, time
    if "ignore-term" in sys.argv:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # only the SIGKILL after the grace ends it
    grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    print(grandchild.pid, flush=True)
    time.sleep(120)
    """
)
# The parent: on "darwin" (set before the guard looks), starts the child, prints the pids.
PARENT = textwrap.dedent(
    """
    import subprocess, sys, time
    from llmchat.engine.orphan_guard import OrphanGuard
    sys.platform = "darwin"  # a POSIX system without prctl (the guard looks when it is created)
    guard = OrphanGuard(grace=1.0)
    print(guard.mechanism, flush=True)
    command, protection = guard.prepare([sys.executable, "-c", sys.argv[1], *sys.argv[2:]])
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, **protection)
    guard.started(child)
    print(child.pid, child.stdout.readline().strip(), flush=True)
    time.sleep(120)
    """
)


def gone(pid: int) -> bool:
    """No such process, or a zombie (an orphan's exit status is for init to collect)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def wait_gone(pids: list[int], timeout: float) -> list[int]:
    """The pids still alive after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not all(gone(pid) for pid in pids):
        time.sleep(0.05)
    return [pid for pid in pids if not gone(pid)]


@contextmanager
def parent_with_child(*child_args: str) -> Iterator[tuple[subprocess.Popen[str], str, list[int]]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, CHILD, *child_args], stdout=subprocess.PIPE, text=True, env=env
    )
    pids: list[int] = []
    try:
        assert parent.stdout is not None
        kind = parent.stdout.readline().strip()
        pids = [int(pid) for pid in parent.stdout.readline().split()]
        yield parent, kind, pids
    finally:
        parent.kill()
        parent.wait()
        for pid in pids:  # a failed test must not leave processes behind
            if not gone(pid):
                os.kill(pid, signal.SIGKILL)


def test_each_platform_has_its_mechanism() -> None:
    assert mechanism("linux") == "pdeathsig"
    assert mechanism("win32") == "job"
    assert mechanism("darwin") == mechanism("freebsd14") == "pipe"
    assert OrphanGuard().mechanism == mechanism(sys.platform)


@posix_only
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc to see processes go")
def test_without_prctl_a_sigkilled_parent_takes_child_and_grandchild_down() -> None:
    with parent_with_child() as (parent, kind, pids):
        assert kind == "pipe"
        assert len(pids) == 2 and not any(gone(pid) for pid in pids)
        time.sleep(0.5)
        assert wait_gone(pids, 0) == pids  # alive while the parent lives
        parent.send_signal(signal.SIGKILL)  # no code of the parent's runs
        parent.wait(5)
        assert wait_gone(pids, 5) == [], "the child or the grandchild outlived its SIGKILLed parent"


@posix_only
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc to see processes go")
def test_without_prctl_a_child_that_ignores_sigterm_is_killed_after_the_grace() -> None:
    with parent_with_child("ignore-term") as (parent, _, pids):
        time.sleep(0.3)
        parent.send_signal(signal.SIGKILL)
        parent.wait(5)
        began = time.monotonic()
        assert wait_gone(pids, 6) == []
        assert time.monotonic() - began >= 0.5  # it got SIGTERM first, and the grace (1 s)


@posix_only
def test_the_pipe_guard_stops_a_child_in_order(tmp_path: Path) -> None:
    """``end()`` and ``close()`` as llmchat uses them when it stops a local model itself."""
    guard = OrphanGuard("pipe", grace=1.0)
    command, protection = guard.prepare([sys.executable, "-c", "import time; time.sleep(60)"])
    assert command[1] == str(orphan_guard.WATCHER)
    child = subprocess.Popen(command, **protection)
    try:
        guard.started(child)
        assert child.poll() is None
        assert guard.end(child) is True
        assert child.wait(5) == -signal.SIGTERM
        assert guard.end(child) is False  # already ended
    finally:
        child.kill()
        child.wait()
        guard.close()


def test_the_pipe_guard_runs_python_programs_only() -> None:
    with pytest.raises(ValueError, match="Python programs only"):
        OrphanGuard("pipe").prepare(["llama-server", "--port", "8080"])


@pytest.mark.skipif(ctypes.sizeof(ctypes.c_void_p) != 8, reason="the 64-bit layout")
def test_the_windows_job_limits_have_the_win32_layout() -> None:
    """JOBOBJECT_EXTENDED_LIMIT_INFORMATION is 144 bytes on 64-bit Windows; a wrong field type
    would make SetInformationJobObject fail there (and the job not kill its processes)."""
    assert ctypes.sizeof(orphan_guard.ExtendedLimits) == 144
    assert orphan_guard.ExtendedLimits.BasicLimitInformation.offset == 0
    assert orphan_guard.ExtendedLimits.IoInfo.offset == 64
