#!/usr/bin/env bash
# Set up (first time only) and start the chat. Flags go to gradio_app.py: scripts/run.sh --help
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
exec .venv/bin/python gradio_app.py "$@"
