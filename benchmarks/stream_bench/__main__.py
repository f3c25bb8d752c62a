"""``python -m benchmarks.stream_bench``: see ``benchmarks/stream_bench/__init__.py``."""

import sys

from benchmarks.stream_bench.cli import main

if __name__ == "__main__":
    sys.exit(main())
