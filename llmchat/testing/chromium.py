"""Debian's Chromium as the browser tests and benchmarks start it (no ``playwright install``).

One list of flags, so a test and a benchmark never see different browsers: headless, no sandbox
(containers), no GPU, and nothing that reaches the network on its own.
"""

from __future__ import annotations

import os

CHROMIUM = os.environ.get("LLMCHAT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
