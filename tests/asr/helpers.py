"""Helpers shared by the captioning tests (skips and test signals)."""

from __future__ import annotations

import numpy as np
import pytest

from hearing_assist.bench import corpus


def need_synth() -> None:
    """Skip unless espeak-ng is installed."""
    if not corpus.have_synthesizer():
        pytest.skip("espeak-ng is not installed: synthetic speech unavailable")


def need_shared_data() -> None:
    """Skip unless ../shared/data is present."""
    if corpus.shared_data_dir() is None:
        pytest.skip("shared/data (real speech and noise recordings) is absent beside the checkout")


def silence(seconds: float, level_db: float = -70.0, seed: int = 0) -> np.ndarray:
    """A faint noise floor (a microphone never gives digital zeros) of ``seconds`` s at 16 kHz."""
    n = int(seconds * 16000)
    return (10 ** (level_db / 20) * np.random.default_rng(seed).standard_normal(n)).astype(np.float32)


def level(x: np.ndarray, db: float) -> np.ndarray:
    """``x`` scaled to RMS ``db`` dBFS."""
    return (x * 10 ** ((db - corpus.rms_db(x)) / 20)).astype(np.float32)
