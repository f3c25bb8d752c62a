#!/usr/bin/env bash
# Make sure the browser tests have a browser: Debian's Chromium at /usr/bin/chromium, plus CJK
# fonts so the Japanese screenshots show Japanese. Playwright drives this Chromium directly
# (no `playwright install`, which downloads its own build from the internet).
#
# Installs with apt-get when it can (as root, or with password-less sudo); otherwise prints what
# to install and exits 0, leaving the decision to the tests: they skip without a browser, and fail
# when CI is set. Safe to run again: it does nothing when Chromium is already there.
set -euo pipefail

CHROMIUM="${LLMCHAT_CHROMIUM:-/usr/bin/chromium}"
PACKAGES=(chromium fonts-noto-cjk)

if [ -x "$CHROMIUM" ]; then
    exit 0
fi

sudo=()
can_install=no
if command -v apt-get >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then
        can_install=yes
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo=(sudo -n)
        can_install=yes
    fi
fi

if [ "$can_install" = no ]; then
    echo "llmchat: $CHROMIUM not found; the browser tests need it." >&2
    echo "llmchat: install it with:  sudo apt-get install ${PACKAGES[*]}   (Debian/Ubuntu)" >&2
    echo "llmchat: or point LLMCHAT_CHROMIUM at a Chromium/Chrome binary." >&2
    exit 0
fi

echo "llmchat: installing ${PACKAGES[*]} for the browser tests"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq "${PACKAGES[@]}" >/dev/null
if [ ! -x "$CHROMIUM" ]; then
    echo "llmchat: chromium was installed but $CHROMIUM is still missing; set LLMCHAT_CHROMIUM." >&2
fi
