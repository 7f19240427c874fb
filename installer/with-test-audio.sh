#!/usr/bin/env bash
# Run a command against real audio without touching the user's devices: a private PulseAudio server with a
# null sink "vsink" at 48 kHz (its .monitor is the loopback input), offscreen Qt, no network for models.
# Usage: installer/with-test-audio.sh COMMAND [ARGS...]
set -uo pipefail
cd "$(dirname "$0")/.."

export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONUNBUFFERED=1
export QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}"

pulse_dir="$(mktemp -d /tmp/hearing-assist-pulse.XXXXXX)"
export PULSE_RUNTIME_PATH="$pulse_dir" PULSE_SERVER="unix:$pulse_dir/native" PULSE_STATE_PATH="$pulse_dir"
pulse_pid=""
if command -v pulseaudio >/dev/null 2>&1; then
  pulseaudio -n --daemonize=no --exit-idle-time=-1 --disallow-exit --use-pid-file=no \
    --load="module-native-protocol-unix socket=$pulse_dir/native auth-anonymous=1" \
    --load="module-null-sink sink_name=vsink rate=48000 channels=2" >"$pulse_dir/log" 2>&1 &
  pulse_pid=$!
  for _ in $(seq 50); do pactl info >/dev/null 2>&1 && break; sleep 0.1; done
  if ! { pactl set-default-sink vsink && pactl set-default-source vsink.monitor; } 2>/dev/null; then
    echo "with-test-audio: PulseAudio did not start (see below); audio tests will skip" >&2
    cat "$pulse_dir/log" >&2
  fi
else
  echo "with-test-audio: pulseaudio is not installed; audio tests will skip" >&2
fi
cleanup() { [ -n "$pulse_pid" ] && kill "$pulse_pid" 2>/dev/null; wait "$pulse_pid" 2>/dev/null; rm -rf "$pulse_dir"; }
trap cleanup EXIT
"$@"
