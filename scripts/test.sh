#!/usr/bin/env bash
# Set up (first time only), lint, and run the whole test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
# Browser tests drive Debian's Chromium; install it when missing and possible.
bash scripts/install_chromium.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
exec .venv/bin/python -m pytest "$@"
