"""Speech and noise for tests and benchmarks: real recordings from ../shared/data, synthetic speech otherwise.

The real recordings live beside the checkout and are never copied into the repository. Callers that need them
use :func:`shared_data_dir`, which returns ``None`` when the folder is absent so tests can skip with a reason.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import soundfile as sf

from hearing_assist.audio.files import read_mono, resample  # noqa: F401 (resample re-exported for benchmarks)

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Clip:
    """One speech recording with its reference transcript."""

    id: str
    path: Path
    transcript: str
    speaker: str
    duration_s: float


def shared_data_dir() -> Path | None:
    """The ``shared/data`` folder beside the checkout (or ``$HEARING_ASSIST_DATA``), or None when absent."""
    env = os.environ.get("HEARING_ASSIST_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(REPO_ROOT.parent / "shared" / "data")
    for c in candidates:
        if (c / "speech" / "transcripts.tsv").is_file():
            return c
    return None


def speech_clips(prefix: str = "") -> list[Clip]:
    """Real speech clips whose id starts with ``prefix``; empty when the shared data is absent."""
    root = shared_data_dir()
    if root is None:
        return []
    clips = []
    with open(root / "speech" / "transcripts.tsv", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            if row["id"].startswith(prefix):
                clips.append(
                    Clip(row["id"], root / "speech" / f"{row['id']}.wav", row["transcript"], row["speaker"],
                         float(row["duration_s"]))
                )
    return clips


def noise_ids() -> list[str]:
    """Ids of the real noise recordings; empty when the shared data is absent."""
    root = shared_data_dir()
    if root is None:
        return []
    return sorted(p.stem for p in (root / "noise").glob("*.wav"))


def load_audio(path: str | Path, sample_rate: int) -> np.ndarray:
    """Read a sound file as mono float32 at ``sample_rate`` Hz."""
    return read_mono(path, sample_rate)


def load_noise(noise_id: str, sample_rate: int) -> np.ndarray:
    """A real noise recording by id, mono float32 at ``sample_rate`` Hz."""
    root = shared_data_dir()
    if root is None:
        raise FileNotFoundError("shared/data is absent beside the checkout")
    return load_audio(root / "noise" / f"{noise_id}.wav", sample_rate)


def rms_db(x: np.ndarray) -> float:
    """RMS level in dBFS (full-scale sine = -3 dBFS)."""
    return float(10 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-20))


def mix_at_snr(speech: np.ndarray, noise: np.ndarray, snr_db: float, seed: int = 0) -> np.ndarray:
    """Add ``noise`` (looped, random offset) to ``speech`` at ``snr_db`` dB SNR by RMS; same length as speech."""
    rng = np.random.default_rng(seed)
    reps = int(np.ceil((len(speech) + len(noise)) / len(noise)))
    tiled = np.tile(noise, reps)
    start = int(rng.integers(0, len(noise)))
    n = tiled[start : start + len(speech)].astype(np.float64)
    gain = 10 ** ((rms_db(speech) - rms_db(n) - snr_db) / 20)
    return (speech + gain * n).astype(np.float32)


def have_synthesizer() -> bool:
    """True when espeak-ng is installed."""
    return shutil.which("espeak-ng") is not None


@lru_cache(maxsize=64)
def _synth_cached(text: str, voice: str, speed: int) -> tuple[np.ndarray, int]:
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "s.wav"
        if voice.startswith("festival:"):
            # festival's text2wave reads the text from a file; the voice is chosen with an eval expression.
            txt = Path(tmp) / "s.txt"
            txt.write_text(text)
            cmd = ["text2wave", str(txt), "-o", str(wav), "-eval", f"(voice_{voice.split(':', 1)[1]})"]
        else:
            cmd = ["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(wav), text]
        subprocess.run(cmd, check=True, capture_output=True, timeout=60)
        x, sr = sf.read(str(wav), dtype="float32", always_2d=True)
    return x.mean(axis=1), sr


def synthesize(text: str, sample_rate: int = 16000, voice: str = "en-us", speed: int = 160) -> np.ndarray:
    """Synthetic speech for ``text`` as mono float32 at ``sample_rate`` Hz.

    ``voice`` is an espeak-ng voice (``en-us``, ``en-us+f3``) or ``festival:NAME`` (``festival:kal_diphone``,
    ``festival:cmu_us_slt_arctic_hts``).
    """
    x, sr = _synth_cached(text, voice, speed)
    return resample(x, sr, sample_rate)
