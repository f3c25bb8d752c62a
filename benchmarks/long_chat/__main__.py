"""``python -m benchmarks.long_chat``: see ``benchmarks/long_chat/__init__.py``."""

import sys

from benchmarks.long_chat.cli import main

if __name__ == "__main__":
    sys.exit(main())
