"""``python -m benchmarks.load_test``: see ``benchmarks/load_test/__init__.py``."""

import os
import sys

from benchmarks.load_test.cli import main

if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # gradio_client runs each job in a worker thread; one stuck on a stream that never ends (a
    # broken set-up) would keep the interpreter from exiting. Everything is reported: leave now.
    os._exit(code)
