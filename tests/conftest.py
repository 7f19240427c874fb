"""Shared fixtures: a real PulseAudio loopback device when the test runner provides one, a private data dir."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _pulse_ready() -> str | None:
    """None when a PulseAudio server with the vsink null sink answers, else the reason it does not."""
    if shutil.which("pactl") is None:
        return "pactl not installed (installer/bootstrap.sh test installs pulseaudio)"
    try:
        out = subprocess.run(["pactl", "list", "short", "sinks"], capture_output=True, text=True, timeout=5)
    except (subprocess.SubprocessError, OSError) as exc:
        return f"pactl failed: {exc}"
    if out.returncode != 0 or "vsink" not in out.stdout:
        return "no PulseAudio server with the 'vsink' null sink: run tests through installer/run-tests.sh"
    return None


@pytest.fixture(scope="session")
def loopback():
    """The PulseAudio null sink 'vsink' (default output) and its monitor (default input)."""
    reason = _pulse_ready()
    if reason:
        pytest.skip(reason)
    return "vsink"


@pytest.fixture(autouse=True)
def private_home(tmp_path, monkeypatch):
    """Every test gets its own data dir so profiles never touch the user's."""
    monkeypatch.setenv("HEARING_ASSIST_HOME", str(tmp_path / "home"))
    return tmp_path / "home"
