"""A child process that never outlives llmchat, on every platform: how each one is told.

However llmchat ends — an orderly exit, Ctrl-C, SIGTERM, or SIGKILL, where no code of ours
runs — a local model it started must end too, or it keeps a port, gigabytes of memory and every
CPU core. Each platform has its own way, chosen by :func:`mechanism`:

- ``pdeathsig`` (Linux): ``prctl(PR_SET_PDEATHSIG, SIGTERM)`` in the child before it starts: the
  kernel signals it when the parent's *thread* that forked it ends (see
  :mod:`llmchat.engine.embedded` for why that is a long-lived thread);
- ``pipe`` (macOS, the BSDs, any POSIX system without prctl): the child runs under
  :mod:`llmchat.engine.watch_parent`, which watches a pipe only the parent can write to; when
  the parent is gone the pipe reads end-of-file and the child's group is ended (SIGTERM, then
  SIGKILL after ``grace`` seconds);
- ``job`` (Windows): the child is put in a Job Object with ``KILL_ON_JOB_CLOSE``; the parent
  holds the job's only handle, and when the parent ends Windows closes it and ends every process
  in the job. (Not tried on Windows: written from the Win32 documentation; a process the child
  starts before it is assigned to the job is not in it.)

On POSIX the child also leads its own process group (``start_new_session``), so a terminal's
Ctrl-C reaches llmchat only and llmchat stops the child in order; on Windows it gets its own
process group (``CREATE_NEW_PROCESS_GROUP``) for the same reason.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

Mechanism = Literal["pdeathsig", "pipe", "job"]
WATCHER = Path(__file__).with_name("watch_parent.py")
DEFAULT_GRACE = 5.0  # seconds between SIGTERM and SIGKILL when the pipe says the parent is gone
_PR_SET_PDEATHSIG = 1
_KILL_ON_JOB_CLOSE = 0x2000  # JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
_EXTENDED_LIMIT_INFORMATION = 9  # JobObjectExtendedLimitInformation


def mechanism(platform: str | None = None) -> Mechanism:
    """How children are kept from outliving us on ``platform`` (default: this one)."""
    platform = sys.platform if platform is None else platform
    if platform.startswith("linux"):
        return "pdeathsig"
    if platform == "win32":
        return "job"
    return "pipe"


def _die_with_parent() -> Callable[[], None]:
    """A preexec_fn asking Linux to SIGTERM the child when its parent thread ends."""
    libc = ctypes.CDLL(None, use_errno=True)  # loaded before fork: nothing to load in the child
    parent = os.getpid()

    def preexec() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


class OrphanGuard:
    """Protection for one child: ``prepare()`` the command, start it, ``started()``, and
    ``close()`` once it has ended. ``end()`` stops it (and what it started) on any platform."""

    def __init__(self, kind: Mechanism | None = None, *, grace: float = DEFAULT_GRACE) -> None:
        self.mechanism: Mechanism = kind or mechanism()
        self.grace = grace
        self._write_end: int | None = None  # pipe: held by the parent for the child's lifetime
        self._read_end: int | None = None
        self._job: int | None = None  # job: the Job Object's handle

    def prepare(self, command: list[str]) -> tuple[list[str], dict[str, Any]]:
        """The command to start and the extra ``subprocess.Popen`` arguments.

        With ``pipe``, ``command`` must be ``[python, "-m", module, ...]`` or ``[python, "-c",
        code, ...]``: the watcher runs it in its own process.
        """
        if self.mechanism == "job":
            flags = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0x200)
            return command, {"creationflags": flags}
        if self.mechanism == "pdeathsig":
            return command, {"start_new_session": True, "preexec_fn": _die_with_parent()}
        if len(command) < 3 or command[1] not in ("-m", "-c"):
            raise ValueError("the pipe guard runs Python programs only: [python, -m|-c, ...]")
        self._read_end, self._write_end = os.pipe()  # neither is inherited unless passed
        wrapped = [command[0], str(WATCHER), str(self._read_end), repr(self.grace), *command[1:]]
        return wrapped, {"start_new_session": True, "pass_fds": (self._read_end,)}

    def started(self, proc: subprocess.Popen[bytes]) -> None:
        """After the child started: the parent's copy of the read end goes (the child has its
        own), or the child joins the job."""
        if self._read_end is not None:
            os.close(self._read_end)
            self._read_end = None
        if self.mechanism == "job":
            self._job = _job_for(proc)

    def end(self, proc: subprocess.Popen[bytes], force: bool = False) -> bool:
        """Ask the child and everything it started to stop (``force``: kill them). False when the
        child had already ended."""
        if proc.poll() is not None:
            return False
        if self.mechanism == "job":
            if self._job is None or not _terminate_job(self._job):
                proc.kill()  # Windows has no polite signal for a process without a console
            return True
        sig = signal.SIGKILL if force else signal.SIGTERM  # type: ignore[attr-defined,unused-ignore]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)  # type: ignore[attr-defined,unused-ignore]
        return True

    def close(self) -> None:
        """Release what the guard holds; call once the child has ended (closing a job ends it)."""
        for fd in (self._read_end, self._write_end):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._read_end = self._write_end = None
        if self._job is not None:
            _close_handle(self._job)
            self._job = None


# ----- Windows: a Job Object (ctypes, kernel32) -------------------------------------------------
_DWORD = ctypes.c_uint32


class _BasicLimits(ctypes.Structure):
    _fields_ = (
        ("PerProcessUserTimeLimit", ctypes.c_int64),
        ("PerJobUserTimeLimit", ctypes.c_int64),
        ("LimitFlags", _DWORD),
        ("MinimumWorkingSetSize", ctypes.c_size_t),
        ("MaximumWorkingSetSize", ctypes.c_size_t),
        ("ActiveProcessLimit", _DWORD),
        ("Affinity", ctypes.c_size_t),
        ("PriorityClass", _DWORD),
        ("SchedulingClass", _DWORD),
    )


class _IoCounters(ctypes.Structure):
    _fields_ = tuple(
        (name, ctypes.c_uint64)
        for name in ("Read", "Write", "Other", "ReadTransfer", "WriteTransfer", "OtherTransfer")
    )


class ExtendedLimits(ctypes.Structure):
    """``JOBOBJECT_EXTENDED_LIMIT_INFORMATION``."""

    _fields_ = (
        ("BasicLimitInformation", _BasicLimits),
        ("IoInfo", _IoCounters),
        ("ProcessMemoryLimit", ctypes.c_size_t),
        ("JobMemoryLimit", ctypes.c_size_t),
        ("PeakProcessMemoryUsed", ctypes.c_size_t),
        ("PeakJobMemoryUsed", ctypes.c_size_t),
    )


def _kernel32() -> Any:
    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined,unused-ignore]
    kernel32.CreateJobObjectW.restype = ctypes.c_void_p
    kernel32.CreateJobObjectW.argtypes = (ctypes.c_void_p, ctypes.c_wchar_p)
    kernel32.SetInformationJobObject.argtypes = (ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, _DWORD)
    kernel32.AssignProcessToJobObject.argtypes = (ctypes.c_void_p, ctypes.c_void_p)
    kernel32.TerminateJobObject.argtypes = (ctypes.c_void_p, ctypes.c_uint)
    kernel32.CloseHandle.argtypes = (ctypes.c_void_p,)
    return kernel32


def _job_for(proc: subprocess.Popen[bytes]) -> int | None:
    """A job that ends ``proc`` when its last handle (ours) closes; None if Windows refused."""
    kernel32 = _kernel32()
    job = kernel32.CreateJobObjectW(None, None)
    if not job:
        return None
    limits = ExtendedLimits()
    limits.BasicLimitInformation.LimitFlags = _KILL_ON_JOB_CLOSE
    size = ctypes.sizeof(limits)
    ok = kernel32.SetInformationJobObject(job, _EXTENDED_LIMIT_INFORMATION, ctypes.byref(limits), size)
    if not ok or not kernel32.AssignProcessToJobObject(job, int(proc._handle)):  # type: ignore[attr-defined]
        kernel32.CloseHandle(job)
        return None
    return int(job)


def _terminate_job(job: int) -> bool:
    return bool(_kernel32().TerminateJobObject(job, 1))


def _close_handle(handle: int) -> None:
    _kernel32().CloseHandle(handle)
