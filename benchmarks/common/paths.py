"""Where the benchmarks run things from: the checkout's root and this interpreter."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the checkout: gradio_app.py, docs/
PYTHON = sys.executable
