"""Run a Python program that ends when the process that started it ends (POSIX without prctl).

Linux kills an orphan for us (``PR_SET_PDEATHSIG``); macOS and the BSDs have no such thing. So
there the child is started as ``python watch_parent.py FD GRACE -m module args...`` (or ``-c code``):
``FD`` is the read end of a pipe whose write end only the parent holds. The parent never writes;
when it ends, however it ends (SIGKILL included), the kernel closes the write end, the read here
returns end-of-file, and the child's process group (itself and whatever it started) gets
SIGTERM, then SIGKILL after ``GRACE`` seconds. The program itself runs in this same process
(``runpy``), so its pid is the one the parent knows and signals.

Run by path, not imported as part of llmchat: it imports nothing but the standard library.
"""

from __future__ import annotations

import os
import runpy
import signal
import sys
import threading
import time


def _end_group(grace: float) -> None:
    """SIGTERM our process group (we lead it: the parent starts us in a new session), then SIGKILL."""
    group = os.getpgrp()
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 0.0)):
        try:
            os.killpg(group, sig)
        except OSError:
            os.kill(os.getpid(), sig)
        time.sleep(wait)


def _watch(fd: int, grace: float) -> None:
    try:
        while os.read(fd, 1):  # the parent never writes: b"" means every write end is closed
            pass
    except OSError:
        pass
    _end_group(grace)


def main(argv: list[str]) -> None:
    if len(argv) < 4 or argv[2] not in ("-m", "-c"):
        raise SystemExit("usage: watch_parent.py FD GRACE (-m MODULE | -c CODE) [ARG ...]")
    fd, grace, mode, target, rest = int(argv[0]), float(argv[1]), argv[2], argv[3], argv[4:]
    threading.Thread(target=_watch, args=(fd, grace), name="llmchat-watch-parent", daemon=True).start()
    # What `python -m` / `python -c` would have put first on sys.path (not this file's directory).
    if mode == "-m":
        sys.path[0] = os.getcwd()
        sys.argv = [target, *rest]
        runpy.run_module(target, run_name="__main__", alter_sys=True)
    else:
        sys.path[0] = ""
        sys.argv = ["-c", *rest]
        exec(compile(target, "<string>", "exec"), {"__name__": "__main__"})  # noqa: S102 - our caller's code


if __name__ == "__main__":
    main(sys.argv[1:])
