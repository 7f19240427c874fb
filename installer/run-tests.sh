#!/usr/bin/env bash
# The test suite with real audio devices (private PulseAudio null sink) and offscreen Qt; args go to pytest.
set -uo pipefail
cd "$(dirname "$0")/.."
export HEARING_ASSIST_HOME="$(mktemp -d /tmp/hearing-assist-test.XXXXXX)"
installer/with-test-audio.sh .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
rc=$?
rm -rf "$HEARING_ASSIST_HOME"
exit $rc
