"""``python -m benchmarks.long_history``: see ``benchmarks/long_history/__init__.py``."""

import sys

from benchmarks.long_history.cli import main

if __name__ == "__main__":
    sys.exit(main())
