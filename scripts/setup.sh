#!/usr/bin/env bash
# Create .venv (once) and install llmchat into it, editable, with the local model and the test tools
# (`pip install -e ".[local,test]"`); again only when pyproject.toml changed.
# Sourced by run.sh and test.sh; safe to run on its own.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    echo "llmchat: creating .venv with $($PYTHON --version 2>&1)"
    "$PYTHON" -m venv .venv
fi

stamp=.venv/.llmchat-requirements
wanted=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    echo "llmchat: installing llmchat[local,test] into .venv (the first time takes a few minutes)"
    # llama-cpp-python compiles llama.cpp: a CPU-native build crashes on other CPUs and is not
    # portable, so build for a generic x86-64/arm64 target.
    CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}" .venv/bin/python -m pip install \
        --disable-pip-version-check -q -e ".[local,test]"
    echo "$wanted" > "$stamp"
fi
