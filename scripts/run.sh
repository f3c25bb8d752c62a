#!/usr/bin/env bash
# Set up (first time only) and start the chat: `llmchat` with these arguments (scripts/run.sh --help;
# scripts/run.sh ask "a question"; scripts/run.sh presets).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
exec .venv/bin/llmchat "$@"
