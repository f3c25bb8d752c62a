#!/usr/bin/env bash
# Create .venv (once) and install requirements.txt into it (again only when it changed).
# Sourced by run.sh and test.sh; safe to run on its own.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    echo "llmchat: creating .venv with $($PYTHON --version 2>&1)"
    "$PYTHON" -m venv .venv
fi

stamp=.venv/.llmchat-requirements
wanted=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    echo "llmchat: installing requirements.txt into .venv (the first time takes a few minutes)"
    # llama-cpp-python compiles llama.cpp: a CPU-native build crashes on other CPUs and is not
    # portable, so build for a generic x86-64/arm64 target.
    CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}" .venv/bin/python -m pip install \
        --disable-pip-version-check -q -r requirements.txt
    echo "$wanted" > "$stamp"
fi
