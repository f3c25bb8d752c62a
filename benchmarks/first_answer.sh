#!/usr/bin/env bash
# Seconds from README's run command to the first answer, in a fresh clone of this repository:
# first with the set-up (a new .venv, requirements installed; llama-cpp-python comes from pip's
# wheel cache when it was built before on this machine), then again with everything installed.
# Usage: bash benchmarks/first_answer.sh   (127.0.0.1 only; stops what it starts)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
app_pid=""
cleanup() { [ -n "$app_pid" ] && kill -- -"$app_pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
git clone -q "$repo" "$work/llmchat"

first_answer() {  # $1 = label
    local start end
    start=$(date +%s.%N)
    setsid bash "$work/llmchat/scripts/run.sh" --port "$port" > "$work/run-$1.log" 2>&1 &
    app_pid=$!
    "$repo/.venv/bin/python" - "$port" <<'PY'
import sys, time
from gradio_client import Client
url = f"http://127.0.0.1:{sys.argv[1]}/"
deadline = time.monotonic() + 1800
while True:
    try:
        client = Client(url, verbose=False)
        break
    except Exception:
        if time.monotonic() > deadline:
            raise
        time.sleep(0.5)
reply = client.predict("What is the capital of France?", show_stats=False, api_name="/chat")
print("answer:", reply if isinstance(reply, str) else reply, file=sys.stderr)
PY
    end=$(date +%s.%N)
    kill -- -"$app_pid" 2>/dev/null || true
    wait "$app_pid" 2>/dev/null || true
    app_pid=""
    python3 -c "print(f'$1: {$end - $start:.1f} s from the run command to the first answer')"
}
first_answer "with set-up (fresh clone)"
first_answer "already set up"
