"""Shared audio for the denoising tests: real speech/noise from shared/data when present, synthetic otherwise."""

from __future__ import annotations

import numpy as np
import pytest

from hearing_assist.bench import corpus

from .helpers import SENTENCE


@pytest.fixture(scope="session")
def synth_speech_16k() -> np.ndarray:
    """espeak-ng speech at 16 kHz (about 6 s), normalised to -23 dBFS RMS."""
    if not corpus.have_synthesizer():
        pytest.skip("espeak-ng is not installed, so no synthetic speech can be made")
    x = corpus.synthesize(SENTENCE, 16000)
    return (x * 10 ** ((-23 - corpus.rms_db(x)) / 20)).astype(np.float32)


@pytest.fixture(scope="session")
def real_speech_16k() -> np.ndarray:
    """A few real speech clips from shared/data concatenated (16 kHz), or skip."""
    clips = [c for c in corpus.speech_clips("cathy_arctic") if c.duration_s > 2.5][:3]
    if not clips:
        pytest.skip("shared/data is absent beside the checkout (set HEARING_ASSIST_DATA to run real-speech tests)")
    x = np.concatenate([corpus.load_audio(c.path, 16000) for c in clips])
    return (x * 10 ** ((-23 - corpus.rms_db(x)) / 20)).astype(np.float32)
