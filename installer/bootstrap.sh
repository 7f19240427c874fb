#!/usr/bin/env bash
# Set up everything Hearing Assist needs on this machine: Debian packages (when root), a .venv, pip packages.
# Usage: installer/bootstrap.sh app|test     Idempotent; quick when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE="${1:-app}"
case "$MODE" in app|test) ;; *) echo "usage: $0 app|test" >&2; exit 2 ;; esac

APP_DEBS=(libportaudio2 libsndfile1 libasound2-plugins libegl1 libgl1 libfontconfig1 libdbus-1-3
          libxkbcommon0 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0
          libxcb-xinerama0 libxcb-randr0 libxcb-render-util0 libxcb-image0)
TEST_DEBS=(pulseaudio pulseaudio-utils espeak-ng festival festvox-kallpc16k festvox-us-slt-hts xvfb sox)
debs=("${APP_DEBS[@]}")
[ "$MODE" = test ] && debs+=("${TEST_DEBS[@]}")

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for p in "${debs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "bootstrap: missing system packages: ${missing[*]}" >&2
    echo "bootstrap: install them with: sudo apt-get install ${missing[*]}" >&2
  fi
fi

PY="${PYTHON:-python3}"
"$PY" -c 'import sys; sys.exit(0 if (3, 10) <= sys.version_info[:2] < (3, 13) else 1)' || {
  echo "bootstrap: Python 3.10-3.12 is needed (found $("$PY" --version 2>&1)); set PYTHON=..." >&2; exit 1; }
[ -x .venv/bin/python ] || "$PY" -m venv .venv

extras=""
[ "$MODE" = test ] && extras="[dev]"
stamp=".venv/.installed-$MODE"
want="$(cat pyproject.toml | sha256sum | cut -c1-16)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "bootstrap: installing Python packages into .venv (first time: a few minutes, ~5 GB for torch)"
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -e ".${extras}"
  echo "$want" > "$stamp"
fi
echo "bootstrap: ready ($MODE)"
