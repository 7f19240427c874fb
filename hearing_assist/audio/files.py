"""Sound files in: decode to mono float32 at the rate we need, with clear errors for bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly


class AudioFileError(ValueError):
    """A sound file is missing, empty, unreadable or holds non-finite samples; the message names it."""


def resample(x: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Resample mono audio from ``sr_in`` Hz to ``sr_out`` Hz (offline, polyphase)."""
    if sr_in == sr_out:
        return np.asarray(x, dtype=np.float32)
    g = np.gcd(int(sr_in), int(sr_out))
    return resample_poly(x, sr_out // g, sr_in // g).astype(np.float32)


def read_mono(path: str | Path, sample_rate: int) -> np.ndarray:
    """Decode ``path`` to mono float32 at ``sample_rate`` Hz (channels averaged)."""
    p = Path(path)
    if not p.is_file():
        raise AudioFileError(f"Audio file not found: {p}")
    try:
        data, sr = sf.read(str(p), dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise AudioFileError(f"Cannot read {p}: {exc}") from exc
    if len(data) == 0:
        raise AudioFileError(f"Audio file {p} has no audio")
    if not np.all(np.isfinite(data)):
        raise AudioFileError(f"Audio file {p} contains NaN or infinite samples")
    return resample(data.mean(axis=1), sr, sample_rate)
