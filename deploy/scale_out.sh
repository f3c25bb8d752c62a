#!/usr/bin/env bash
# Several llmchat replicas behind nginx with sticky sessions, on 127.0.0.1 only, then a check.
#
#   bash deploy/scale_out.sh                 # 2 replicas, 10 visitors through nginx, then stop
#   bash deploy/scale_out.sh --replicas 3 --visitors 20
#   bash deploy/scale_out.sh --hold 300      # after the check, keep it up 300 s for a browser
#   bash deploy/scale_out.sh --no-sticky     # round robin instead: shows the sessions break
#
# It starts the project's OpenAI test server, N app replicas (gradio_app.py, each its own port and
# log) and nginx (Debian's package: apt-get install -y nginx) with deploy/nginx.conf filled in,
# all in a temp dir, nginx with its pid, logs and temp files there too (no root paths). Then
# deploy/scale_out_check.py sends the visitors through nginx and checks stickiness, history and
# streaming. Everything it started is stopped on exit, however it exits (trap); the temp dir
# is removed unless --keep-dir. Exit status: the check's.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
NGINX="${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}"
REPLICAS=2
VISITORS=10
HOLD=0
STICKY=1
KEEP_DIR=0

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
    case "$1" in
        --replicas) REPLICAS="$2"; shift 2 ;;
        --visitors) VISITORS="$2"; shift 2 ;;
        --hold) HOLD="$2"; shift 2 ;;
        --no-sticky) STICKY=0; shift ;;
        --keep-dir) KEEP_DIR=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "scale_out.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
    esac
done
[[ -x "$NGINX" ]] || { echo "scale_out.sh: nginx not found; install it: apt-get install -y nginx" >&2; exit 2; }
[[ -x "$PY" ]] || { echo "scale_out.sh: $PY not found; run bash scripts/setup.sh first" >&2; exit 2; }
(( REPLICAS >= 1 && REPLICAS <= 8 && VISITORS >= 1 && VISITORS <= 100 && HOLD >= 0 && HOLD <= 3600 )) \
    || { echo "scale_out.sh: expected 1-8 replicas, 1-100 visitors, --hold 0-3600" >&2; exit 2; }

WORK="$(mktemp -d /tmp/llmchat-scale.XXXXXX)"
PIDS=()

say() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    # Each child leads its own process group (setsid): stop the group, so nothing is left behind.
    for pid in "${PIDS[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true; done
    for _ in $(seq 50); do
        local alive=0
        for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        (( alive )) || break
        sleep 0.2
    done
    for pid in "${PIDS[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if (( KEEP_DIR )); then say "logs kept in $WORK"; else rm -rf "$WORK"; fi
    say "stopped everything"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
    "$PY" -c 'from llmchat.ports import free_port; print(free_port())'
}

wait_http() {  # wait_http URL PID NAME LOG: until URL answers 200, or fail with the log's end
    local url="$1" pid="$2" name="$3" logfile="$4"
    for _ in $(seq 300); do
        if ! kill -0 "$pid" 2>/dev/null; then
            say "$name exited; its log ends:"; tail -n 20 "$logfile" >&2; return 1
        fi
        if "$PY" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$url" \
            2>/dev/null; then
            return 0
        fi
        sleep 0.3
    done
    say "$name did not answer at $url in 90 s; its log ends:"; tail -n 20 "$logfile" >&2; return 1
}

# --- 1. the LLM side: the project's OpenAI-compatible test server --------------------------------
LLM_PORT="$(free_port)"
setsid "$PY" -m llmchat.testing.openai_server --port "$LLM_PORT" >"$WORK/llm.log" 2>&1 &
PIDS+=("$!")
wait_http "http://127.0.0.1:$LLM_PORT/v1/models" "$!" "test server" "$WORK/llm.log"
say "test server: http://127.0.0.1:$LLM_PORT/v1"

# --- 2. the app replicas: same preset, each its own port, log and process -----------------------
REPLICA_PORTS=()
REPLICA_PIDS=()
for i in $(seq "$REPLICAS"); do
    mkdir -p "$WORK/replica-$i/configs"
    cat >"$WORK/replica-$i/configs/scale.yaml" <<EOF
name: Scale-out test
mode: chat
base_url: http://127.0.0.1:$LLM_PORT/v1
api_key: sk-scale-out-not-a-secret
model: test-model
system_prompt: You are the scale-out test assistant.
temperature: 0.0
EOF
    port="$(free_port)"
    GRADIO_ANALYTICS_ENABLED=False PYTHONUNBUFFERED=1 setsid "$PY" gradio_app.py \
        --config-dir "$WORK/replica-$i/configs" --preset scale --host 127.0.0.1 --port "$port" \
        >"$WORK/replica-$i.log" 2>&1 &
    PIDS+=("$!")
    REPLICA_PORTS+=("$port")
    REPLICA_PIDS[$i]="$!"
done
for i in $(seq "$REPLICAS"); do
    wait_http "http://127.0.0.1:${REPLICA_PORTS[$((i - 1))]}/config" "${REPLICA_PIDS[$i]}" "replica $i" \
        "$WORK/replica-$i.log"
    say "replica $i: http://127.0.0.1:${REPLICA_PORTS[$((i - 1))]}/ (pid ${REPLICA_PIDS[$i]})"
done

# --- 3. nginx in front, from the template -------------------------------------------------------
NGINX_PORT="$(free_port)"
PREFIX="$WORK/nginx"
mkdir -p "$PREFIX"
UPSTREAMS=""
for port in "${REPLICA_PORTS[@]}"; do UPSTREAMS+="server 127.0.0.1:$port;"$'\n        '; done
BALANCE='hash $llmchat_sticky_key consistent;'
(( STICKY )) || BALANCE='# round robin: no stickiness (--no-sticky)'
USER_LINE=""
if [[ "$(id -u)" == 0 ]]; then
    # Started as root, nginx runs its worker as an unprivileged user, which must reach the prefix.
    USER_LINE="user nobody nogroup;"
    chmod 711 "$WORK"
    chown nobody:nogroup "$PREFIX"
fi
# Fill in the template (values through the environment: nothing is re-interpreted on the way).
T_PREFIX="$PREFIX" T_USER="$USER_LINE" T_LISTEN="127.0.0.1:$NGINX_PORT" T_UPSTREAMS="$UPSTREAMS" \
T_BALANCE="$BALANCE" "$PY" - "$ROOT/deploy/nginx.conf" "$PREFIX/nginx.conf" <<'EOF'
import os, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines(keepends=True)
for name in ("PREFIX", "USER", "LISTEN", "UPSTREAMS", "BALANCE"):
    value = os.environ[f"T_{name}"].rstrip()
    # Comment lines keep their placeholders: they document them.
    lines = [ln if ln.lstrip().startswith("#") else ln.replace(f"@{name}@", value) for ln in lines]
open(sys.argv[2], "w", encoding="utf-8").write("".join(lines))
EOF
"$NGINX" -t -q -e "$PREFIX/error.log" -p "$PREFIX" -c "$PREFIX/nginx.conf"
setsid "$NGINX" -e "$PREFIX/error.log" -p "$PREFIX" -c "$PREFIX/nginx.conf" -g 'daemon off;' \
    >"$WORK/nginx.out" 2>&1 &
PIDS+=("$!")
wait_http "http://127.0.0.1:$NGINX_PORT/config" "$!" "nginx" "$PREFIX/error.log"
say "nginx: http://127.0.0.1:$NGINX_PORT/ -> ${REPLICAS} replicas ($( ((STICKY)) && echo sticky || echo 'round robin'))"

# --- 4. the check -------------------------------------------------------------------------------
CHECK_ARGS=(--url "http://127.0.0.1:$NGINX_PORT/" --access-log "$PREFIX/access.log" --visitors "$VISITORS")
for i in $(seq "$REPLICAS"); do
    CHECK_ARGS+=(--replica-log "$WORK/replica-$i.log" --replica-port "${REPLICA_PORTS[$((i - 1))]}")
done
status=0
"$PY" "$ROOT/deploy/scale_out_check.py" "${CHECK_ARGS[@]}" || status=$?
if [[ -s "$PREFIX/error.log" ]] && grep -qv "signal process started" "$PREFIX/error.log"; then
    say "nginx error log:"; tail -n 10 "$PREFIX/error.log" >&2
fi

if (( HOLD > 0 )); then
    say "holding for $HOLD s: open http://127.0.0.1:$NGINX_PORT/ (Ctrl-C stops everything)"
    sleep "$HOLD"
fi
exit "$status"
